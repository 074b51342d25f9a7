"""SIGKILL at several moments of a zoom and a video run, then `--resume`: the output equals an
uninterrupted run's. (The batch's kill-and-rerun test is in tests/batch.)

Outputs here are folders of numbered PNG frames, which can be compared byte for byte: an MP4's
bytes differ between two uninterrupted runs from the very same frames (libx264 is not
reproducible from run to run here), so a video output is compared by its frames elsewhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.motion.videos import make_video

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "examples" / "chelsea.jpg"
CHEAP = ["--max-size", "96", "--octaves", "1", "--steps", "6", "--seed", "4", "-q"]
FRAMES = 6
DEADLINE = 120.0


def command(kind: str, source: Path, out: Path, *extra: str) -> list[str]:
    args = [sys.executable, "-m", "deepdreamer", kind, str(source), "-o", f"{out}/", *CHEAP, *extra]
    return args + (["--frames", str(FRAMES)] if kind == "zoom" else [])


def start(args: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kept(out: Path) -> int:
    frames = Path(f"{out}.frames")
    return len(list(frames.glob("*.png"))) if frames.is_dir() else 0


def pngs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("clip") / "clip.mp4", frames=FRAMES, audio=False)


@pytest.mark.parametrize("kind", ["zoom", "video"])
def test_killed_at_several_moments_then_resumed_gives_the_uninterrupted_frames(kind, clip, tmp_path):
    source = PHOTO if kind == "zoom" else clip
    whole = tmp_path / "whole"
    assert start(command(kind, source, whole)).wait(DEADLINE) == 0
    expected = pngs(whole)
    assert len(expected) == FRAMES

    for after in (0, 2, FRAMES - 1):  # killed in the first frame, after two, before the last
        out = tmp_path / f"killed-after-{after}"
        proc = start(command(kind, source, out))
        deadline = time.monotonic() + DEADLINE
        while kept(out) < after and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, f"the run ended before {after} frames were kept"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert not out.exists() or not pngs(out), "an output appeared from a killed run"
        assert not list(Path(f"{out}.frames").glob("*.tmp")), "a partial frame was left"
        resumed = start(command(kind, source, out, "--resume"))
        assert resumed.wait(DEADLINE) == 0, resumed.stderr.read()
        assert pngs(out) == expected, f"killed after {after} frames: the resumed output differs"
