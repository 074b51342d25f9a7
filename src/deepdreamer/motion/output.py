"""Writing frames out: an MP4/MOV/MKV video (H.264 where the build has it), a GIF, or a folder of
numbered PNGs. Always through a temporary file or folder that replaces the target only when
complete (io.atomic), so a failure or an interruption never leaves a partial output. PyAV
only: no ffmpeg command line is ever built."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from PIL import Image

from ..errors import OutputError
from ..io.atomic import AtomicTarget, write_failed
from ..io.outputs import check_output_target, refuse_directory

__all__ = ["AudioClip", "FrameWriter", "check_video_output", "output_kind", "VIDEO_SUFFIXES"]

_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
VIDEO_SUFFIXES = (*_CONTAINERS, ".gif")
_VIDEO_CODECS = ("libx264", "libopenh264", "mpeg4")  # first one this PyAV build can encode
_FRAME_NAME = "frame_{:06d}.png"


@dataclass(frozen=True)
class AudioClip:
    """The audio to carry over: `path`'s first audio stream from `start` to `end` seconds."""

    path: str
    start: float = 0.0
    end: float | None = None


def output_kind(path: str | os.PathLike) -> str:
    """'video', 'gif' or 'folder' (a path without a suffix, or ending in a slash)."""
    text = os.fspath(path)
    p = pathlib.Path(text)
    suffix = p.suffix.lower()
    if text.endswith(("/", os.sep)) or not suffix:
        return "folder"
    if suffix == ".gif":
        return "gif"
    if suffix in _CONTAINERS:
        return "video"
    raise OutputError(
        f"cannot write {text}: unsupported suffix {suffix!r}; use {', '.join(VIDEO_SUFFIXES)} "
        "or a folder name (numbered PNG frames)"
    )


def check_video_output(
    path: str | os.PathLike, force: bool = False, protect: Iterable[str | os.PathLike] = ()
) -> tuple[pathlib.Path, str]:
    """Raise OutputError unless `path` can be written; called before a long run starts. An
    input is never overwritten, --force or not (a video is read while its dream is written)."""
    kind = output_kind(path)
    replaceable = _refuse_unless_frames if kind == "folder" else refuse_directory
    return check_output_target(path, force, protect, replaceable=replaceable), kind


def _refuse_unless_frames(p: pathlib.Path) -> None:
    """--force replaces a folder only if it holds nothing but PNG frames, never someone's files."""
    if not p.is_dir() or any(not (c.is_file() and c.suffix.lower() == ".png") for c in p.iterdir()):
        raise OutputError(f"refusing to replace {p}: it is not a folder of PNG frames")


def _video_codec() -> str:
    for name in _VIDEO_CODECS:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # not in this build
            continue
    raise OutputError("this PyAV build has no video encoder (libx264, libopenh264 or mpeg4)")


class FrameWriter:
    """Write (H, W, 3) uint8 frames to `path`; `commit()` puts the output in place, `abort()`
    (or leaving the `with` block with an exception) removes every trace of it."""

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float | Fraction,
        audio: AudioClip | None = None,
        force: bool = False,
        protect: Iterable[str | os.PathLike] = (),
        metadata: dict | None = None,
    ) -> None:
        self.metadata = metadata  # the run's settings, kept in a video's comment tag
        self.path, self.kind = check_video_output(path, force, protect)
        self.fps = Fraction(fps).limit_denominator(1001 * 1000)
        self.audio = audio if self.kind == "video" else None
        self.count = 0
        self._size: tuple[int, int] | None = None
        self._target = AtomicTarget(self.path, directory=self.kind == "folder")
        self._tmp = str(self._target.tmp)  # PIL and PyAV write here
        self._container = None
        self._gif_frames: list[Image.Image] = []
        self._audio_packets: Iterator | None = None
        self._pending_audio = None

    # -- writing -------------------------------------------------------------------------------
    def write(self, frame: np.ndarray) -> None:
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 frame, got {frame.dtype} {frame.shape}")
        h, w = frame.shape[:2]
        if self._size is None:
            self._size = (w, h)
        elif self._size != (w, h):
            raise ValueError(f"frame {self.count} is {w}x{h}, the first was {self._size[0]}x{self._size[1]}")
        try:
            if self.kind == "folder":
                Image.fromarray(frame).save(os.path.join(self._tmp, _FRAME_NAME.format(self.count + 1)))
            elif self.kind == "gif":
                self._gif_frames.append(Image.fromarray(frame))
            else:
                self._write_video(frame)
        except OSError as e:
            self.abort()
            raise write_failed(self.path, e) from None
        self.count += 1

    def _open_video(self, w: int, h: int) -> None:
        container = av.open(self._tmp, "w", format=_CONTAINERS[self.path.suffix.lower()])
        self._container = container
        if self.metadata is not None:
            container.metadata["comment"] = json.dumps(self.metadata, sort_keys=True)
        stream = container.add_stream(_video_codec(), rate=self.fps)
        # 4:2:0 needs even sizes; an odd last row/column is dropped rather than the frame scaled
        stream.width, stream.height = w - w % 2, h - h % 2
        stream.pix_fmt = "yuv420p"
        if stream.codec_context.name == "libx264":
            stream.options = {"crf": "18", "preset": "medium"}
        else:
            stream.bit_rate = max(1_000_000, w * h * 8)
        self._video = stream
        if self.audio is not None:
            self._audio_packets = _audio_packets(self.audio, container)

    def _write_video(self, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        if self._container is None:
            self._open_video(w, h)
        frame = frame[: h - h % 2, : w - w % 2]
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        vf.pts = self.count
        vf.time_base = 1 / self.fps
        for packet in self._video.encode(vf):
            self._container.mux(packet)
        self._mux_audio_until((self.count + 1) / self.fps)

    def _mux_audio_until(self, seconds: float | None) -> None:
        """Interleave: mux the audio up to the video written so far (all of it when None)."""
        if self._audio_packets is None:
            return
        while True:
            if self._pending_audio is None:
                self._pending_audio = next(self._audio_packets, None)
                if self._pending_audio is None:
                    return
            time, packet = self._pending_audio
            if seconds is not None and time > seconds:
                return
            self._container.mux(packet)
            self._pending_audio = None

    # -- finishing -----------------------------------------------------------------------------
    def commit(self) -> pathlib.Path:
        """Finish the file and move it into place atomically (mode 0644, like any output)."""
        if self.count == 0:
            self.abort()
            raise OutputError(f"cannot write {self.path}: no frames to write")
        try:
            if self.kind == "video":
                for packet in self._video.encode(None):
                    self._container.mux(packet)
                self._mux_audio_until(float(self.count / self.fps))
                self._container.close()
                self._container = None
            elif self.kind == "gif":
                first, *rest = self._gif_frames
                duration = max(20, round(1000 / float(self.fps)))  # browsers treat < 20 ms as 100
                first.save(self._tmp, format="GIF", save_all=True, append_images=rest,
                           duration=duration, loop=0)
                self._gif_frames = []
            self._target.commit()  # an existing folder was checked to hold only frames (--force)
        except BaseException as e:
            self.abort()
            if isinstance(e, (OSError, av.error.FFmpegError, ValueError)):
                raise write_failed(self.path, e) from None
            raise
        return self.path

    def abort(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # the file is being thrown away anyway
                pass
            self._container = None
        self._gif_frames = []
        self._target.abort()

    def __enter__(self) -> "FrameWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def _audio_packets(clip: AudioClip, container) -> Iterator | None:
    """Encoded AAC packets (with their time in seconds) of the clip's audio, re-encoded so any
    source codec fits any container and the clip can start mid-stream. None without audio."""
    source = av.open(clip.path)
    if not source.streams.audio:
        source.close()
        return None
    ain = source.streams.audio[0]
    rate = ain.codec_context.sample_rate or 44100
    layout = ain.codec_context.layout.name if ain.codec_context.layout else "stereo"
    if ain.codec_context.channels and ain.codec_context.channels > 2:
        layout = "stereo"  # AAC here takes mono or stereo; more channels are mixed down
    out = container.add_stream("aac", rate=rate)
    out.layout = layout
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    return _encode_audio(source, ain, out, resampler, clip, rate)


def _encode_audio(source, ain, out, resampler, clip: AudioClip, rate: int) -> Iterator:
    written = 0

    def encode(frame):  # resample (None flushes the resampler), stamp in samples, encode
        nonlocal written
        for rf in resampler.resample(frame):
            rf.pts, rf.time_base = written, Fraction(1, rate)
            written += rf.samples
            for packet in out.encode(rf):
                yield _packet_time(packet), packet

    try:
        for frame in source.decode(ain):
            t = frame.time
            if t is not None:
                duration = frame.samples / (frame.sample_rate or rate)
                if t + duration <= clip.start:
                    continue
                if clip.end is not None and t >= clip.end:
                    break
            yield from encode(frame)
        yield from encode(None)
        for packet in out.encode(None):
            yield _packet_time(packet), packet
    except av.error.FFmpegError:
        return  # damaged audio ends the soundtrack early; the video is what was asked for
    finally:
        source.close()


def _packet_time(packet) -> float:
    if packet.pts is None or packet.time_base is None:
        return 0.0
    return float(packet.pts * packet.time_base)
