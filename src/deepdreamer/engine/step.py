"""One DeepDream gradient-ascent step: jitter, forward, objective, backward, normalised ascent,
unjitter, clamp. The jitter is sampled apart from being applied so it can be undone exactly."""

from __future__ import annotations

import random

import torch

from ..models.hooks import Capture
from ..objectives import Objective

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
) -> tuple[torch.Tensor, float]:
    ox, oy = sample_jitter(rng, jitter)
    shifted = torch.roll(image, shifts=(oy, ox), dims=(2, 3))
    grad, value = objective_gradient(cap, objective, shifted)
    # Dividing by the mean magnitude makes step_size mean the same thing on every layer.
    grad = grad / (grad.abs().mean() + 1e-12)
    shifted = shifted + step_size * grad
    return torch.roll(shifted, shifts=(-oy, -ox), dims=(2, 3)).clamp_(0.0, 1.0), value
