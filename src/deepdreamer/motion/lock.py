"""Colour lock: keep each frame's per-channel mean and spread at a reference's, so a feedback
loop neither drifts darker nor washes out over hundreds of frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frames import to_float

__all__ = ["ColourStats", "NATURAL_STATS", "brightness", "lock_colours", "saturation"]


@dataclass(frozen=True)
class ColourStats:
    mean: tuple[float, float, float]  # per RGB channel, in [0, 1]
    std: tuple[float, float, float]

    @classmethod
    def of(cls, frame: np.ndarray) -> "ColourStats":
        f = to_float(frame)
        flat = f.reshape(-1, 3).astype(np.float64)
        return cls(tuple(flat.mean(0).tolist()), tuple(flat.std(0).tolist()))


# ImageNet's per-channel statistics: the reference for a loop that starts from noise (whose own
# statistics, grey with faint speckle, are not a look worth keeping).
NATURAL_STATS = ColourStats((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))

_MIN_STD = 1e-3  # a flat channel is shifted, not stretched without bound


def lock_colours(frame: np.ndarray, reference: ColourStats) -> np.ndarray:
    """`frame` (float (H, W, 3) in [0, 1]) with each channel's mean and std set to the reference's,
    clipped to [0, 1]."""
    f = frame.astype(np.float32, copy=False)
    flat = f.reshape(-1, 3)
    mean, std = flat.mean(0), np.maximum(flat.std(0), _MIN_STD)
    ref_mean = np.asarray(reference.mean, np.float32)
    ref_std = np.asarray(reference.std, np.float32)
    out = (f - mean) * (ref_std / std) + ref_mean
    return np.clip(out, 0.0, 1.0, out=out)


def brightness(frame: np.ndarray) -> float:
    """Mean of R, G and B of a uint8 frame, 0-255: what the lock keeps from drifting."""
    return float(frame.astype(np.float32).mean())


def saturation(frame: np.ndarray) -> float:
    """Mean HSV saturation of a uint8 frame, 0-255."""
    f = frame.astype(np.float32)
    hi, lo = f.max(axis=2), f.min(axis=2)
    return float(np.where(hi > 0, (hi - lo) / np.maximum(hi, 1e-6), 0).mean() * 255)
