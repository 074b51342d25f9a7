"""Tiny test videos built with PyAV: a textured square moving over a textured background, with an
optional audio tone; plus readers for what a run wrote."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

W, H, FPS, FRAMES = 96, 64, 24, 24
SQUARE = 28  # side of the moving square, px
VELOCITY = (2, 1)  # px per frame (x, y)


def _background() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    base = 0.5 + 0.2 * np.sin(x / 7.0) * np.cos(y / 5.0)
    rng = np.random.default_rng(1)
    tint = np.stack([base, 0.8 * base + 0.1, 0.6 * base + 0.2], axis=2)
    tint += rng.normal(0, 0.03, size=tint.shape).astype(np.float32)
    return np.clip(tint * 255, 0, 255).astype(np.uint8)


def _texture() -> np.ndarray:
    rng = np.random.default_rng(2)
    cells = rng.integers(0, 256, size=(SQUARE // 4, SQUARE // 4, 3), dtype=np.uint8)
    return np.kron(cells, np.ones((4, 4, 1), dtype=np.uint8))


def square_position(index: int, velocity=VELOCITY) -> tuple[int, int]:
    """Top-left (x, y) of the square in frame `index`."""
    return 20 + velocity[0] * index, 10 + velocity[1] * index


def make_frame(index: int, velocity=VELOCITY) -> np.ndarray:
    frame = _background().copy()
    x, y = square_position(index, velocity)
    frame[y : y + SQUARE, x : x + SQUARE] = _texture()
    return frame


def make_video(path: Path, frames: int = FRAMES, velocity=VELOCITY, audio: bool = True,
               fps: int = FPS, video: bool = True) -> Path:
    """An H.264 MP4 (nearly lossless) of `frames` frames and, with `audio`, a 440 Hz AAC tone."""
    with av.open(str(path), "w") as out:
        vs = None
        if video:
            vs = out.add_stream("libx264", rate=fps)
            vs.width, vs.height, vs.pix_fmt = W, H, "yuv444p"
            vs.options = {"crf": "4"}
        if audio:
            aus = out.add_stream("aac", rate=48000)
            aus.layout = "mono"
        for i in range(frames if video else 0):
            vf = av.VideoFrame.from_ndarray(make_frame(i, velocity), format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, fps)
            for p in vs.encode(vf):
                out.mux(p)
        if vs is not None:
            for p in vs.encode(None):
                out.mux(p)
        if audio:
            seconds = max(frames, 1) / fps
            n = int(48000 * seconds)
            t = np.arange(n) / 48000.0
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for k, start in enumerate(range(0, n, 1024)):
                chunk = tone[start : start + 1024][None, :]
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
                af.sample_rate, af.pts, af.time_base = 48000, start, Fraction(1, 48000)
                for p in aus.encode(af):
                    out.mux(p)
            for p in aus.encode(None):
                out.mux(p)
    return path


def read_video(path: Path) -> tuple[list[np.ndarray], Fraction, bool]:
    """Decoded RGB frames, the frame rate and whether there is an audio stream."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        rate = stream.average_rate
        has_audio = bool(c.streams.audio)
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(stream)]
    return frames, rate, has_audio


def audio_seconds(path: Path) -> float:
    with av.open(str(path)) as c:
        return sum(f.samples / f.sample_rate for f in c.decode(c.streams.audio[0]))


def compensated_difference(frames: list[np.ndarray], velocity=VELOCITY, margin: int = 3) -> float:
    """Mean absolute change (0-255) between consecutive frames after undoing the known motion:
    the square's interior is compared with where it was, the background with itself; a band
    around the square's edges (uncovered/covered pixels) is left out."""
    total, count = 0.0, 0
    for t in range(1, len(frames)):
        a, b = frames[t - 1].astype(np.float32), frames[t].astype(np.float32)
        (x0, y0), (x1, y1) = square_position(t - 1, velocity), square_position(t, velocity)
        inner = SQUARE - 2 * margin
        pa = a[y0 + margin : y0 + margin + inner, x0 + margin : x0 + margin + inner]
        pb = b[y1 + margin : y1 + margin + inner, x1 + margin : x1 + margin + inner]
        total += float(np.abs(pb - pa).sum())
        count += pa.size
        keep = np.ones(a.shape[:2], bool)
        for x, y in ((x0, y0), (x1, y1)):
            keep[max(0, y - margin) : y + SQUARE + margin, max(0, x - margin) : x + SQUARE + margin] = False
        keep[:margin], keep[-margin:], keep[:, :margin], keep[:, -margin:] = False, False, False, False
        total += float(np.abs(b - a)[keep].sum())
        count += int(keep.sum()) * 3
    return total / count
