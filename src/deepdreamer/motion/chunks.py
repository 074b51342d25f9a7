"""A long video dreamed in chunks that run in parallel: where the frames are split, and the
chunk function itself.

A chunk starts at a scene cut (where the loop carries nothing anyway, so the split costs
nothing) or every `chunk_frames` frames within a scene. A chunk that starts mid-scene first
dreams up to `warmup` frames before it, to build up the detail the loop carries from frame to
frame; over those frames the previous chunk's dreams fade into the warm-up's (`cross_fade`), so
the join is spread over the warm-up instead of one jump from one chunk's pattern to the
other's. Warm-up frames never reach back across a cut: the loop would not carry anything over
it either.

Planning is pure (flags in, chunks out); `dream_chunk` is pure too (frames in, dreamed frames
out) and is the same `video_loop` a one-process run uses, with the same per-frame seeds, so a
chunked run differs from one process only by the carried state at the joins."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..engine import ProgressCallback
from ..pipeline import PreparedDream
from .loops import video_loop

__all__ = ["Chunk", "cross_fade", "dream_chunk", "plan_chunks", "split_chunks"]


@dataclass(frozen=True)
class Chunk:
    """Frames start..end-1 of the rendered range, dreamed after `warmup` frames before them."""

    start: int
    end: int
    warmup: int = 0

    @property
    def first(self) -> int:
        """The first frame the chunk dreams (its warm-up's first)."""
        return self.start - self.warmup

    def __len__(self) -> int:
        return self.end - self.start


def split_chunks(scene_starts: Iterable[bool], chunk_frames: int, warmup: int) -> Iterator[Chunk]:
    """The chunks of a range whose frame i starts a new scene when scene_starts[i] is true
    (frame 0 always does). Lazy: a chunk is yielded as soon as the flag of the frame after it
    is read, so a long video is dispatched while it is still being decoded."""
    start = scene = 0
    count = 0
    for index, cut in enumerate(scene_starts):
        count = index + 1
        if index == 0:
            continue
        if cut or index - start >= chunk_frames:
            yield Chunk(start, index, _warmup(start, scene, warmup))
            start = index
            if cut:
                scene = index
    if count:
        yield Chunk(start, count, _warmup(start, scene, warmup))


def _warmup(start: int, scene: int, warmup: int) -> int:
    # a chunk at a scene's start has nothing to carry in; otherwise at most back to the cut
    return min(warmup, start - scene)


def plan_chunks(frames: int, cuts: Iterable[int], chunk_frames: int, warmup: int) -> list[Chunk]:
    """`split_chunks` for `frames` frames with the scene cuts at the given frame indices."""
    cut = set(cuts)
    return list(split_chunks((i in cut for i in range(frames)), chunk_frames, warmup))


def dream_chunk(
    prepared: PreparedDream,
    flow_blend: float,
    frames: Sequence[np.ndarray],
    seed: int,
    first: int,
    warmup: int,
    progress: ProgressCallback | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Dream source frames `first`.. (absolute indices, for the seeds) with the video loop:
    (the first `warmup` dreams, which carried the detail in, and the chunk's own)."""
    if not 0 <= warmup < len(frames):
        raise ValueError(f"a chunk of {len(frames)} frames cannot have {warmup} warm-up frames")
    dreams = list(video_loop(prepared, flow_blend, frames, seed, first, None, progress))
    return dreams[:warmup], dreams[warmup:]


def cross_fade(earlier: np.ndarray, warm: np.ndarray, position: int, warmup: int) -> np.ndarray:
    """Frame `position` (0..warmup-1) of a chunk's warm-up as written: the previous chunk's
    dream of it (`earlier`) fading linearly into this chunk's (`warm`), so that each frame of
    the warm-up moves a step of 1/(warmup+1) from one chunk's pattern to the other's."""
    a = (position + 1) / (warmup + 1)
    mixed = (1 - a) * earlier.astype(np.float32) + a * warm.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
