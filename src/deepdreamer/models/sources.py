"""Model entries made on demand from a name: `torchvision:NAME` (every torchvision
classification model), `timm:NAME` (every timm model) and `path/to/file.py:factory` (a network
of one's own). Each is made once per process, so its probe runs once per architecture."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
from contextlib import contextmanager
from functools import lru_cache

import torch.nn as nn

from ..errors import ModelUnavailableError, UnknownNameError
from ._builders import drop_aux_keys, torchvision_builder, torchvision_pretrained
from .catalogue import IMAGENET_MEAN, IMAGENET_STD, ModelEntry

__all__ = ["entry_for_spec", "torchvision_names", "timm_names", "is_spec", "densenet_fixup"]


def is_spec(name: str) -> bool:
    return name.startswith(("torchvision:", "timm:")) or _file_spec(name) is not None


def _file_spec(name: str) -> tuple[str, str] | None:
    path, sep, factory = name.rpartition(":")
    if sep and path.endswith(".py") and factory.isidentifier():
        return path, factory
    return None


def torchvision_names() -> list[str]:
    import torchvision
    import torchvision.models as tvm

    return sorted(tvm.list_models(module=torchvision.models))


def timm_names(pattern: str = "") -> list[str]:
    import timm

    return sorted(timm.list_models(f"*{pattern}*" if pattern else ""))


def entry_for_spec(spec: str) -> ModelEntry:
    source, _, name = spec.partition(":")
    if source == "torchvision":
        return _torchvision_entry(name)
    if source == "timm":
        return _timm_entry(name)
    found = _file_spec(spec)
    if found is not None:
        return _file_entry(os.path.abspath(found[0]), found[1], spec)
    raise UnknownNameError("model", spec, ())


# ---- torchvision ---------------------------------------------------------------------------

_DENSENET_OLD_KEYS = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def densenet_fixup(sd: dict) -> dict:
    """Old DenseNet checkpoints (Places365's among them) say 'norm.1' where torchvision says
    'norm1' (torchvision's own loader renames them the same way)."""
    out = {}
    for key, value in sd.items():
        m = _DENSENET_OLD_KEYS.match(key)
        out[m.group(1) + m.group(2) if m else key] = value
    return out


@lru_cache(maxsize=None)
def _torchvision_entry(arch: str) -> ModelEntry:
    names = torchvision_names()
    if arch not in names:
        raise UnknownNameError("model", f"torchvision:{arch}", [f"torchvision:{n}" for n in names])
    import torchvision.models as tvm

    weights = tvm.get_model_weights(arch).DEFAULT
    transforms = weights.transforms()
    meta = weights.meta
    fixed = meta.get("min_size", (1, 1))
    size_kwargs, fixed_input = {}, None
    if arch.startswith("vit_") and int(fixed[0]) != 224:
        # ViT-H/14's default (SWAG) weights are for 518 px: a 224 px build would not take them
        size_kwargs, fixed_input = {"image_size": int(fixed[0])}, (int(fixed[0]), int(fixed[1]))
    build = _sized(torchvision_builder(arch), size_kwargs)
    fixup = densenet_fixup if arch.startswith("densenet") else drop_aux_keys
    return ModelEntry(
        name=f"torchvision:{arch}",
        description=f"torchvision {arch}, {weights}",
        build=build,
        pretrained=torchvision_pretrained(arch, f"torchvision:{arch}"),
        weights_source=f"torchvision {weights} (downloaded and cached)",
        offline=False,
        mean=tuple(transforms.mean),
        std=tuple(transforms.std),
        min_size=max(32, int(fixed[0])),
        labels_source=lambda: list(meta["categories"]),
        state_dict_fixup=fixup,
        build_with_classes=lambda k: build(num_classes=k),
        fixed_input=fixed_input,
    )


def _sized(build, size_kwargs: dict):
    return lambda **kwargs: build(**size_kwargs, **kwargs)


# ---- timm ----------------------------------------------------------------------------------


def _timm_create(name: str, **kwargs) -> nn.Module:
    import timm

    # ViTs take any input size when asked (their position table is interpolated), and pad an
    # input that is no multiple of the patch size (an octave's size is arbitrary)
    for extra in ({"dynamic_img_size": True, "dynamic_img_pad": True}, {"dynamic_img_size": True}):
        try:
            return timm.create_model(name, **extra, **kwargs)
        except TypeError:
            pass
    return timm.create_model(name, **kwargs)


def _timm_labels(name: str, classes: int):
    def labels() -> list[str] | None:
        if classes == 1000:
            from .labels import imagenet_labels

            return imagenet_labels()
        from timm.data import ImageNetInfo, infer_imagenet_subset

        subset = infer_imagenet_subset(_timm_create(name, pretrained=False).pretrained_cfg)
        if subset is None:
            return [str(i) for i in range(classes)]
        return [d.split(",")[0] for d in ImageNetInfo(subset).label_descriptions()]

    return labels


@lru_cache(maxsize=None)
def _timm_entry(name: str) -> ModelEntry:
    import timm

    arch = name.split(".")[0]
    if not timm.is_model(arch):
        raise UnknownNameError("model", f"timm:{name}", [f"timm:{n}" for n in timm.list_models()])
    cfg = timm.get_pretrained_cfg(name, allow_unregistered=True) if "." in name else None
    if cfg is None:
        cfg = _timm_create(name, pretrained=False).pretrained_cfg
    else:
        cfg = cfg.to_dict()
    classes = int(cfg.get("num_classes") or 1000)

    def pretrained(net: nn.Module) -> None:
        from ._timm_weights import load_timm_weights

        try:
            load_timm_weights(net, classes)
        except Exception as exc:  # noqa: BLE001 - hub, network and cache errors of every kind
            raise ModelUnavailableError(
                f"cannot download the weights of 'timm:{name}' (offline?); "
                f"pass a local state dict with --weights FILE"
            ) from exc

    return ModelEntry(
        name=f"timm:{name}",
        description=f"timm {name}",
        build=lambda: _timm_create(name, pretrained=False),
        pretrained=pretrained,
        weights_source=f"timm {name} (Hugging Face hub, downloaded and cached)",
        offline=False,
        mean=tuple(cfg.get("mean") or IMAGENET_MEAN),
        std=tuple(cfg.get("std") or IMAGENET_STD),
        labels_source=_timm_labels(name, classes) if classes != 1000 else None,
        build_with_classes=lambda k: _timm_create(name, pretrained=False, num_classes=k),
    )


# ---- a Python file -------------------------------------------------------------------------

_FILE_LOCK = threading.Lock()


def _file_entry(path: str, factory: str, spec: str) -> ModelEntry:
    """Runs the file's `factory()` once per process (it is the user's own code, as with
    `python file.py`); it returns an nn.Module (ImageNet normalisation assumed) or what
    `dd.wrap_model` returns."""
    with _FILE_LOCK:
        return _load_file_entry(path, os.path.getmtime(path) if os.path.isfile(path) else 0.0, factory, spec)


@contextmanager
def _importable_beside(path: str):
    directory = os.path.dirname(path)
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        try:
            sys.path.remove(directory)
        except ValueError:  # the file's code removed it itself
            pass


@lru_cache(maxsize=None)
def _load_file_entry(path: str, _mtime: float, factory: str, spec: str) -> ModelEntry:
    if not os.path.isfile(path):
        raise ModelUnavailableError(f"cannot read model file {path}: no such file")
    module_name = f"deepdreamer_user_model_{abs(hash(path))}"
    loader = importlib.util.spec_from_file_location(module_name, path)
    if loader is None or loader.loader is None:
        raise ModelUnavailableError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(loader)
    sys.modules[module_name] = module
    with _importable_beside(path):  # as `python file.py`: modules next to the file import
        try:
            loader.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - the user's code: report it in one line
            sys.modules.pop(module_name, None)
            raise ModelUnavailableError(f"{path} failed to import: {type(exc).__name__}: {exc}") from exc
        fn = getattr(module, factory, None)
        if not callable(fn):
            names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
            raise UnknownNameError("factory", factory, names, where=f" in {path}")
        try:
            made = fn()
        except Exception as exc:  # noqa: BLE001
            raise ModelUnavailableError(f"{spec}: {factory}() raised {type(exc).__name__}: {exc}") from exc
    from .wrap import entry_of

    return entry_of(made, name=spec)
