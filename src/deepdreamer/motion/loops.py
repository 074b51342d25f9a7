"""The two frame loops. Both are generators of uint8 (H, W, 3) frames that can start at any
frame given the frame before it, which is what resuming needs; the engine's progress events
pass through to `progress` (return False to cancel)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..pipeline import PreparedDream
from ..config import ZoomConfig
from ..engine import ProgressCallback
from .flow import FlowEstimator, warp
from .frames import from_dream_tensor, to_dream_tensor, to_float, to_uint8
from .lock import ColourStats, lock_colours
from .seeds import frame_seed
from .transform import move_frame

__all__ = ["zoom_loop", "video_loop", "FrameProgress", "objective_for_frame"]


@dataclass(frozen=True)
class FrameProgress:
    """A frame is finished (and, when writing a file, kept on disk)."""

    frame: int  # frames finished so far, counting those a resumed run found done
    frames: int  # frames in the whole run
    resumed: int = 0  # frames that were already done when this run started


def objective_for_frame(dreams: Sequence[PreparedDream], every: int, index: int) -> PreparedDream:
    """The cycle: dreams[0] for frames 0..every-1, dreams[1] for the next `every`, and round."""
    return dreams[(index // every) % len(dreams)]


def zoom_loop(
    dreams: Sequence[PreparedDream],
    config: ZoomConfig,
    start: np.ndarray,
    reference: ColourStats,
    seed: int,
    first: int = 0,
    previous: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[np.ndarray]:
    """Frames `first`..config.frames-1 of the zoom: frame 0 is the dream of `start`; each next
    frame is the dream of the previous one moved by the camera. `previous` is frame first-1."""
    if first > 0 and previous is None:
        raise ValueError("resuming the zoom needs the frame before the first")
    for index in range(first, config.frames):
        if index == 0:
            image = to_float(start)
        else:
            image = move_frame(previous, config.zoom, config.rotate, config.pan)
        prepared = objective_for_frame(dreams, config.cycle_every, index)
        result = prepared.dream_tensor(to_dream_tensor(image), frame_seed(seed, index), progress)
        previous = from_dream_tensor(result.image)
        if config.colour_lock:
            previous = to_uint8(lock_colours(to_float(previous), reference))
        yield previous


def video_loop(
    prepared: PreparedDream,
    flow_blend: float,
    sources: Iterable[np.ndarray],
    seed: int,
    first: int = 0,
    previous: tuple[np.ndarray, np.ndarray] | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[np.ndarray]:
    """Dream each source frame, carrying the previous frame's dream along the optical flow (the
    DeepDreamAnim technique) so patterns move with the scene instead of boiling:

    - before the dream, the previous dream's detail (dream minus its source), warped along the
      flow, is added to the new frame with weight `flow_blend`: the dream grows from it;
    - after, the warped previous dream is mixed in with the same weight: what the new dream
      changed at random (it is chaotic in its input) is damped like a moving average.

    Both are weighted by the flow's mask, so occluded or fast areas take the fresh frame and its
    fresh dream. `previous` is (source, dream) of the frame before `first`; seeds count frames
    from the video's start so a resumed run matches an uninterrupted one."""
    flow = FlowEstimator() if flow_blend > 0 else None
    prev_src, prev_out = previous if previous is not None else (None, None)
    for index, src in enumerate(sources, start=first):
        image = to_float(src)
        carried = None
        if flow is not None and prev_src is not None and prev_src.shape == src.shape:
            back, mask = flow.backward(prev_src, src)
            weight = (flow_blend * mask)[..., None]
            carried = warp(to_float(prev_out), back)
            detail = carried - warp(to_float(prev_src), back)
            image = np.clip(image + weight * detail, 0.0, 1.0)
        result = prepared.dream_tensor(to_dream_tensor(image), frame_seed(seed, index), progress)
        out = from_dream_tensor(result.image)
        if carried is not None:
            dreamed = to_float(out)
            out = to_uint8(dreamed + weight * (carried - dreamed))
        prev_src, prev_out = src, out
        yield out
