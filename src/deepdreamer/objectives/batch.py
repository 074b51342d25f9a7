"""Objectives for a batch in which every image has its own goal (a contact sheet of channels,
or several classes at once): one forward pass for all of them."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import Activations, Objective

__all__ = ["per_item"]


def per_item(objectives: Sequence[Objective]) -> Objective:
    """Item i of the batch is scored by objectives[i]; the result is the mean over items, so
    each item's gradient is its own objective's (scaled by 1/N, as any batch mean)."""
    objs = list(objectives)
    if not objs:
        raise ValueError("per_item needs at least one objective")

    def fn(acts: Activations) -> torch.Tensor:
        n = next(iter(acts.values())).shape[0]
        if n != len(objs):
            raise ValueError(f"per_item has {len(objs)} objectives for a batch of {n}")
        total = sum(obj({k: v[i : i + 1] for k, v in acts.items()}) for i, obj in enumerate(objs))
        return total / n

    layers = tuple(layer for obj in objs for layer in obj.layers)
    return Objective(fn, layers, "[" + ", ".join(o.name for o in objs) + "]",
                     all(o.tileable for o in objs))
