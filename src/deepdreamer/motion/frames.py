"""Frames as numpy arrays (H, W, 3) for decoding, flow and files; as (1, 3, H, W) tensors in
[0, 1] for the dream."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["to_float", "to_uint8", "to_dream_tensor", "from_dream_tensor"]


def to_float(frame: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 in [0, 1]; float input is returned as float32."""
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) / np.float32(255.0)
    return frame.astype(np.float32, copy=False)


def to_uint8(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint8:
        return frame
    return np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8)


def to_dream_tensor(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(to_float(frame).transpose(2, 0, 1))).unsqueeze(0)


def from_dream_tensor(t: torch.Tensor) -> np.ndarray:
    """The dreamed tensor as the uint8 frame that is saved and fed forward: the loops always
    carry the rounded frame so a resumed run (which reads it back from disk) matches."""
    a = t.detach().to("cpu", torch.float32)[0].clamp(0, 1).mul(255).round().to(torch.uint8)
    return np.ascontiguousarray(a.permute(1, 2, 0).numpy())
