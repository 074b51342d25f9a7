"""Will the outputs fit on the disk? Estimated before a zoom, a video or a batch starts, so a run
that would fill the disk says so in one line (with what would fit) instead of failing hours in.

The estimates are deliberately high: a dreamed frame is noisy, so its PNG is about as big as
its raw pixels (a 600x450 dream: 675 KB against 810 KB raw), a JPEG or WebP output a fifth of
that, and a video a small fraction. A write that fails anyway (another program filling the
disk) still leaves no partial file: every write is atomic (io/atomic.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from ..errors import OutputError

__all__ = ["free_bytes", "check_space", "image_bytes", "MARGIN"]

MARGIN = 64 * 1024**2  # left free for everything else on the disk
_PER_PIXEL = {".png": 3.0, ".jpg": 0.6, ".jpeg": 0.6, ".webp": 0.6, ".tif": 3.0, ".tiff": 3.0, ".bmp": 3.0}
_GB, _MB = 1024**3, 1024**2


def image_bytes(width: int, height: int, suffix: str) -> int:
    """A high estimate of one output image's size."""
    return int(width * height * _PER_PIXEL.get(suffix.lower(), 3.0)) + 4096


def free_bytes(path: str | os.PathLike) -> int:
    """Free bytes on the disk `path` is (or will be) on: its nearest existing folder's."""
    folder = Path(path).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def _size(n: float) -> str:
    return f"{n / _GB:.1f} GB" if n >= _GB / 10 else f"{max(n, 0) / _MB:.0f} MB"


def check_space(path: str | os.PathLike, need: int, what: str,
                fits: Callable[[float], str] | None = None) -> None:
    """OutputError unless `need` bytes (plus MARGIN) fit on `path`'s disk. `what` names the
    run ('the frames of this zoom'); `fits(share)` says what would fit, given the share of
    `need` that does ('try --frames 250')."""
    free = free_bytes(path)
    if need + MARGIN <= free:
        return
    hint = ""
    if fits is not None:
        hint = "; " + fits(max(0.0, (free - MARGIN) / need) if need else 0.0)
    raise OutputError(f"{what} need about {_size(need)} on the disk of {path} but {_size(free)} is free{hint}")
