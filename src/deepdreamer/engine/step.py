"""One DeepDream gradient-ascent step: jitter, forward, objective, backward, normalised ascent,
unjitter, clamp. The jitter is sampled apart from being applied so it can be undone exactly."""

from __future__ import annotations

import random
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..models.hooks import Capture
from ..objectives import Objective
from .controls import StepControls, random_affine
from .tiling import plan_tiles, tiled_gradient

__all__ = ["sample_jitter", "objective_gradient", "ascent_step"]


def sample_jitter(rng: random.Random, jitter: int) -> tuple[int, int]:
    return rng.randint(-jitter, jitter), rng.randint(-jitter, jitter)


def objective_gradient(
    cap: Capture, objective: Objective, pixels: torch.Tensor,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, float]:
    """d objective / d pixels, and the objective's value. Model weights are frozen, so only the
    image receives a gradient. A `transform` is applied before the forward pass and undone by
    autograd: the gradient comes back in the pixels' own coordinates."""
    x = pixels.detach().requires_grad_(True)
    value = objective(cap.run(transform(x) if transform is not None else x))
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
    controls: StepControls | None = None,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, float]:
    """One step; with `tile` > 0 the gradient is computed in tiles of that core size (aligned to
    the layer `stride`; the image is rolled by a random offset over its whole size, so the grid
    falls elsewhere every step) and `on_tile(i, n)` follows them. `controls` add Laplacian
    normalisation and (untiled) random rotation/scale; `mask` ((1,1,H,W), this octave's size)
    scales the step per pixel. A tiled step updates `image` in place and returns it: the tiles
    read the rolled image from `image` itself, so a big image is never copied whole."""
    ox, oy = sample_jitter(rng, jitter)
    if tile:  # the tile grid lands somewhere else on the image every step: no fixed seams
        oy, ox = oy + rng.randrange(image.shape[-2]), ox + rng.randrange(image.shape[-1])
        tiles = plan_tiles(*image.shape[-2:], tile, stride)
        grad, value = tiled_gradient(cap, objective, image, tiles, on_tile, shift=(oy, ox))
        return _ascend(image, grad, step_size, controls, mask), value
    shifted = torch.roll(image, shifts=(oy, ox), dims=(2, 3))
    transform = None
    if controls is not None and controls.transforms:
        transform = random_affine(rng, controls.rotate, controls.scale_jitter)
    grad, value = _odd_grid_gradient(cap, objective, shifted, stride, transform)
    rolled_mask = None if mask is None else torch.roll(mask, shifts=(oy, ox), dims=(2, 3))
    shifted = _ascend(shifted, grad, step_size, controls, rolled_mask)
    return torch.roll(shifted, shifts=(-oy, -ox), dims=(2, 3)), value  # clamped in _ascend


def _ascend(image, grad, step_size, controls, mask):
    """image += step_size * processed gradient / its mean magnitude, in place."""
    if controls is not None:
        grad = controls.gradient(grad)
    if mask is not None:
        grad.mul_(mask)
    # Dividing by the mean magnitude makes step_size mean the same thing on every layer. In
    # place, and the L1 norm needs no |grad| temporary: big images keep fewer full-size copies.
    mean_magnitude = float(torch.linalg.vector_norm(grad, ord=1)) / grad.numel()
    image.add_(grad, alpha=step_size / (mean_magnitude + 1e-12))
    del grad
    return image.clamp_(0.0, 1.0)


def _odd_grid_gradient(
    cap: Capture, objective: Objective, pixels: torch.Tensor, stride: int,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, float]:
    """The gradient, computed on the image extended (edge pixels repeated, at most stride-1
    rows and columns) to stride*k + 1 pixels. There every stride-2 TF-'SAME' convolution of
    the fast net pads symmetrically, inside the convolution, instead of copying its input
    (models/samepad.py): 16% faster dreams at 1200x900. The net's sampling grid lands where a
    1-px jitter would put it, which the random jitter does anyway. Nets without such convs
    (and tiles, which must match the whole image's grid) skip this."""
    height, width = pixels.shape[-2:]
    pad_h, pad_w = (1 - height) % stride, (1 - width) % stride
    if not (cap.fast and cap.model.fast_same_padding and stride > 1) or not (pad_h or pad_w):
        return objective_gradient(cap, objective, pixels, transform)
    padded = F.pad(pixels, (0, pad_w, 0, pad_h), mode="replicate")
    grad, value = objective_gradient(cap, objective, padded, transform)
    return grad[..., :height, :width], value
