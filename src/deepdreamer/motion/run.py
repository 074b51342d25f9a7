"""Runs of the two loops: to a generator of frames, or to a file with the frames kept on disk
until the output is written (so `resume=True` continues an interrupted run exactly)."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from ..config import DreamConfig, VideoConfig, ZoomConfig
from ..engine import Notice, ProgressCallback
from ..engine.progress import report
from ..errors import ConfigError, OutputError
from ..io import load_image, to_tensor
from ..io.space import check_space, image_bytes
from ..models import DreamModel
from ..pipeline import draw_seed, prepare_dream
from .frames import to_uint8
from .lock import NATURAL_STATS, ColourStats
from .loops import FrameProgress, video_loop, zoom_loop
from .output import AudioClip, FrameWriter, check_video_output, output_kind
from .source import VideoSource
from .store import FrameStore, read_manifest

__all__ = ["MotionResult", "render_video", "render_zoom"]


@dataclass
class MotionResult:
    path: pathlib.Path
    settings: dict
    frames: int  # frames in the output
    resumed: int = 0  # frames a resumed run found already done
    notices: list[str] = field(default_factory=list)


def _seed(config: DreamConfig, output, resume: bool) -> int:
    """The given seed; else, when resuming, the one the interrupted run recorded; else fresh."""
    if config.seed is None and resume and output is not None:
        manifest = read_manifest(output)
        if manifest and isinstance(manifest.get("settings", {}).get("seed"), int):
            return manifest["settings"]["seed"]
    return draw_seed(config.seed)


def _as_pil(frames: Iterator[np.ndarray], total: int, progress: ProgressCallback | None) -> Iterator[Image.Image]:
    for index, frame in enumerate(frames):
        report(progress, FrameProgress(index + 1, total))
        yield Image.fromarray(frame)


def _render(
    output, settings: dict, total: int, resume: bool, force: bool, keep_frames: bool,
    frames_from: Callable[[int, np.ndarray | None], Iterator[np.ndarray]],
    writer: Callable[[], FrameWriter], progress: ProgressCallback | None, notices: list[str],
) -> MotionResult:
    """Dream the frames not yet on disk, then encode them all and drop the work folder."""
    store = FrameStore(output, settings, total, resume=resume, force=force)
    done = store.done
    check_store_space(store, output, settings, total, done)
    previous = store.load(done - 1) if done else None
    report(progress, FrameProgress(done, total, resumed=done))
    for index, frame in enumerate(frames_from(done, previous), start=done):
        store.save(index, frame)
        report(progress, FrameProgress(index + 1, total, resumed=done))
    with writer() as out:
        for index in range(total):
            out.write(store.load(index))
        path = out.commit()
    if not keep_frames:
        store.remove()
    return MotionResult(path, settings, total, done, notices)


# what an encoded frame takes in the output, against its kept PNG: H.264 and GIF are small, a
# folder output is PNGs again
_OUTPUT_SHARE = {"video": 0.1, "gif": 0.4, "folder": 1.0}


def check_store_space(store: FrameStore, output, settings: dict, total: int, done: int) -> None:
    """The frames still to dream are kept as PNGs in the work folder until the output is
    written: both must fit. A run refused before any frame leaves no work folder."""
    width, height = settings["size"]
    frame = image_bytes(width, height, ".png")
    need = int((total - done) * frame + total * frame * _OUTPUT_SHARE[output_kind(output)])

    def fits(share: float) -> str:
        frames = max(1, int(total * share))
        if settings.get("kind") == "video":
            return f"about {frames} frames would fit: a shorter --start/--end range, or a smaller --max-size"
        return f"try --frames {frames} or a smaller --max-size"

    try:
        check_space(store.dir, need, f"the {total - done} frames to dream and the output", fits)
    except OutputError:
        if not done:
            store.remove()  # refused before any frame: no work folder left to resume
        raise


def render_zoom(
    config: DreamConfig,
    zoom: ZoomConfig,
    source: str | os.PathLike | Image.Image | None = None,
    output: str | os.PathLike | None = None,
    *,
    model: DreamModel | None = None,
    progress: ProgressCallback | None = None,
    force: bool = False,
    resume: bool = False,
    keep_frames: bool = False,
) -> MotionResult | Iterator[Image.Image]:
    """The zoom feedback loop from configs; see `deepdreamer.zoom` for the keyword call."""
    if zoom.init == "image" and source is None:
        raise ConfigError("the zoom needs an input image, or init 'noise'")
    if zoom.init == "noise" and source is not None:
        raise ConfigError("give an input image or init 'noise', not both")
    protect = [source] if isinstance(source, (str, os.PathLike)) else []
    if output is not None:
        check_video_output(output, force=force, protect=protect)
    if zoom.steps_per_frame is not None:
        config = replace(config, steps=zoom.steps_per_frame)
    seed = _seed(config, output, resume)
    if zoom.init == "image":
        start = np.asarray(load_image(source, max_size=config.max_size).rgb)
        reference = ColourStats.of(start)
        origin = os.path.abspath(source) if protect else "<image>"
    else:
        w, h = zoom.size
        noise = np.random.default_rng(seed).uniform(0.45, 0.55, size=(h, w, 3))
        start = to_uint8(noise)
        reference = NATURAL_STATS
        origin = "noise"
    # after the start is known: `--channels top:K` ranks channels on it
    base = prepare_dream(config, model, image=to_tensor(Image.fromarray(start)))
    dreams = [
        prepare_dream(replace(config, objective=spec, layers=()), base.net) for spec in zoom.cycle
    ] or [base]
    size = [int(start.shape[1]), int(start.shape[0])]
    settings = base.settings(seed, kind="zoom", zoom=zoom.to_dict(), source=origin, size=size)

    def frames_from(first: int, previous: np.ndarray | None) -> Iterator[np.ndarray]:
        return zoom_loop(dreams, zoom, start, reference, seed, first, previous, progress)

    if output is None:
        return _as_pil(frames_from(0, None), zoom.frames, progress)
    notices: list[str] = []
    return _render(
        output, settings, zoom.frames, resume, force, keep_frames, frames_from,
        lambda: FrameWriter(output, zoom.fps, force=force, protect=protect, metadata=settings),
        progress, notices,
    )


def frame_range(clip: VideoSource, video: VideoConfig) -> tuple[int, int]:
    """The first frame to render and the one after the last, from --start/--end."""
    start = video.start.to_frame(clip.fps) if video.start else 0
    end = min(video.end.to_frame(clip.fps), clip.frame_count) if video.end else clip.frame_count
    if start >= end:
        raise ConfigError(
            f"nothing to render: the range starts at frame {start} and ends at frame {end} "
            f"of {clip.frame_count}"
        )
    return start, end


def soundtrack(clip: VideoSource, output, start: int, end: int, progress: ProgressCallback | None,
               notices: list[str]) -> AudioClip | None:
    """The source's sound over the range, for a video output; an output that cannot carry
    sound gets a notice instead."""
    if not clip.has_audio:
        return None
    if output_kind(output) == "video":
        return AudioClip(clip.path, float(start / clip.fps), float(end / clip.fps))
    notices.append(f"{output_kind(output)} output has no sound: the audio track is left out")
    report(progress, Notice(notices[-1]))
    return None


def render_video(
    config: DreamConfig,
    video: VideoConfig,
    source: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    model: DreamModel | None = None,
    progress: ProgressCallback | None = None,
    force: bool = False,
    resume: bool = False,
    keep_frames: bool = False,
) -> MotionResult | Iterator[Image.Image]:
    """A video dreamed frame by frame with optical-flow coherence, from configs; see
    `deepdreamer.dream_video` for the keyword call."""
    if output is not None:
        check_video_output(output, force=force, protect=[source])
    clip = VideoSource(source, max_size=config.max_size)
    start, end = frame_range(clip, video)
    prepared = prepare_dream(config, model)
    seed = _seed(config, output, resume)
    settings = prepared.settings(
        seed, kind="video", video=video.to_dict(), source=os.path.abspath(source),
        source_frames=clip.frame_count, fps=str(clip.fps), size=list(clip.size),
        frame_range=[start, end],
    )

    def frames_from(first: int, previous: np.ndarray | None) -> Iterator[np.ndarray]:
        # resuming: decode from the frame before, as the flow needs it as the previous source
        sources = clip.frames(start + first - 1 if previous is not None else start + first, end)
        before = None
        if previous is not None:
            before = (next(sources), previous)
        return video_loop(prepared, video.flow_blend, sources, seed, start + first, before, progress)

    if output is None:
        return _as_pil(frames_from(0, None), end - start, progress)
    notices: list[str] = []
    audio = soundtrack(clip, output, start, end, progress, notices)
    return _render(
        output, settings, end - start, resume, force, keep_frames, frames_from,
        lambda: FrameWriter(output, clip.fps, audio=audio, force=force, protect=[source], metadata=settings),
        progress, notices,
    )
