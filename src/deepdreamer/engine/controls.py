"""Per-step creative controls of a dream, beside roll jitter: Laplacian gradient normalisation,
random rotation and scale, a mask, and keeping the input's colours. All off by default, and
then they cost nothing."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .laplacian import lap_normalize

__all__ = ["LUMA_WEIGHTS", "Affine", "StepControls", "random_affine", "keep_colors", "apply_mask"]

# ITU-R BT.601 luma weights: "colour" is what YCbCr's Cb and Cr hold.
LUMA_WEIGHTS = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


@dataclass(frozen=True)
class StepControls:
    lap_levels: int = 0  # Laplacian bands the gradient is normalised in (0 or 1: off)
    rotate: float = 0.0  # max random rotation per step, degrees
    scale_jitter: float = 0.0  # max random relative zoom per step (0.1: 0.9x-1.1x)
    mask: torch.Tensor | None = None  # (1,1,H,W) in [0,1] at full size: 1 dreams, 0 keeps
    keep_colors: bool = False  # dream the luminance, keep the input's colours

    @property
    def transforms(self) -> bool:
        return bool(self.rotate or self.scale_jitter)

    def gradient(self, grad: torch.Tensor) -> torch.Tensor:
        return lap_normalize(grad, self.lap_levels) if self.lap_levels > 1 else grad


@dataclass(frozen=True)
class Affine:
    """A rotation by `angle` radians and a zoom by `scale` about the image's centre. Calling it
    resamples (bilinear, edges reflected); the forward pass sees the transformed image and
    autograd carries the gradient back to the untransformed pixels, so the step is taken in
    the image's own coordinates."""

    angle: float = 0.0
    scale: float = 1.0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        c, s = math.cos(self.angle) / self.scale, math.sin(self.angle) / self.scale
        theta = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], dtype=x.dtype, device=x.device)
        grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    def inverse(self) -> "Affine":
        return Affine(-self.angle, 1.0 / self.scale)


def random_affine(rng: random.Random, rotate: float, scale_jitter: float) -> Affine:
    """A random rotation (up to `rotate` degrees either way) and zoom (1 +- `scale_jitter`),
    sampled now and applied when called (sampled apart from applied: kornia's habit)."""
    angle = math.radians(rng.uniform(-rotate, rotate)) if rotate else 0.0
    scale = 1.0 + rng.uniform(-scale_jitter, scale_jitter) if scale_jitter else 1.0
    return Affine(angle, scale)


def keep_colors(original: torch.Tensor, dreamed: torch.Tensor) -> torch.Tensor:
    """The dream's luminance with the original's chroma: add the change in luma equally to R,
    G and B (which leaves Cb and Cr of the original untouched), then clamp."""
    luma = LUMA_WEIGHTS.to(dreamed.device, dreamed.dtype)
    delta = (dreamed * luma).sum(1, keepdim=True) - (original * luma).sum(1, keepdim=True)
    return (original + delta).clamp_(0.0, 1.0)


def apply_mask(original: torch.Tensor, dreamed: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Dream where the mask is 1, the input where it is 0, a blend in between: where the mask is
    0 the result IS the input, to the pixel."""
    m = mask.to(dreamed.device, dreamed.dtype)
    return torch.where(m > 0, original + (dreamed - original) * m, original)
