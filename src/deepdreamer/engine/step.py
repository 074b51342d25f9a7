"""One DeepDream gradient-ascent step: jitter, forward, objective, backward, normalised ascent,
unjitter, clamp. The jitter is sampled apart from being applied so it can be undone exactly."""

from __future__ import annotations

import random
from collections.abc import Callable

import torch

from ..models.hooks import Capture
from ..objectives import Objective
from .tiling import plan_tiles, tiled_gradient

__all__ = ["sample_jitter", "objective_gradient", "ascent_step"]


def sample_jitter(rng: random.Random, jitter: int) -> tuple[int, int]:
    return rng.randint(-jitter, jitter), rng.randint(-jitter, jitter)


def objective_gradient(
    cap: Capture, objective: Objective, pixels: torch.Tensor
) -> tuple[torch.Tensor, float]:
    """d objective / d pixels, and the objective's value. Model weights are frozen, so only the
    image receives a gradient."""
    x = pixels.detach().requires_grad_(True)
    value = objective(cap.run(x))
    (grad,) = torch.autograd.grad(value, x)
    return grad, float(value.detach())


def ascent_step(
    cap: Capture,
    objective: Objective,
    image: torch.Tensor,
    step_size: float,
    jitter: int,
    rng: random.Random,
    *,
    tile: int = 0,
    stride: int = 32,
    on_tile: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, float]:
    """One step; with `tile` > 0 the gradient is computed in tiles of that core size (aligned to
    the layer `stride`; the image is rolled by a random offset over its whole size, so the grid
    falls elsewhere every step) and `on_tile(i, n)` follows them."""
    ox, oy = sample_jitter(rng, jitter)
    if tile:  # the tile grid lands somewhere else on the image every step: no fixed seams
        oy, ox = oy + rng.randrange(image.shape[-2]), ox + rng.randrange(image.shape[-1])
    shifted = torch.roll(image, shifts=(oy, ox), dims=(2, 3))
    if tile:
        tiles = plan_tiles(*shifted.shape[-2:], tile, stride)
        grad, value = tiled_gradient(cap, objective, shifted, tiles, on_tile)
    else:
        grad, value = objective_gradient(cap, objective, shifted)
    # Dividing by the mean magnitude makes step_size mean the same thing on every layer. In
    # place, and the L1 norm needs no |grad| temporary: big images keep fewer full-size copies.
    mean_magnitude = float(torch.linalg.vector_norm(grad, ord=1)) / grad.numel()
    shifted.add_(grad, alpha=step_size / (mean_magnitude + 1e-12))
    del grad
    return torch.roll(shifted, shifts=(-oy, -ox), dims=(2, 3)).clamp_(0.0, 1.0), value
