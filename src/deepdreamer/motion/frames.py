"""Frames as numpy arrays (H, W, 3) for decoding, flow and files; as (1, 3, H, W) tensors in
[0, 1] for the dream. The tensor conversions are the images' own (io.tensors), so a frame and
the same picture dreamed as an image see identical pixels; the names here are the loops'."""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image

from ..io.tensors import array_to_tensor as to_dream_tensor
from ..io.tensors import tensor_to_array as from_dream_tensor

# from_dream_tensor gives the rounded uint8 frame that is saved and fed forward: the loops always
# carry the rounded frame, so a resumed run (which reads it back from disk) matches.
__all__ = ["to_float", "to_uint8", "to_dream_tensor", "from_dream_tensor", "png_bytes", "png_frame"]


def to_float(frame: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 in [0, 1]; float input is returned as float32."""
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) / np.float32(255.0)
    return frame.astype(np.float32, copy=False)


def to_uint8(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint8:
        return frame
    return np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8)


def png_bytes(frame: np.ndarray) -> bytes:
    """A frame as PNG: lossless, for frames kept on disk or sent to another node."""
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="PNG", compress_level=1)  # speed over size: temporary
    return buf.getvalue()


def png_frame(source: bytes | str | os.PathLike) -> np.ndarray:
    """The RGB frame in PNG bytes or a PNG file (Pillow's OSError if it is not one)."""
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
        return np.asarray(im.convert("RGB")).copy()
