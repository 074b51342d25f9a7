"""The one conversion between pictures and the dream's tensors, for images (PIL) and for video
frames (numpy (H, W, 3) arrays) alike, so a frame dreamed in a video and the same picture
dreamed as an image see the very same float values.

The dream's tensor is (1, 3, H, W) float32 in [0, 1]. uint8 -> float is x / 255 in float32;
float -> uint8 clamps to [0, 1], scales by 255 and rounds half to even (torch.round).
Big pictures are why the code is careful with copies: a 4096x4096 float copy is 200 MB.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

__all__ = ["array_to_tensor", "tensor_to_array", "to_tensor", "to_pil"]


def array_to_tensor(a: np.ndarray) -> torch.Tensor:
    """(H, W, 3) array -> (1, 3, H, W) float32: uint8 is scaled to [0, 1], any other dtype is
    taken as already in [0, 1] (and not clamped)."""
    if a.dtype == np.uint8:
        if not a.flags.writeable or min(a.strides) < 0:
            a = np.array(a)  # torch.from_numpy warns on read-only arrays, fails on negative strides
        # One float buffer: the bytes are converted as they are copied in, then scaled in place.
        out = torch.empty((1, 3, *a.shape[:2]), dtype=torch.float32, device="cpu")  # host memory, as read
        out[0].copy_(torch.from_numpy(a).permute(2, 0, 1))
        return out.div_(255.0)
    # Floats (the motion loops' frames): one transposing copy, which is the result.
    return torch.from_numpy(np.ascontiguousarray(a.astype(np.float32, copy=False).transpose(2, 0, 1))).unsqueeze(0)


def tensor_to_array(t: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) tensor -> contiguous (H, W, C) uint8: clamped to [0, 1],
    rounded half to even. Multiplying first and clamping to [0, 255] gives the same bytes as
    clamping first, with one float temporary instead of three."""
    t = _one_image(t, "tensor_to_array").detach().to("cpu", torch.float32)
    # torch makes the (H, W, C) copy (on every core): half the time of np.ascontiguousarray's
    return t.mul(255).clamp_(0, 255).round_().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL image -> (1, 3, H, W) float32 in [0, 1]."""
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    return array_to_tensor(np.array(rgb, dtype=np.uint8))  # a private, writable copy


def to_pil(t: torch.Tensor) -> Image.Image:
    """Inverse of to_tensor: clamps to [0, 1], rounds, returns mode 'RGB'."""
    return Image.fromarray(tensor_to_array(_one_image(t, "to_pil")), mode="RGB")


def _one_image(t: torch.Tensor, caller: str) -> torch.Tensor:
    """(3, H, W) from a batch of one (or as it is); the error names the function called."""
    if t.dim() == 4:
        if t.shape[0] != 1:
            raise ValueError(f"{caller} expects one image, got a batch of {t.shape[0]}")
        t = t[0]
    return t
