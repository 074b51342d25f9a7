"""A video dreamed in chunks by several workers (the ray backend), driven from here.

The driver decodes the source once, finds the scene cuts with the loop's own flow mask, splits
the frames (chunks.split_chunks) and hands each chunk, with its warm-up frames, to a runner as
soon as it is planned. It is the only writer: the dreamed frames of each finished chunk, and
those of its warm-up, go into the run's work folder (OUT.frames/, as for a one-process run), and
once every chunk is there they are encoded in order with the audio, at the source frame rate,
each warm-up's frames cross-faded with the previous chunk's (chunks.cross_fade).

Resume: a chunk whose frames (warm-up included) are all in the work folder is not sent again; the settings kept
there (chunk length and warm-up included) must match, as for a one-process run, so frames of
a one-process run and of a chunked run are never mixed."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..config import ChunkConfig, DreamConfig, VideoConfig
from ..engine import ProgressCallback
from ..engine.progress import report
from ..errors import ConfigError
from ..models import DreamModel
from ..pipeline import prepare_dream
from .chunks import Chunk, cross_fade, dream_chunk, split_chunks
from .cuts import CUT_BELOW, scene_starts
from .loops import FrameProgress
from .output import FrameWriter, check_video_output
from .run import MotionResult, _seed, check_store_space, frame_range, soundtrack
from .source import VideoSource
from .store import FrameStore

__all__ = ["ChunkJob", "InlineChunks", "chunk_jobs", "render_video_chunked"]

BACKENDS = ("ray", "inline")  # inline: every chunk in this process, one after another (tests)


@dataclass(frozen=True)
class ChunkJob:
    chunk: Chunk
    frames: list[np.ndarray]  # the source frames chunk.first .. chunk.end-1
    first: int  # frames[0]'s index in the video file: what its seed is derived from


class InlineChunks:
    """The runner that dreams each chunk here, with a model loaded once (or given)."""

    def __init__(self, config: DreamConfig, flow_blend: float, model: DreamModel | None = None) -> None:
        self.prepared = prepare_dream(config, model)
        self.flow_blend = flow_blend

    def settings(self, seed: int, **extra) -> dict:
        return self.prepared.settings(seed, **extra)

    def run(self, jobs: Iterable[ChunkJob], seed: int) -> Iterator[tuple[Chunk, list[np.ndarray], list[np.ndarray]]]:
        """Each job's chunk with its warm-up's dreams and its own."""
        for job in jobs:
            yield job.chunk, *dream_chunk(self.prepared, self.flow_blend, job.frames, seed, job.first,
                                          job.chunk.warmup)

    def close(self) -> None:
        pass


class _ChunkStore(FrameStore):
    """The frames, and beside them the warm-ups' dreams of the frames before each join."""

    def _warm_path(self, index: int):
        return self.dir / f"warm-{index:06d}.png"

    def has(self, chunk: Chunk) -> bool:
        return (all(self._path(i).exists() for i in range(chunk.start, chunk.end))
                and all(self._warm_path(i).exists() for i in range(chunk.first, chunk.start)))

    def save_chunk(self, chunk: Chunk, warm: list[np.ndarray], frames: list[np.ndarray]) -> None:
        for index, frame in enumerate(warm, start=chunk.first):
            self._save_png(self._warm_path(index), frame)
        for index, frame in enumerate(frames, start=chunk.start):
            self.save(index, frame)

    def written(self, index: int, fades: dict[int, tuple[int, int]]) -> np.ndarray:
        """Frame `index` as the video shows it: cross-faded when a warm-up covers it."""
        frame = self.load(index)
        if index not in fades:
            return frame
        return cross_fade(frame, self._load_png(self._warm_path(index)), *fades[index])


def chunk_jobs(frames: Iterable[np.ndarray], chunking: ChunkConfig, carry: bool, offset: int = 0,
               skip=lambda chunk: False, planned: list[Chunk] | None = None) -> Iterator[ChunkJob]:
    """The jobs of a range's source frames, planned while they are decoded; `offset` is the
    range's first frame in the video; every chunk, skipped or not, is added to `planned`. Only the frames a later chunk can still need are kept
    (at most chunk_frames + warmup + 1). `carry` False (flow_blend 0): nothing is carried from
    frame to frame, so no cut is looked for and no warm-up is needed."""
    warmup = chunking.warmup if carry else 0
    kept: dict[int, np.ndarray] = {}

    def flags() -> Iterator[bool]:
        for index, (frame, cut) in enumerate(scene_starts(frames, detect=carry)):
            kept[index] = frame
            yield cut

    for chunk in split_chunks(flags(), chunking.chunk_frames, warmup):
        if planned is not None:
            planned.append(chunk)
        if not skip(chunk):
            yield ChunkJob(chunk, [kept[i] for i in range(chunk.first, chunk.end)], offset + chunk.first)
        for index in [i for i in kept if i < chunk.end - warmup]:
            del kept[index]


def render_video_chunked(
    config: DreamConfig,
    video: VideoConfig,
    chunking: ChunkConfig,
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    backend: str = "ray",
    model: DreamModel | None = None,
    progress: ProgressCallback | None = None,
    force: bool = False,
    resume: bool = False,
    keep_frames: bool = False,
) -> MotionResult:
    """`render_video` to a file, with the frames dreamed in chunks by `backend`'s workers.
    Reports FrameProgress as chunks come back (in any order)."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "ray" and model is not None:
        raise ConfigError("the ray backend loads the model on each worker by name: give a model spec, "
                          "not a loaded model")
    check_video_output(output, force=force, protect=[source])
    clip = VideoSource(source, max_size=config.max_size)
    start, end = frame_range(clip, video)
    total = end - start
    seed = _seed(config, output, resume)
    notices: list[str] = []
    audio = soundtrack(clip, output, start, end, progress, notices)
    if backend == "ray":
        from .ray_chunks import RayChunks

        runner = RayChunks(config, video.flow_blend, chunking, progress)
    else:
        runner = InlineChunks(config, video.flow_blend, model)
    try:
        settings = runner.settings(
            seed, kind="video", video=video.to_dict(), source=os.path.abspath(source),
            source_frames=clip.frame_count, fps=str(clip.fps), size=list(clip.size),
            frame_range=[start, end], chunks=dict(chunking.to_dict(), cut_below=CUT_BELOW),
        )
        store = _ChunkStore(output, settings, total, resume=resume, force=force)
        # frames kept by an earlier run; those of a chunk it did not finish are dreamed again
        # (the chunk is redone whole) but counted once
        present = {i for i in range(total) if store.has(Chunk(i, i + 1))}
        done = resumed = len(present)
        check_store_space(store, output, settings, total, done)
        report(progress, FrameProgress(done, total, resumed=resumed))
        planned: list[Chunk] = []
        jobs = chunk_jobs(clip.frames(start, end), chunking, video.flow_blend > 0, start, store.has, planned)
        for chunk, warm, frames in runner.run(jobs, seed):
            store.save_chunk(chunk, warm, frames)
            done += sum(1 for i in range(chunk.start, chunk.end) if i not in present)
            report(progress, FrameProgress(done, total, resumed=resumed))
    finally:
        runner.close()
    # frame -> (its place in a warm-up, the warm-up's length)
    fades = {c.first + j: (j, c.warmup) for c in planned for j in range(c.warmup)}
    with FrameWriter(output, clip.fps, audio=audio, force=force, protect=[source], metadata=settings) as out:
        for index in range(total):
            out.write(store.written(index, fades))
        path = out.commit()
    if not keep_frames:
        store.remove()
    return MotionResult(path, settings, total, resumed, notices)

