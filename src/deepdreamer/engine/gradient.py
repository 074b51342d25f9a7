"""The objective's gradient with respect to the pixels: the one computation every step makes,
on the whole image (optionally through a random transform) or, from engine/tiling.py, per tile."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..models.hooks import Capture
from ..objectives import Objective

__all__ = ["objective_gradient", "grid_extension", "extended_gradient"]

Transform = Callable[[torch.Tensor], torch.Tensor]


def objective_gradient(
    cap: Capture, objective: Objective, pixels: torch.Tensor, transform: Transform | None = None
) -> tuple[torch.Tensor, float]:
    """d objective / d pixels, and the objective's value. Model weights are frozen, so only the
    image receives a gradient. A `transform` is applied before the forward pass and undone by
    autograd: the gradient comes back in the pixels' own coordinates."""
    x = pixels.detach().requires_grad_(True)
    value = objective(cap.run(transform(x) if transform is not None else x))
    (grad,) = torch.autograd.grad(value, x)
    return grad, float(value.detach())


def grid_extension(cap: Capture, height: int, width: int, stride: int) -> tuple[int, int]:
    """Rows and columns (edge pixels repeated, at most stride-1 each) that bring an image to
    stride*k + 1 pixels, where every stride-2 TF-'SAME' convolution of the fast net pads
    symmetrically inside the convolution instead of copying its input (models/samepad.py):
    16% faster dreams at 1200x900. The net's sampling grid lands where a 1-px jitter would put
    it, which the random jitter does anyway. (0, 0) for nets without such convs."""
    if not (cap.fast and cap.same_padding and stride > 1):
        return 0, 0
    return (1 - height) % stride, (1 - width) % stride


def extended_gradient(
    cap: Capture, objective: Objective, pixels: torch.Tensor, extension: tuple[int, int],
    transform: Transform | None = None,
) -> tuple[torch.Tensor, float]:
    """The gradient computed on the image extended by `extension` (see grid_extension), cut
    back to the image's size."""
    pad_h, pad_w = extension
    if not (pad_h or pad_w):
        return objective_gradient(cap, objective, pixels, transform)
    height, width = pixels.shape[-2:]
    padded = F.pad(pixels, (0, pad_w, 0, pad_h), mode="replicate")
    grad, value = objective_gradient(cap, objective, padded, transform)
    return grad[..., :height, :width], value
