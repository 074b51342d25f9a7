"""Model entries as data: where the weights come from, how pixels are normalised, which layers
can be dreamed and which layer gives the class logits.

Nothing about a layer is typed by hand but its name: channels, stride and layout are measured
by one probe forward (models/probe.py) the first time an entry's catalogue is read, and kept
with the entry. A curated entry only picks which layers to show and its tuned default layer;
every other entry lets the probe's rules pick them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import torch.nn as nn

__all__ = [
    "Catalogue",
    "LayerInfo",
    "ModelEntry",
    "EMBEDDED_MODEL",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PROBE_SIZE",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
EMBEDDED_MODEL = "efficientnet-lite0"
# Not square, so that (N, C, H, W) and (N, H, W, C) outputs tell themselves apart.
PROBE_SIZE = (224, 256)

# What a layer's output looks like: a map (N,C,H,W), a channels-last map (N,H,W,C), transformer
# tokens (N, extra + H*W, C) on a patch grid, or a vector (N,C) such as the logits.
LAYOUTS = ("nchw", "nhwc", "tokens", "vector")


@dataclass(frozen=True)
class LayerInfo:
    """One dreamable layer: dotted module path, output channels, spatial stride (for a vector,
    the stride of the coarsest map before it), layout, and for tokens how many come before the
    patch grid (class and distillation tokens)."""

    name: str
    channels: int
    stride: int
    layout: str = "nchw"
    extra_tokens: int = 0


@dataclass(frozen=True)
class Catalogue:
    """What the probe measured: every module with a tensor output, in the order they finish."""

    layers: dict[str, LayerInfo]
    shown: tuple[str, ...]  # what `deepdreamer layers` lists (all of `layers` are usable)
    default_layer: str
    logits_layer: str | None  # None for a feature extractor: no class objective
    input_size: tuple[int, int] | None  # a net that takes only this size is fed it resized


@dataclass(frozen=True)
class ModelEntry:
    """Everything the engine needs to know about a model; it never guesses from a class name."""

    name: str
    description: str
    build: Callable[[], nn.Module]  # the architecture with random weights
    pretrained: Callable[[nn.Module], None]  # loads the default weights (disk or download)
    weights_source: str
    offline: bool  # True when the default weights ship with an installed package
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    min_size: int = 32  # smallest input side the network accepts
    picked_layers: tuple[str, ...] | None = None  # a curated entry's listing; None: the rule's
    picked_default: str | None = None  # a curated entry's tuned default; None: the rule's
    picked_logits: str | None = None  # None: the module whose output is the net's output
    labels_source: Callable[[], list[str]] | None = None  # None: ImageNet's if 1000 classes
    state_dict_fixup: Callable[[dict], dict] = lambda sd: sd  # user --weights FILE to this arch
    build_with_classes: Callable[[int], nn.Module] | None = None  # a checkpoint's own class count
    probe_on_meta: bool = True  # build the probe's copy without weights (False: build() is the net)
    verify_fast: bool = True  # check the fast net against the plain one before using it
    probe_size: tuple[int, int] = PROBE_SIZE
    fixed_input: tuple[int, int] | None = None  # the only size the net takes (fed resized)

    @cached_property
    def catalogue(self) -> Catalogue:
        from .probe import measure_entry

        return measure_entry(self)

    def layer(self, name: str) -> LayerInfo:
        from ..errors import UnknownNameError

        found = self.catalogue.layers.get(name)
        if found is None:
            raise UnknownNameError("layer", name, self.catalogue.layers, where=f" in {self.name}")
        return found

    @property
    def layers(self) -> tuple[LayerInfo, ...]:
        """The listed layers (`layer()` accepts every module the probe measured)."""
        return tuple(self.catalogue.layers[n] for n in self.catalogue.shown)

    @property
    def layer_names(self) -> tuple[str, ...]:
        return self.catalogue.shown

    @property
    def default_layer(self) -> str:
        return self.catalogue.default_layer

    @property
    def logits_layer(self) -> str | None:
        return self.catalogue.logits_layer

    @property
    def input_size(self) -> tuple[int, int] | None:
        return self.catalogue.input_size

    @cached_property
    def labels(self) -> list[str] | None:
        """Class names in logit order, or None when the model's classes have no names."""
        if self.labels_source is not None:
            return list(self.labels_source())
        logits = self.logits_layer
        if logits is not None and self.catalogue.layers[logits].channels == 1000:
            from .labels import imagenet_labels

            return imagenet_labels()
        return None

    @property
    def classes(self) -> int:
        """How many classes the logits layer has (0 for a feature extractor)."""
        logits = self.logits_layer
        return 0 if logits is None else self.catalogue.layers[logits].channels
