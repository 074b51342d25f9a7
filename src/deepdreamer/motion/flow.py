"""Optical flow between consecutive source frames (OpenCV DIS) and what it is used for: warping
the previous frame's dream along the motion, with a mask that is 0 where the flow cannot be
trusted (occlusions, fast motion, cuts) so those areas start from the fresh frame instead of
smearing."""

from __future__ import annotations

import cv2
import numpy as np

from .frames import to_float

__all__ = ["FlowEstimator", "warp"]

# Forward-backward consistency (Sundaram et al. 2010): a pixel's flow is trusted when going
# back and then forward again lands within this tolerance of where it started.
_FB_RELATIVE = 0.01
_FB_ABSOLUTE = 0.5  # px^2
_PHOTOMETRIC = 0.1  # the warped previous frame may differ from the new one by this much (0..1)


class FlowEstimator:
    """`scale` < 1 estimates the flow on frames downscaled by it (live mode: 0.5 costs a quarter
    of the time) and scales the flow back up; the photometric check stays at full size."""

    def __init__(self, scale: float = 1.0) -> None:
        if not 0.0 < scale <= 1.0:
            raise ValueError(f"flow scale must be in (0, 1], got {scale}")
        self.scale = scale
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def _flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow f with a(x) ~ b(x + f(x)), (H, W, 2) float32 in pixels."""
        return self._dis.calc(a, b, None)

    def _gray(self, frame: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if self.scale == 1.0:
            return gray
        h, w = gray.shape
        size = (max(8, round(w * self.scale)), max(8, round(h * self.scale)))
        return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)

    def backward(self, previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For uint8 RGB frames: the flow from `current` back to `previous` (where each pixel
        of `current` was) and a (H, W) float32 mask in [0, 1] of where it can be trusted."""
        prev_g, cur_g = self._gray(previous), self._gray(current)
        back = self._flow(cur_g, prev_g)
        fwd = self._flow(prev_g, cur_g)
        # forward flow sampled where each pixel came from; it should undo the backward flow
        fwd_at = warp(fwd, back)
        err = np.sum((fwd_at + back) ** 2, axis=2)
        tol = _FB_RELATIVE * (np.sum(fwd_at**2, axis=2) + np.sum(back**2, axis=2)) + _FB_ABSOLUTE
        mask = (err <= tol).astype(np.float32)
        if prev_g.shape != previous.shape[:2]:  # back to full size, the flow in full-size pixels
            h, w = previous.shape[:2]
            ratio = np.array([w / prev_g.shape[1], h / prev_g.shape[0]], dtype=np.float32)
            back = cv2.resize(back, (w, h), interpolation=cv2.INTER_LINEAR) * ratio
            mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
        # and what the flow says must actually look like the new frame (catches cuts, flashes);
        # compared slightly blurred, so a sub-pixel flow error on a sharp edge does not count
        warped_prev = warp(to_float(previous), back)
        diff = np.abs(cv2.GaussianBlur(warped_prev - to_float(current), (5, 5), 0))
        mask *= (diff.max(axis=2) <= _PHOTOMETRIC).astype(np.float32)
        # out of the frame: nothing to carry
        h, w = mask.shape
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        sx, sy = gx + back[..., 0], gy + back[..., 1]
        mask *= ((sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)).astype(np.float32)
        # soft edges: a hard cut-out shows as an outline in the dream
        return back, cv2.GaussianBlur(mask, (5, 5), 0)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample `image` at x + flow(x) (bilinear; borders replicated)."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x = gx + flow[..., 0]
    map_y = gy + flow[..., 1]
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
