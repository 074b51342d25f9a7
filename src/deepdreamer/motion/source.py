"""Reading a video with PyAV: frame rate, frame count, size, whether it has audio, and its
frames as (H, W, 3) uint8 arrays. Every unreadable input becomes a one-line InputVideoError."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from fractions import Fraction

import av
import cv2
import numpy as np

from ..errors import InputVideoError

__all__ = ["VideoSource"]


class VideoSource:
    """A video file's first video stream. `frames(start, end)` decodes [start, end)."""

    def __init__(self, path: str | os.PathLike, max_size: int = 0) -> None:
        self.path = os.fspath(path)
        p = pathlib.Path(self.path)
        if p.is_dir():
            raise InputVideoError(f"cannot read {self.path}: it is a directory, not a video file")
        if not p.exists():
            raise InputVideoError(f"cannot read {self.path}: no such file")
        try:
            container = av.open(self.path)
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
            raise InputVideoError(f"cannot read {self.path}: not a video file or corrupt ({_reason(e)})") from None
        with container:
            if not container.streams.video:
                raise InputVideoError(f"cannot read {self.path}: it has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            if not rate or rate <= 0:
                raise InputVideoError(f"cannot read {self.path}: the video has no frame rate")
            if stream.codec_context is None:  # a codec FFmpeg does not know (a damaged header, often)
                raise InputVideoError(f"cannot read {self.path}: its video codec is unknown (corrupt or unsupported)")
            self.fps = Fraction(rate)
            self.has_audio = bool(container.streams.audio)
            self.source_size = (stream.codec_context.width, stream.codec_context.height)
            # The header's count is often missing or wrong: count the packets, which is cheap.
            try:
                self.frame_count = sum(1 for pkt in container.demux(stream) if pkt.size)
            except av.error.FFmpegError as e:
                raise InputVideoError(f"cannot read {self.path}: the video is corrupt ({_reason(e)})") from None
        if self.frame_count == 0 or 0 in self.source_size:
            raise InputVideoError(f"cannot read {self.path}: the video has no frames")
        self.size = _fit(self.source_size, max_size)  # (w, h) of the frames handed out

    @property
    def duration(self) -> float:
        return float(self.frame_count / self.fps)

    def frames(self, start: int = 0, end: int | None = None) -> Iterator[np.ndarray]:
        """Decode frames start..end-1 (earlier frames are decoded and dropped: exact, simple)."""
        end = self.frame_count if end is None else end
        index = 0
        try:
            with av.open(self.path) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for frame in container.decode(stream):
                    if index >= end:
                        return
                    if index >= start:
                        yield self._resize(frame.to_ndarray(format="rgb24"))
                    index += 1
        except av.error.FFmpegError as e:
            raise InputVideoError(
                f"cannot read {self.path}: the video is corrupt at frame {index} ({_reason(e)})"
            ) from None
        if index == 0:
            raise InputVideoError(f"cannot read {self.path}: no frame could be decoded (corrupt video)")

    def _resize(self, frame: np.ndarray) -> np.ndarray:
        w, h = self.size
        if (frame.shape[1], frame.shape[0]) == (w, h):
            return frame
        return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)


def _fit(size: tuple[int, int], max_size: int) -> tuple[int, int]:
    w, h = size
    if max_size <= 0 or max(w, h) <= max_size:
        return w, h
    scale = max_size / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _reason(e: Exception) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return text.splitlines()[0] if text else type(e).__name__
