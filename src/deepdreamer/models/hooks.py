"""Capture named activations with forward hooks, and stop the forward pass once all are caught.

One DreamModel serves many callers at once (threads of a server, a progress callback that
evaluates an objective mid-dream), so what a forward pass captures must belong to that pass,
not to the shared modules. Each hooked module therefore carries ONE dispatching hook per net,
shared by every capture that reads it and reference-counted (added by the first capture,
removed by the last, under the model's lock); the hook hands the activation to the pass that
is running in the current thread, found through a context variable that `Capture.run` sets
for exactly the length of its forward pass. A pass in another thread, or an outer capture
whose forward is not running, never sees it.

Hooks are resources: `capture` takes them in a context manager and gives them back in
`finally`, so a failed run leaves the model as it was (timm's FeatureHooks habit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ._registry import DreamModel, NetRecord
from .catalogue import LayerInfo

__all__ = ["Capture", "capture"]


class _StopForward(Exception):
    """Raised inside a hook to skip the layers after the deepest one we need."""


@dataclass
class _Pass:
    """One forward pass of one capture: what it wants and what it caught so far."""

    net: nn.Module
    wanted: frozenset[str]
    caught: dict[str, torch.Tensor] = field(default_factory=dict)


_RUNNING: ContextVar[_Pass | None] = ContextVar("deepdreamer_forward_pass", default=None)


def _dispatch(net: nn.Module, name: str):
    """The hook shared by every capture of `name` in `net`."""

    def hook(_module, _inputs, output):
        run = _RUNNING.get()
        if run is None or run.net is not net or name not in run.wanted:
            return
        run.caught.setdefault(name, output)  # a module run twice keeps its first output
        if len(run.caught) == len(run.wanted):
            raise _StopForward

    return hook


class Capture:
    """Forwards `net` (the model's fast net for these layers when `fast`, else `model.net`) and
    returns the layers' activations. With `precision='bf16'` the forward runs under autocast
    and the activations come back as fp32, so objectives and gradients stay fp32. Safe to use
    from several threads: each `run` keeps its own state."""

    def __init__(
        self, model: DreamModel, layers: Iterable[str], *, fast: bool = False, precision: str = "fp32"
    ) -> None:
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be resolved to fp32 or bf16, got {precision!r}")
        self.model = model
        self.fast = fast
        self.layers = tuple(dict.fromkeys(layers))
        self._wanted = frozenset(self.layers)
        # unknown names raise with suggestions
        self.infos = {name: model.entry.layer(name) for name in self.layers}
        self.record: NetRecord = model.record(self.layers, fast=fast)
        self.net = self.record.net
        self.precision = precision

    @property
    def same_padding(self) -> bool:
        """The net pads its TF-'SAME' convs for free on inputs of stride*k + 1 px."""
        return self.record.same_padding

    def run(self, pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Forward [0, 1] pixels; return the requested activations."""
        run = _Pass(self.net, self._wanted)
        x = self.model.network_input(pixels)
        if self.fast and self.model.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)  # match the net's layout
        autocast = (
            torch.autocast(self.model.device.type, dtype=torch.bfloat16)
            if self.precision == "bf16"
            else nullcontext()
        )
        token = _RUNNING.set(run)
        try:
            with autocast:
                self.net(x)
        except _StopForward:
            pass
        finally:
            _RUNNING.reset(token)
        missing = [n for n in self.layers if n not in run.caught]
        if missing:  # pragma: no cover - every catalogue layer is reached, a test checks it
            raise RuntimeError(f"layers {missing} were not reached by the forward pass")
        # .float() is a no-op in fp32; every layout comes back as (N,C,H,W) or (N,C)
        return {name: as_maps(run.caught[name].float(), self.infos[name], x.shape) for name in self.layers}


def as_maps(a: torch.Tensor, info: LayerInfo, input_shape) -> torch.Tensor:
    """A channels-last map or a ViT's tokens as an (N,C,H,W) map, so that every objective,
    the tiler and the activations view read any architecture the same way. Tokens lose their
    class/distillation tokens and are laid out on the patch grid of this input."""
    if info.layout == "nhwc" and a.dim() == 4:
        return a.permute(0, 3, 1, 2)
    if info.layout != "tokens" or a.dim() != 3:
        return a
    patches = a[:, info.extra_tokens:, :]
    h, w = input_shape[-2], input_shape[-1]
    s = info.stride
    for gh, gw in ((h // s, w // s), (-(-h // s), -(-w // s))):
        if gh * gw == patches.shape[1]:
            return patches.transpose(1, 2).reshape(a.shape[0], a.shape[2], gh, gw)
    return patches.transpose(1, 2).unsqueeze(-1)  # a grid this input does not explain: one column


def _take(model: DreamModel, record: NetRecord, name: str) -> None:
    key = (id(record.net), name)
    with model._lock:
        entry = model._hooks.get(key)
        if entry is None:
            handle = record.modules[name].register_forward_hook(_dispatch(record.net, name))
            model._hooks[key] = [handle, 1]
        else:
            entry[1] += 1


def _give_back(model: DreamModel, record: NetRecord, name: str) -> None:
    key = (id(record.net), name)
    with model._lock:
        entry = model._hooks[key]
        entry[1] -= 1
        if entry[1] == 0:
            entry[0].remove()
            del model._hooks[key]


@contextmanager
def capture(
    model: DreamModel, layers: Iterable[str], *, fast: bool = False, precision: str = "fp32"
) -> Iterator[Capture]:
    """A Capture whose hooks exist for the length of the `with` block (captures may nest and
    run in many threads at once; the last one out removes the hooks)."""
    cap = Capture(model, layers, fast=fast, precision=precision)
    taken: list[str] = []
    try:
        for name in cap.layers:
            _take(model, cap.record, name)
            taken.append(name)
        yield cap
    finally:
        for name in taken:
            _give_back(model, cap.record, name)
