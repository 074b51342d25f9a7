"""Robustness transforms sampled anew every step (Lucid's `standard_transforms`): the image must
excite the objective after padding, jitter, rescaling and rotation, so the optimiser cannot rely
on pixel-exact patterns, and what it finds reads as a picture instead of adversarial noise.

Parameters are sampled apart from being applied (`sample` then `apply`), so a run is fully
determined by its seed and two callers can apply the same transform."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["TransformParams", "RobustnessTransforms", "transforms_for"]


@dataclass(frozen=True)
class TransformParams:
    pad: int
    shift1: tuple[int, int]  # crop offsets of the first jitter (dy, dx)
    scale: float
    angle: float  # degrees, counter-clockwise
    shift2: tuple[int, int]
    down: float = 1.0  # shrink by this and grow back (1: not at all)


@dataclass(frozen=True)
class RobustnessTransforms:
    """Lucid's defaults: pad 12 with grey, jitter 8, scale 0.9-1.1, rotate -10..10 degrees
    (0 more often), jitter 4."""

    pad: int = 12
    jitter1: int = 8
    scales: tuple[float, ...] = tuple(1 + (i - 5) / 50 for i in range(11))
    angles: tuple[float, ...] = tuple(range(-10, 11)) + (0,) * 5
    jitter2: int = 4
    # factors the image is shrunk by and grown back (area-averaged down, bilinear up), 1 = kept:
    # detail finer than the shrunk image can hold is then worth nothing to the objective
    downs: tuple[float, ...] = (1.0,)

    def sample(self, rng: random.Random) -> TransformParams:
        return TransformParams(
            pad=self.pad,
            shift1=(rng.randint(0, self.jitter1), rng.randint(0, self.jitter1)),
            scale=rng.choice(self.scales),
            angle=float(rng.choice(self.angles)),
            shift2=(rng.randint(0, self.jitter2), rng.randint(0, self.jitter2)),
            down=rng.choice(self.downs),
        )

    def apply(self, images: torch.Tensor, p: TransformParams) -> torch.Tensor:
        x = F.pad(images, (p.pad,) * 4, value=0.5) if p.pad else images
        x = _crop(x, p.shift1, self.jitter1)
        if p.scale != 1.0:
            h, w = x.shape[-2:]
            size = (max(1, round(h * p.scale)), max(1, round(w * p.scale)))
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        if p.angle:
            x = _rotate(x, p.angle)
        if p.down > 1.0:
            h, w = x.shape[-2:]
            small = (max(1, round(h / p.down)), max(1, round(w / p.down)))
            x = F.interpolate(x, size=small, mode="bilinear", antialias=True, align_corners=False)
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
        return _crop(x, p.shift2, self.jitter2)


def _crop(x: torch.Tensor, shift: tuple[int, int], jitter: int) -> torch.Tensor:
    """Lucid's jitter: a random crop `jitter` px smaller, i.e. a shift without wrap-around."""
    if jitter <= 0:
        return x
    dy, dx = shift
    h, w = x.shape[-2:]
    return x[..., dy : h - jitter + dy, dx : w - jitter + dx]


def _rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    a = math.radians(degrees)
    theta = torch.tensor(
        [[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]],
        dtype=x.dtype, device=x.device,
    ).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


# Wider than Lucid's: scales 0.7-1.3, rotations to 15 degrees, and half the steps see the image
# shrunk by 1.5 or 2 and grown back, so what carries the objective must survive a thumbnail.
STRONG = RobustnessTransforms(
    scales=tuple(0.7 + i * 0.05 for i in range(13)),
    angles=tuple(range(-15, 16)) + (0,) * 5,
    downs=(1.0, 1.0, 1.5, 2.0),
)
SETS = {"lucid": RobustnessTransforms(), "strong": STRONG}


def transforms_for(config) -> RobustnessTransforms | None:
    """The transforms a VisualizeConfig asks for (None: off)."""
    return SETS[config.robustness] if config.transforms else None
