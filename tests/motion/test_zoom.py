"""The zoom feedback loop end to end: outputs, generator, colour lock over many frames, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import deepdreamer as dd
from deepdreamer.errors import ConfigError, DreamCancelled, OutputError
from deepdreamer.motion import FrameProgress
from deepdreamer.motion.lock import brightness, saturation

from .videos import read_video

CHELSEA = Path(__file__).parents[2] / "examples" / "chelsea.jpg"
CHEAP = dict(octaves=1, steps=2, max_size=80, seed=3)  # chelsea -> 80x53


def test_zoom_yields_frames_without_an_output(lite0):
    frames = list(dd.zoom(CHELSEA, None, lite0, frames=3, **CHEAP))
    assert len(frames) == 3
    assert all(isinstance(f, Image.Image) and f.size == (80, 53) for f in frames)
    # each frame is a new dream, not the same picture again
    a, b = (np.asarray(f, np.float32) for f in frames[:2])
    assert np.abs(a - b).mean() > 1.0


def test_zoom_to_mp4_keeps_frame_count_rate_and_size(lite0, tmp_path):
    out = tmp_path / "zoom.mp4"
    result = dd.zoom(CHELSEA, out, lite0, frames=5, fps=12, **CHEAP)
    frames, rate, has_audio = read_video(out)
    assert result.path == out and result.frames == 5
    assert len(frames) == 5 and rate == 12 and not has_audio
    assert frames[0].shape == (52, 80, 3)  # H.264 4:2:0 needs even sides: the odd row is dropped
    assert (out.stat().st_mode & 0o777) == 0o644
    assert not (tmp_path / "zoom.mp4.frames").exists()  # the work folder is gone once written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zoom.mp4"]


def test_zoom_to_gif_and_to_a_folder_of_pngs(lite0, tmp_path):
    dd.zoom(CHELSEA, tmp_path / "z.gif", lite0, frames=3, **CHEAP)
    with Image.open(tmp_path / "z.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (80, 53)
    dd.zoom(CHELSEA, tmp_path / "frames", lite0, frames=3, **CHEAP)
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == ["frame_000001.png", "frame_000002.png", "frame_000003.png"]


def test_noise_start_needs_no_input(lite0):
    frames = list(dd.zoom(None, None, lite0, frames=2, init="noise", size=(64, 48), **CHEAP))
    assert [f.size for f in frames] == [(64, 48), (64, 48)]


def test_input_and_noise_do_not_go_together(lite0):
    with pytest.raises(ConfigError):
        dd.zoom(CHELSEA, None, lite0, init="noise", **CHEAP)
    with pytest.raises(ConfigError):
        dd.zoom(None, None, lite0, **CHEAP)


def _drift(lock: bool, lite0) -> tuple[float, float]:
    frames = [
        np.asarray(f)
        for f in dd.zoom(CHELSEA, None, lite0, "blocks.2", frames=40, zoom=1.1, step_size=0.05,
                         octaves=1, steps=2, max_size=64, seed=0, colour_lock=lock)
    ]
    b = [brightness(f) for f in frames]
    s = [saturation(f) for f in frames]
    return max(b) - min(b), (max(s) - min(s)) / s[0]


def test_colour_lock_holds_brightness_and_saturation_over_many_frames(lite0):
    """A strong, fast loop (big steps, low layer): without the lock it darkens and saturates
    (the old loops' failure); with it brightness and saturation stay where they started."""
    unlocked_brightness, unlocked_saturation = _drift(False, lite0)
    locked_brightness, locked_saturation = _drift(True, lite0)
    assert unlocked_brightness > 8.0 and unlocked_saturation > 0.3  # the problem is real here
    assert locked_brightness < 2.0, locked_brightness
    assert locked_saturation < 0.1, locked_saturation


def test_the_cycle_changes_the_objective(lite0):
    """Same seed and frames, two objectives cycled every frame: frame 1 differs from a run with
    the first objective only, frame 0 does not."""
    common = dict(frames=2, zoom=1.0, **CHEAP)
    cycled = [np.asarray(f) for f in dd.zoom(CHELSEA, None, lite0, cycle=("blocks.2", "blocks.4"), cycle_every=1, **common)]
    single = [np.asarray(f) for f in dd.zoom(CHELSEA, None, lite0, cycle=("blocks.2",), **common)]
    assert np.array_equal(cycled[0], single[0])
    assert np.abs(cycled[1].astype(float) - single[1]).mean() > 1.0


def test_cancelled_zoom_resumes_to_the_same_frames(lite0, tmp_path):
    """Cancel after 2 of 5 frames: no output, 2 frames kept; --resume finishes, and every frame
    equals an uninterrupted run's."""
    whole = tmp_path / "whole"
    dd.zoom(CHELSEA, whole, lite0, frames=5, zoom=1.08, rotate=2, **CHEAP)

    def stop_after_two(event):
        return not (isinstance(event, FrameProgress) and event.frame == 2)

    out = tmp_path / "cut"
    with pytest.raises(DreamCancelled):
        dd.zoom(CHELSEA, out, lite0, frames=5, zoom=1.08, rotate=2, progress=stop_after_two, **CHEAP)
    assert not out.exists()
    kept = sorted(p.name for p in (tmp_path / "cut.frames").glob("*.png"))
    assert kept == ["000000.png", "000001.png"]
    # without --resume the kept frames are not silently thrown away or reused
    with pytest.raises(OutputError, match="--resume"):
        dd.zoom(CHELSEA, out, lite0, frames=5, zoom=1.08, rotate=2, **CHEAP)
    # different settings cannot resume these frames
    with pytest.raises(ConfigError, match="zoom"):
        dd.zoom(CHELSEA, out, lite0, frames=5, zoom=1.09, rotate=2, resume=True, **CHEAP)
    events = []
    result = dd.zoom(CHELSEA, out, lite0, frames=5, zoom=1.08, rotate=2, resume=True,
                     progress=events.append, **CHEAP)
    assert result.resumed == 2
    assert [e.frame for e in events if isinstance(e, FrameProgress)] == [2, 3, 4, 5]
    for name in sorted(p.name for p in whole.iterdir()):
        assert np.array_equal(np.asarray(Image.open(out / name)), np.asarray(Image.open(whole / name))), name
    assert not (tmp_path / "cut.frames").exists()


def test_zoom_ranks_channels_on_its_start_and_video_asks_for_explicit_ones(lite0, tmp_path):
    """`top:K` is chosen on the zoom's start image (the K channels of highest mean activation
    there, as `deepdreamer activations` ranks them); a video has no single image to rank on."""
    from deepdreamer.io import load_image, to_tensor
    from deepdreamer.models import capture

    frames = list(dd.zoom(CHELSEA, None, lite0, "blocks.3", frames=2, channels="top:4", **CHEAP))
    assert len(frames) == 2 and frames[0].size == (80, 53)
    result = dd.zoom(CHELSEA, tmp_path / "z.gif", lite0, "blocks.3", frames=2, channels="top:4", **CHEAP)
    start = to_tensor(load_image(CHELSEA, max_size=CHEAP["max_size"]).rgb)
    with capture(lite0, ["blocks.3"], fast=True) as cap:
        means = cap.run(start)["blocks.3"][0].mean(dim=(1, 2))
    top = sorted(means.topk(4).indices.tolist())
    assert result.settings["channels_used"] == top
    assert result.settings["channels"] == "top:4"
    with pytest.raises(dd.DeepDreamerError, match="explicit channels"):
        dd.dream_video(CHELSEA, None, lite0, "blocks.3", channels="top:4")
