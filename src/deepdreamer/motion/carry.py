"""Carrying a dream from one frame to the next along the optical flow (the DeepDreamAnim
technique), so patterns move with the scene instead of boiling. One implementation for the
video loop and for live mode:

- before the dream, the previous dream's detail (dream minus its source), warped along the
  flow, is added to the new frame with weight `blend`: the dream grows from it;
- after, the warped previous dream is mixed in with weight `settle` (the video loop: the same
  as `blend`): what the new dream changed at random (it is chaotic in its input) is damped like
  a moving average. Live mode settles less than it carries, so the dream grows over frames.

Both are weighted by the flow's mask, so occluded or fast areas take the fresh frame and its
fresh dream."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .flow import FlowEstimator, warp
from .frames import to_float, to_uint8

__all__ = ["Carried", "carry"]


@dataclass
class Carried:
    """A frame made ready to dream: `image` (float (H, W, 3) in [0, 1]) starts from the carried
    detail; `settle` mixes the carried dream into the new one."""

    image: np.ndarray
    dream: np.ndarray | None = None  # the previous dream warped to this frame (float)
    weight: np.ndarray | None = None  # (H, W, 1): settle x the flow's trust

    def settle(self, dreamed: np.ndarray) -> np.ndarray:
        """The uint8 frame to show and to carry on, from the uint8 dream of `image`."""
        if self.dream is None:
            return dreamed
        out = to_float(dreamed)
        return to_uint8(out + self.weight * (self.dream - out))


def carry(flow: FlowEstimator | None, blend: float, source: np.ndarray,
          previous: tuple[np.ndarray, np.ndarray] | None, settle: float | None = None) -> Carried:
    """`source` (uint8 RGB) with the dream of the frame before carried onto it. `previous` is
    (source, dream) of that frame; nothing is carried without it, without a flow estimator, or
    when the frame size changed. `settle`: the weight of the mix after (None: `blend`)."""
    image = to_float(source)
    if flow is None or previous is None or previous[0].shape != source.shape:
        return Carried(image)
    prev_src, prev_out = previous
    back, mask = flow.backward(prev_src, source)
    trust = mask[..., None]
    dream = warp(to_float(prev_out), back)
    detail = dream - warp(to_float(prev_src), back)
    settled = blend if settle is None else settle
    return Carried(np.clip(image + (blend * trust) * detail, 0.0, 1.0), dream, settled * trust)
