"""Capture named activations with forward hooks, and stop the forward pass once all are caught.

Hooks are resources: `capture` registers them in a context manager and removes them in
`finally`, so a failed run leaves the model as it was (timm's FeatureHooks habit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext

import torch

from ._registry import DreamModel

__all__ = ["Capture", "capture"]


class _StopForward(Exception):
    """Raised inside a hook to skip the layers after the deepest one we need."""


class Capture:
    """Hooks live on the modules of `net`, the network `run` forwards: the model's fast net for
    these layers when `fast`, else `model.net`. With `precision='bf16'` the forward runs under
    CPU autocast and the activations are handed back as fp32, so objectives and gradients stay
    fp32."""

    def __init__(
        self, model: DreamModel, layers: Iterable[str], *, fast: bool = False, precision: str = "fp32"
    ) -> None:
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be resolved to fp32 or bf16, got {precision!r}")
        self.model = model
        self.fast = fast
        self.layers = tuple(dict.fromkeys(layers))
        self.net = model.fast_net_for(self.layers) if fast else model.net
        self.precision = precision
        self.activations: dict[str, torch.Tensor] = {}
        self._handles: list = []

    def _hook(self, name: str):
        def hook(_module, _inputs, output):
            if name not in self.activations:  # a module run twice keeps its first output
                self.activations[name] = output
            if len(self.activations) == len(self.layers):
                raise _StopForward

        return hook

    def run(self, pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Forward [0, 1] pixels; return the requested activations (cleared on every call)."""
        self.activations = {}
        x = self.model.normalize(pixels)
        if self.fast and self.model.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)  # match the net's layout
        autocast = (
            torch.autocast(self.model.device.type, dtype=torch.bfloat16)
            if self.precision == "bf16"
            else nullcontext()
        )
        try:
            with autocast:
                self.net(x)
        except _StopForward:
            pass
        missing = [n for n in self.layers if n not in self.activations]
        if missing:  # pragma: no cover - every catalogue layer is reached, a test checks it
            raise RuntimeError(f"layers {missing} were not reached by the forward pass")
        acts, self.activations = self.activations, {}
        return {name: a.float() for name, a in acts.items()}  # no-op in fp32


@contextmanager
def capture(
    model: DreamModel, layers: Iterable[str], *, fast: bool = False, precision: str = "fp32"
) -> Iterator[Capture]:
    cap = Capture(model, layers, fast=fast, precision=precision)
    try:
        for name in cap.layers:
            module = model.module(name, fast=fast, layers=cap.layers)  # the net `cap.run` forwards
            cap._handles.append(module.register_forward_hook(cap._hook(name)))
        yield cap
    finally:
        for handle in cap._handles:
            handle.remove()
        cap._handles.clear()
        cap.activations = {}
