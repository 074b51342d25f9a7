"""Guided dreams (google/deepdream's `objective_guide`): for every position of the dreamed
image, the guide image's feature vector (at the same layer) that matches it best, by dot
product, is what that position is pushed toward."""

from __future__ import annotations

import torch

from .base import Objective

__all__ = ["guide"]


def guide(layer: str, guide_features: torch.Tensor) -> Objective:
    """`guide_features`: the guide image's activations at `layer`, (1, C, h, w) or (C, M).
    The value is the mean over positions of x . g*(x), with g*(x) the guide vector of highest
    dot product with x, held fixed: its gradient is g*(x), as in google's objective_guide.
    Each position needs only itself and the guide, so it can be computed tile by tile."""
    g = guide_features.detach().float()
    g = g.reshape(g.shape[-3], -1) if g.dim() == 4 else g  # (C, M)

    def fn(acts):
        a = acts[layer].float()
        n, c = a.shape[:2]
        if c != g.shape[0]:
            raise ValueError(f"the guide has {g.shape[0]} channels at {layer}, the dream {c}")
        x = a.reshape(n, c, -1)  # (N, C, P)
        gg = g.to(x.device)
        with torch.no_grad():
            best = torch.einsum("ncp,cm->npm", x, gg).argmax(dim=2)  # (N, P)
        target = gg[:, best].permute(1, 0, 2)  # (N, C, P)
        return (x * target).sum(1).mean()

    return Objective(fn, (layer,), f"guide({layer})")
