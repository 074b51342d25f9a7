"""The `Objective` value and the classic layer objectives.

Convention for every objective: it MAXIMISES, it maps a dict of captured activations
(layer name -> tensor) to one scalar (a mean over the batch), and it declares in `layers` the
layers it reads, so the forward pass can stop after the deepest one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

__all__ = ["Activations", "Objective", "layer_l2", "weighted_layers"]

Activations = Mapping[str, torch.Tensor]


class Objective:
    """`tileable`: the objective is a mean over positions of something each position computes
    on its own (layer L2, channel, direction), so it can be evaluated tile by tile on a big
    image; one that reads a single position or the whole image (neuron, class logit) is not."""

    def __init__(
        self,
        fn: Callable[[Activations], torch.Tensor],
        layers: tuple[str, ...],
        name: str,
        tileable: bool = True,
    ):
        self.fn, self.layers, self.name = fn, tuple(dict.fromkeys(layers)), name
        self.tileable = tileable

    def __call__(self, acts: Activations) -> torch.Tensor:
        return self.fn(acts)

    def __add__(self, other: Objective) -> Objective:
        return Objective(
            lambda a: self(a) + other(a),
            self.layers + other.layers,
            f"{self.name} + {other.name}",
            self.tileable and other.tileable,
        )

    def __radd__(self, other: object) -> Objective:
        if isinstance(other, (int, float)) and other == 0:  # lets sum([...]) work
            return self
        return NotImplemented

    def __mul__(self, k: float) -> Objective:
        return Objective(lambda a: k * self(a), self.layers, f"{k:g}*{self.name}", self.tileable)

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return -1.0 * self

    def __sub__(self, other: Objective) -> Objective:
        return self + (-other)

    def renamed(self, name: str) -> Objective:
        return Objective(self.fn, self.layers, name, self.tileable)

    def __repr__(self) -> str:
        return f"Objective({self.name})"


def layer_l2(layer: str) -> Objective:
    """The classic DeepDream objective: mean of squared activations. Its gradient at the layer is
    proportional to the activations themselves (google/deepdream's `objective_L2`)."""
    return Objective(lambda a: a[layer].float().pow(2).mean(), (layer,), layer)


def weighted_layers(layers: Mapping[str, float] | list[tuple[str, float]]) -> Objective:
    items = list(layers.items()) if isinstance(layers, Mapping) else list(layers)
    total: Objective | None = None
    for name, weight in items:
        term = layer_l2(name) if weight == 1.0 else weight * layer_l2(name)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("at least one layer is needed")
    return total
