"""Images handed to deepdreamer in any of the forms a program holds them: a path, a PIL image, a
numpy array or a tensor. All become float pixels in [0, 1]; 8-bit inputs go through Pillow (EXIF
orientation, modes, Lanczos downscaling, as files always did), float inputs stay float from
input to output (never rounded to 8 bits on the way).

Layouts: arrays are (H, W) or (H, W, C), tensors (H, W), (C, H, W) or (1, C, H, W), with C = 1
(grey), 3 (RGB) or 4 (RGBA). uint8 is 0-255, bool is 0/1, float must lie in [0, 1]."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..errors import InputImageError
from .images import load_image
from .tensors import tensor_to_array, to_tensor

__all__ = ["ImageInput", "Pixels", "describe_input", "is_image_input", "read_pixels", "like_input"]

ImageInput = Union[str, "os.PathLike[str]", Image.Image, np.ndarray, torch.Tensor]


@dataclass
class Pixels:
    rgb: torch.Tensor  # (1, 3, H, W) float32 in [0, 1], on the device the input was on
    alpha: torch.Tensor | None  # (1, 1, H, W) float32 in [0, 1], or None
    source: str  # what to record: the path, or a description of an in-memory image


def is_image_input(value: object) -> bool:
    return isinstance(value, (str, os.PathLike, Image.Image, np.ndarray, torch.Tensor))


def describe_input(value: ImageInput) -> str:
    """What a settings record says about an input: its path, or `<kind WxH>` for one held in
    memory (which a later run cannot open; it must be given again)."""
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, Image.Image):
        return f"<PIL image {value.width}x{value.height}>"
    shape = tuple(value.shape)
    if isinstance(value, np.ndarray):
        h, w = shape[:2]
        return f"<numpy array {w}x{h}>"
    h, w = shape[-2:] if len(shape) >= 2 else (0, 0)
    return f"<tensor {w}x{h}>"


def _fail(what: str, why: str) -> InputImageError:
    return InputImageError(f"{what}: {why}" if what != "image" else f"cannot use the image: {why}")


def _channels_first(t: torch.Tensor, what: str, layout: str) -> torch.Tensor:
    """(1, C, H, W) from (H, W), (C, H, W) or (1, C, H, W) (tensors) / (H, W, C) (arrays)."""
    if layout == "hwc":
        if t.ndim == 2:
            t = t.unsqueeze(-1)
        if t.ndim != 3:
            raise _fail(what, f"expected an (H, W) or (H, W, C) array, got shape {tuple(t.shape)}")
        t = t.permute(2, 0, 1)
    else:
        if t.ndim == 2:
            t = t.unsqueeze(0)
        if t.ndim == 4 and t.shape[0] == 1:
            t = t[0]
        if t.ndim != 3:
            raise _fail(what, f"expected an (H, W), (C, H, W) or (1, C, H, W) tensor, got shape {tuple(t.shape)}")
    if t.shape[0] not in (1, 3, 4):
        raise _fail(what, f"expected 1, 3 or 4 channels (grey, RGB, RGBA), got {t.shape[0]}")
    if min(t.shape[-2:]) < 1:
        raise _fail(what, f"the image is empty ({t.shape[-1]}x{t.shape[-2]})")
    return t.unsqueeze(0)


def _float_pixels(t: torch.Tensor, what: str) -> torch.Tensor:
    if t.dtype == torch.uint8:
        return t.float().div_(255.0)
    if t.dtype == torch.bool:
        return t.float()
    if not t.is_floating_point():
        raise _fail(what, f"expected uint8, bool or float pixels, got {str(t.dtype).removeprefix('torch.')}")
    t = t.float()
    if not bool(torch.isfinite(t).all()):
        raise _fail(what, "the pixels hold NaN or infinite values")
    lo, hi = float(t.min()), float(t.max())
    if lo < 0.0 or hi > 1.0:
        raise _fail(what, f"float pixels must lie in [0, 1], got {lo:.3g} to {hi:.3g}")
    return t


def _downscale(t: torch.Tensor, max_size: int) -> torch.Tensor:
    """The long side to `max_size`, as load_image sizes it (antialiased bilinear for floats)."""
    h, w = t.shape[-2:]
    if max_size <= 0 or max(h, w) <= max_size:
        return t
    scale = max_size / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True).clamp_(0.0, 1.0)


def _from_pil_like(value, max_size: int, what: str) -> Pixels:
    try:
        loaded = load_image(value, max_size=max_size)
    except InputImageError as exc:
        raise InputImageError(f"{what}: {exc}" if what != "image" else str(exc)) from None
    alpha = None
    if loaded.alpha is not None:
        alpha = _float_pixels(torch.from_numpy(np.array(loaded.alpha, dtype=np.uint8))[None, None], what)
    return Pixels(to_tensor(loaded.rgb), alpha, loaded.source)


def read_pixels(value: ImageInput, *, max_size: int = 0, what: str = "image") -> Pixels:
    """Float pixels of `value`, the long side downscaled to `max_size` (0 keeps it). `what`
    names the input in errors ('guide', 'mask'). Paths, PIL images and 8-bit arrays read as a
    file would; float arrays and tensors keep their float values."""
    if isinstance(value, (str, os.PathLike, Image.Image)):
        return _from_pil_like(value, max_size, what)
    if isinstance(value, np.ndarray):
        if value.dtype == np.uint8 and value.ndim in (2, 3):
            if value.ndim == 3 and value.shape[2] not in (1, 3, 4):
                raise _fail(what, f"expected 1, 3 or 4 channels (grey, RGB, RGBA), got {value.shape[2]}")
            array = value[..., 0] if value.ndim == 3 and value.shape[2] == 1 else value
            image = Image.fromarray(np.ascontiguousarray(array))
            pixels = _from_pil_like(image, max_size, what)
            pixels.source = describe_input(value)
            return pixels
        t, layout = torch.from_numpy(np.ascontiguousarray(value)), "hwc"
    elif isinstance(value, torch.Tensor):
        t, layout = value.detach(), "chw"
    else:
        raise _fail(what, f"expected a path, a PIL image, a numpy array or a tensor, got {type(value).__name__}")
    t = _downscale(_float_pixels(_channels_first(t, what, layout), what), max_size)
    rgb = t[:, :3] if t.shape[1] >= 3 else t.expand(-1, 3, -1, -1)
    alpha = t[:, 3:4] if t.shape[1] == 4 else None
    return Pixels(rgb.contiguous(), alpha, describe_input(value))


def like_input(value: ImageInput, rgb: torch.Tensor, alpha: torch.Tensor | None):
    """A dreamed (1, 3, H, W) result in the form `value` was given in: a float32 tensor of the
    input's layout and device for a tensor, an array for an array (uint8 for uint8 input), else
    None (the caller makes a PIL image). Alpha, when the input had it, comes back as channel 4."""
    out = rgb if alpha is None else torch.cat([rgb, alpha.to(rgb.device, rgb.dtype)], dim=1)
    if isinstance(value, torch.Tensor):
        out = out.to(value.device)
        if value.ndim == 3:
            return out[0]
        return out
    if isinstance(value, np.ndarray):
        if value.dtype == np.uint8:
            return tensor_to_array(out)  # the 8-bit rounding every output gets
        return np.ascontiguousarray(out[0].permute(1, 2, 0).cpu().numpy())
    return None
