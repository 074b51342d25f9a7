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
from .carry import carry
from .flow import FlowEstimator
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
    """Dream each source frame, carrying the previous frame's dream along the optical flow
    (carry.py) with weight `flow_blend`. `previous` is (source, dream) of the frame before
    `first`; seeds count frames from the video's start so a resumed run matches an
    uninterrupted one."""
    flow = FlowEstimator() if flow_blend > 0 else None
    for index, src in enumerate(sources, start=first):
        carried = carry(flow, flow_blend, src, previous)
        result = prepared.dream_tensor(to_dream_tensor(carried.image), frame_seed(seed, index), progress)
        out = carried.settle(from_dream_tensor(result.image))
        previous = (src, out)
        yield out
