"""`wrap_model`: any image classifier or feature extractor of one's own, as a DreamModel that
every command accepts."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from ..errors import ConfigError
from .catalogue import IMAGENET_MEAN, IMAGENET_STD, ModelEntry

__all__ = ["wrap_model", "entry_of"]


def _rgb(values, what: str) -> tuple[float, float, float]:
    out = tuple(float(v) for v in values)
    if len(out) != 3:
        raise ConfigError(f"{what} needs 3 values (R, G, B), got {len(out)}")
    if what == "std" and min(out) <= 0:
        raise ConfigError(f"std values must be positive, got {out}")
    return out  # type: ignore[return-value]


def _entry(
    module: nn.Module, *, name: str, mean, std, labels, min_size: int, input_size,
    default_layer, logits_layer, layers, description: str,
) -> ModelEntry:
    if not isinstance(module, nn.Module):
        raise ConfigError(f"{name}: expected a torch.nn.Module, got {type(module).__name__}")
    if labels is not None:
        labels = [str(label) for label in labels]
    fixed = None if input_size is None else (int(input_size[0]), int(input_size[1]))
    return ModelEntry(
        name=name,
        description=description,
        build=lambda: module,  # the user's module itself: it is frozen and put in eval mode
        pretrained=lambda net: None,
        weights_source="the caller's module",
        offline=True,
        mean=_rgb(mean, "mean"),
        std=_rgb(std, "std"),
        min_size=int(min_size),
        picked_layers=None if layers is None else tuple(layers),
        picked_default=default_layer,
        picked_logits=logits_layer,
        labels_source=None if labels is None else (lambda: labels),
        probe_on_meta=False,
        fixed_input=fixed,
    )


def wrap_model(
    module: nn.Module,
    *,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    labels: Sequence[str] | None = None,
    name: str | None = None,
    input_size: tuple[int, int] | None = None,
    min_size: int = 32,
    default_layer: str | None = None,
    logits_layer: str | None = None,
    layers: Sequence[str] | None = None,
    device: str | torch.device | None = None,
):
    """Turn an image classifier or feature extractor into a DreamModel.

    mean/std: how the network expects [0, 1] RGB pixels normalised. labels: its class names in
    logit order (then `class:NAME` works); None means ImageNet's when it has 1000 outputs.
    input_size: (height, width) for a net that takes only that size (it is fed the image
    resized); None probes a 224x256 input first. default_layer/logits_layer/layers: override
    what the probe's rules pick (models/probe.py). The module is put in eval mode, frozen, and
    its in-place activations are made out-of-place; layers are named by its dotted module paths.
    """
    from ._registry import load_entry

    if device is None:
        param = next(iter(module.parameters()), None)
        device = param.device if param is not None else "cpu"
    entry = _entry(
        module, name=name or type(module).__name__, mean=mean, std=std, labels=labels,
        min_size=min_size, input_size=input_size, default_layer=default_layer,
        logits_layer=logits_layer, layers=layers,
        description=f"{type(module).__name__} (wrapped with dd.wrap_model)",
    )
    model = load_entry(entry, device=device)
    if entry.labels is not None and len(entry.labels) != entry.classes:
        if not entry.classes:
            raise ConfigError(
                f"{entry.name} has no class logits (a feature extractor), "
                f"but {len(entry.labels)} labels were given"
            )
        raise ConfigError(
            f"{entry.name} has {entry.classes} classes but {len(entry.labels)} labels were given"
        )
    return model


def entry_of(made, name: str) -> ModelEntry:
    """What a model file's factory returned, as an entry: an nn.Module with ImageNet
    normalisation, or a DreamModel from wrap_model (keeping its settings, named by the spec)."""
    from dataclasses import replace

    from ._registry import DreamModel

    if isinstance(made, DreamModel):
        return replace(made.entry, name=name)
    return _entry(
        made, name=name, mean=IMAGENET_MEAN, std=IMAGENET_STD, labels=None, min_size=32,
        input_size=None, default_layer=None, logits_layer=None, layers=None,
        description=f"{type(made).__name__} from {name}",
    )
