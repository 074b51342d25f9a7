"""Scene cuts, found with the very mask the video loop weights its carried dream by
(FlowEstimator.backward, on the same frames): where that mask is nearly 0 everywhere, the loop
starts afresh anyway, so a chunk that starts there loses nothing.

The threshold comes from measurement (DIS flow on skimage photos at 240x180 and 640x360): the
mask's mean stayed at or above 0.63 for every continuous move tried (pans up to 12 px a frame,
zooms up to 4%, 2 degree turns, fades, sensor noise), and 0.21 for a 24 px-a-frame pan of a
repetitive texture; a cut to another shot gave at most 0.07 and a flash at most 0.012. Cuts
within one scene (another framing of the same subject) gave anything from 0 to 0.97. A frame
below CUT_BELOW is a cut: there the loop carries under a tenth of the frame. A cut missed
costs nothing but a chunk boundary elsewhere (with its warm-up); a cut wrongly found would
cost a join without warm-up, hence the threshold well below any motion measured."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from .flow import FlowEstimator

__all__ = ["CUT_BELOW", "scene_starts"]

CUT_BELOW = 0.1  # mean of the flow's trust mask (0..1) under which a frame starts a new scene


def scene_starts(frames: Iterable[np.ndarray], detect: bool = True) -> Iterator[tuple[np.ndarray, bool]]:
    """Each frame with whether it starts a scene: the first always does, and, with `detect`,
    every frame the flow from the one before cannot carry into (or of another size, which the
    loop does not carry into either). Without `detect` (flow_blend 0: nothing is carried)
    no flow is computed."""
    flow = FlowEstimator() if detect else None
    previous = None
    for frame in frames:
        if previous is None:
            cut = True
        elif flow is None:
            cut = False
        elif previous.shape != frame.shape:
            cut = True
        else:
            cut = float(flow.backward(previous, frame)[1].mean()) < CUT_BELOW
        previous = frame
        yield frame, cut
