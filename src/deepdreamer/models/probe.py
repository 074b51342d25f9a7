"""Measure a network's layer catalogue with one probe forward instead of typing it.

Every named module gets a forward hook; a (1, 3, 224, 256) input goes through once (on the
'meta' device when the architecture can be built there, or its weights alone when its builder
computes on tensors (RegNet): shapes without arithmetic or weights, so even a 600M-parameter
net is probed in a fraction of a second), and each module's output
shape gives its channels, stride and layout. The input is not square so that (N,C,H,W) and
(N,H,W,C) outputs tell themselves apart. A net that refuses that size (a ViT with a fixed
position table) is probed square (224, else 256 px) and marked fixed: the engine feeds it that
size, resized.

The rules, stated once (README "Any model"):
- listed layers: maps and tokens down to the deepest nesting level that keeps the list within
  LISTED_MAX names, skipping modules that return their input (dropout, identity) and inner
  modules whose output is their container's; every measured module stays usable by name;
- default layer: the middle block of the listed maps at stride 16 (the run of names that differ
  only in their numbers, such as layer3.0 ... layer3.5). That is where ImageNet networks'
  units answer to object parts (eyes, fur, faces, wheels), big enough to read on a 600 px
  photo; lower layers paint strokes and textures, stride-32 layers whole objects too small to
  see (the seeds' low-to-high progression). The middle of the run skips a stage's first block
  (still close to the stage before) and its last (shaped for the downsample). A net without
  stride-16 maps takes the middle of its listed maps;
- logits layer: the innermost module whose output is the net's own (N, K) output.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

from ..errors import ModelUnavailableError
from .catalogue import Catalogue, LayerInfo, ModelEntry

__all__ = ["measure", "measure_entry", "LISTED_MAX"]

LISTED_MAX = 60  # names in a default `deepdreamer layers` listing
DEFAULT_STRIDE = 16
MAX_EXTRA_TOKENS = 16  # class, distillation and register tokens before a ViT's patch grid


@dataclass
class _Seen:
    name: str
    shape: tuple[int, ...]
    output: object  # kept only for identity checks during the probe
    passthrough: bool  # the module returned its input unchanged


def measure_entry(entry: ModelEntry) -> Catalogue:
    """The entry's catalogue: probed on 'meta' when it builds there, else on the real net."""

    def probe(net: nn.Module) -> Catalogue:
        for module in net.modules():
            if getattr(module, "inplace", False):
                module.inplace = False  # as load_model runs it: each module's output its own tensor
        return measure(
            net.eval(), entry.probe_size, picked=entry.picked_layers, default=entry.picked_default,
            logits=entry.picked_logits, what=entry.name, fixed=entry.fixed_input,
        )

    if entry.probe_on_meta:
        try:
            with torch.device("meta"):
                net = entry.build()
        except Exception:  # noqa: BLE001 - a builder that computes on tensors (RegNet's widths)
            net = None
        if net is not None:
            return probe(net)
        try:  # its weights alone on 'meta', the builder's own arithmetic real
            with _WeightsOnMeta():
                net = entry.build()
            return probe(net.to("meta"))
        except Exception:  # noqa: BLE001 - probe for real
            pass
    return probe(entry.build())


class _WeightsOnMeta(TorchFunctionMode):
    """Tensors made empty, zeros, ones, full or random (what modules make their weights and
    buffers with) go to 'meta'; those made from values (arange, tensor) stay real. Like
    `torch.device`, a mode of this thread only."""

    MADE = frozenset({torch.empty, torch.empty_strided, torch.zeros, torch.ones, torch.full,
                      torch.rand, torch.randn})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in self.MADE and kwargs.get("device") is None:
            kwargs["device"] = "meta"
        return func(*args, **kwargs)


def _forward(net: nn.Module, size: tuple[int, int]):
    param = next(iter(net.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    x = torch.zeros(1, 3, *size, device=device)
    seen: dict[str, _Seen] = {}
    handles = []

    def hook_for(name):
        def hook(_module, inputs, output):
            if name not in seen and isinstance(output, torch.Tensor):
                first = inputs[0] if inputs else None
                seen[name] = _Seen(name, tuple(output.shape), output, output is first)
        return hook

    for name, module in net.named_modules():
        if name:
            handles.append(module.register_forward_hook(hook_for(name)))
    try:
        with torch.no_grad():
            out = net(x)
    finally:
        for h in handles:
            h.remove()
    return seen, out


def _pow2(ratio: float) -> int:
    return 2 ** max(0, round(math.log2(max(ratio, 1e-9))))


def _grid_stride(size: tuple[int, int], hh: int, ww: int) -> int | None:
    """The stride that maps the input onto an hh x ww grid (exact when it divides both sides,
    else the nearest power of two: valid-padded stems), or None if the two sides disagree
    (then the guess of which dims are spatial was wrong)."""
    h, w = size
    if (h < w and hh > ww) or (h > w and hh < ww) or not (hh and ww):
        return None
    if h % hh == 0 and w % ww == 0 and h // hh == w // ww:
        return h // hh  # exact, even when no power of two (a ViT's 14 px patches)
    sh, sw = _pow2(h / hh), _pow2(w / ww)
    return sh if sh == sw else None


def _token_grid(size: tuple[int, int], tokens: int) -> tuple[int, int] | None:
    """(stride, extra tokens) when `tokens` = extra + (h/s)*(w/s) for a patch size s."""
    h, w = size
    for s in (4, 8, 14, 16, 32, 2, 64):
        for rounding in (math.floor, math.ceil):
            grid = rounding(h / s) * rounding(w / s)
            if 0 <= tokens - grid <= MAX_EXTRA_TOKENS:
                return s, tokens - grid
    return None


def _describe(seen: _Seen, size: tuple[int, int]) -> LayerInfo | None:
    shape = seen.shape
    if len(shape) == 4:
        stride = _grid_stride(size, shape[2], shape[3])
        if stride is not None:
            return LayerInfo(seen.name, shape[1], stride, "nchw")
        stride = _grid_stride(size, shape[1], shape[2])
        if stride is not None:
            return LayerInfo(seen.name, shape[3], stride, "nhwc")
        return None
    if len(shape) == 3:
        found = _token_grid(size, shape[1])
        if found is not None:
            return LayerInfo(seen.name, shape[2], found[0], "tokens", found[1])
        return None
    if len(shape) == 2:
        return LayerInfo(seen.name, shape[1], 0, "vector")
    return None


def _pooled(info: LayerInfo, size: tuple[int, int]) -> bool:
    """A map pooled to one position (global average pooling) has no grid to speak of."""
    return info.layout in ("nchw", "nhwc") and info.stride >= min(size)


def measure(
    net: nn.Module,
    size: tuple[int, int],
    picked: tuple[str, ...] | None = None,
    default: str | None = None,
    logits: str | None = None,
    what: str = "the model",
    fixed: tuple[int, int] | None = None,
) -> Catalogue:
    input_size = None
    try:
        if fixed is not None:
            raise ValueError("fixed input size")
        seen, out = _forward(net, size)
    except Exception as first:  # noqa: BLE001 - any forward error means 'not this size'
        # square at each side of the probe size: 224, then 256 (HaloNet, timm's MaxViT-rw)
        for square in [fixed] if fixed else [(side, side) for side in dict.fromkeys(size)]:
            try:
                seen, out = _forward(net, square)
                break
            except Exception as exc:  # noqa: BLE001
                failed = exc
        else:
            raise ModelUnavailableError(
                f"cannot probe {what}: a 1x3x{square[0]}x{square[1]} input fails "
                f"({type(failed).__name__}: {str(failed).splitlines()[0] if str(failed) else ''})"
            ) from first
        size = input_size = square

    layers: dict[str, LayerInfo] = {}
    coarsest = 1
    for s in seen.values():
        info = _describe(s, size)
        if info is None:
            continue
        if info.layout == "vector" or _pooled(info, size):
            info = LayerInfo(info.name, info.channels, coarsest, info.layout, info.extra_tokens)
        else:
            coarsest = max(coarsest, info.stride)
        layers[info.name] = info

    logits_layer = logits if logits is not None else _logits(seen, out, layers)
    shown = tuple(picked) if picked is not None else _listed(net, seen, layers, logits_layer)
    for name in shown + ((default,) if default else ()):
        if name not in layers:
            raise ModelUnavailableError(f"{what} has no measurable layer {name!r}")
    default_layer = default or _default(shown, layers, size)
    return Catalogue(layers, shown, default_layer, logits_layer, input_size)


def _logits(seen: dict[str, _Seen], out, layers: dict[str, LayerInfo]) -> str | None:
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        return None  # a feature extractor (its output is maps, tokens or a dict)
    for s in seen.values():  # hooks fire innermost first
        if s.output is out and s.name in layers:
            return s.name
    # the net flattens a module's (N, K, 1, 1) output outside any module (SqueezeNet): the
    # outermost such module, the one the listing keeps
    viewed = [s.name for s in seen.values() if out._base is not None and s.output is out._base
              and s.name in layers and s.output.numel() == out.numel()]
    if viewed:
        return viewed[-1]
    same = [s.name for s in seen.values() if s.shape == tuple(out.shape) and s.name in layers]
    return same[-1] if same else None


def _listed(
    net: nn.Module, seen: dict[str, _Seen], layers: dict[str, LayerInfo], logits: str | None
) -> tuple[str, ...]:
    by_output: dict[int, list[str]] = {}
    for s in seen.values():
        if not s.passthrough:
            by_output.setdefault(id(s.output), []).append(s.name)

    def inner(s: _Seen) -> bool:  # a container of it returns the very same tensor
        return any(other.startswith(s.name + ".") is False and s.name.startswith(other + ".")
                   for other in by_output.get(id(s.output), ()))

    children = {name: [c for c, _ in m.named_children()] for name, m in net.named_modules()}
    modules = dict(net.named_modules())

    def block_like(name: str) -> bool:
        """Containers (blocks, stages), leaves at the top, and leaves of a Sequential of leaves
        (VGG's `features.N`); not the convs and norms inside a block."""
        if children.get(name):
            return True
        parent = name.rpartition(".")[0]
        if parent == "":
            return True
        return isinstance(modules.get(parent), nn.Sequential) and all(
            not children.get(f"{parent}.{c}") for c in children.get(parent, ()))

    keep = [
        s.name for s in seen.values()
        if s.name in layers and layers[s.name].layout != "vector" and not s.passthrough
        and s.name in modules and block_like(s.name) and not inner(s)
    ]
    depth = 1
    deepest = max((n.count(".") + 1 for n in keep), default=1)
    while depth < deepest and sum(n.count(".") < depth + 1 for n in keep) <= LISTED_MAX:
        depth += 1
    shown = [n for n in keep if n.count(".") < depth]
    if logits is not None and logits not in shown:
        shown.append(logits)
    return tuple(shown)


def _default(shown: tuple[str, ...], layers: dict[str, LayerInfo], size: tuple[int, int]) -> str:
    maps = [n for n in shown if layers[n].layout != "vector" and not _pooled(layers[n], size)]
    if not maps:
        return shown[-1] if shown else next(iter(layers))
    at16 = [n for n in maps if layers[n].stride == DEFAULT_STRIDE] or maps
    # A stage's blocks are the names that differ only in their last number (layer3.0,
    # layer3.1, ...); the longest such run, the outermost of equally long ones.
    runs: dict[str, list[str]] = {}
    for name in at16:
        last = name.rpartition(".")[2]
        if re.search(r"\d", last):
            # a trailing letter is part of the number: GoogLeNet's inception4a ... inception4e
            key = name[: len(name) - len(last)] + re.sub(r"\d+[a-z]?(?!.*\d)", "#", last)
            runs.setdefault(key, []).append(name)
    if not runs or max(len(r) for r in runs.values()) < 2:
        return at16[len(at16) // 2]
    run = min(runs.values(), key=lambda r: (-len(r), r[0].count(".")))
    return run[len(run) // 2]
