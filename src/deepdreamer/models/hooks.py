"""Capture named activations with forward hooks, and stop the forward pass once all are caught.

Hooks are resources: `capture` registers them in a context manager and removes them in
`finally`, so a failed run leaves the model as it was (timm's FeatureHooks habit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch

from ._registry import DreamModel

__all__ = ["Capture", "capture"]


class _StopForward(Exception):
    """Raised inside a hook to skip the layers after the deepest one we need."""


class Capture:
    def __init__(self, model: DreamModel, layers: Iterable[str]) -> None:
        self.model = model
        self.layers = tuple(dict.fromkeys(layers))
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
        try:
            self.model.net(self.model.normalize(pixels))
        except _StopForward:
            pass
        missing = [n for n in self.layers if n not in self.activations]
        if missing:  # pragma: no cover - every catalogue layer is reached, a test checks it
            raise RuntimeError(f"layers {missing} were not reached by the forward pass")
        acts, self.activations = self.activations, {}
        return acts


@contextmanager
def capture(model: DreamModel, layers: Iterable[str]) -> Iterator[Capture]:
    cap = Capture(model, layers)
    try:
        for name in cap.layers:
            cap._handles.append(model.module(name).register_forward_hook(cap._hook(name)))
        yield cap
    finally:
        for handle in cap._handles:
            handle.remove()
        cap._handles.clear()
        cap.activations = {}
