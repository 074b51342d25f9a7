"""Live mode's binary messages (docs/live-protocol.md): a 4-byte big-endian length, a JSON
header, then an image. Reading a frame checks everything a client could get wrong, each as one
line: the framing, the header, the image's format and size (read from its header, before any
pixels are decoded, so a small file claiming a huge picture costs nothing)."""

from __future__ import annotations

import io
import json
import struct
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InputImageError

__all__ = ["FRAME_FORMATS", "pack", "unpack", "decode_frame", "encode_frame"]

FRAME_FORMATS = ("JPEG", "PNG", "WEBP")  # what a browser's canvas.toBlob makes
_LENGTH = struct.Struct(">I")
_MAX_HEADER = 4096  # bytes: a header holds a few numbers
JPEG_QUALITY = 85  # the dreams sent back: ~15 KB at 320x240, encoded in ~1 ms


def pack(header: dict, image: bytes) -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return _LENGTH.pack(len(head)) + head + image


def unpack(message: bytes) -> tuple[dict, bytes]:
    """(header, image bytes) of a binary message; InputImageError for a malformed one."""
    if len(message) < _LENGTH.size:
        raise InputImageError("a frame message is shorter than its 4-byte header length")
    (size,) = _LENGTH.unpack_from(message)
    if size > _MAX_HEADER or _LENGTH.size + size > len(message):
        raise InputImageError(f"a frame's header length ({size} bytes) does not fit the message")
    try:
        header = json.loads(message[_LENGTH.size:_LENGTH.size + size])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputImageError("a frame's header is not JSON") from None
    if not isinstance(header, dict):
        raise InputImageError("a frame's header must be a JSON object")
    return header, message[_LENGTH.size + size:]


def decode_frame(data: bytes, max_side: int, min_side: int) -> np.ndarray:
    """The uint8 RGB pixels of a JPEG, PNG or WebP frame between min_side and max_side px."""
    if not data:
        raise InputImageError("a frame holds no image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # damaged metadata: the pixels still decode
            with Image.open(io.BytesIO(data), formats=FRAME_FORMATS) as im:
                w, h = im.size
                if max(w, h) > max_side:
                    raise InputImageError(f"a frame is {w}x{h}; live mode takes at most {max_side} px on the long side")
                if min(w, h) < min_side:
                    raise InputImageError(f"a frame is {w}x{h}; the model needs at least {min_side}x{min_side}")
                return np.asarray(im.convert("RGB")).copy()
    except InputImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InputImageError(f"a frame is not a readable {', '.join(FRAME_FORMATS)} image") from None


def encode_frame(frame: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()
