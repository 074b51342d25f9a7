"""The zoom loop's camera move: zoom, rotate and pan a frame about its centre."""

from __future__ import annotations

import cv2
import numpy as np

from .frames import to_float

__all__ = ["move_frame"]


def move_frame(
    frame: np.ndarray, zoom: float = 1.0, rotate: float = 0.0, pan: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Magnify by `zoom`, turn `rotate` degrees counter-clockwise and shift by `pan` pixels, keeping
    the size. Edges that come into view are mirrored from inside so no black border creeps in."""
    src = to_float(frame)
    h, w = src.shape[:2]
    if zoom == 1.0 and rotate == 0.0 and pan == (0.0, 0.0):
        return src.copy()
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), rotate, zoom)
    matrix[0, 2] += pan[0]
    matrix[1, 2] += pan[1]
    return cv2.warpAffine(
        src, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
