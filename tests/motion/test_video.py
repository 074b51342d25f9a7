"""Video in, video out: what is preserved, coherence by optical flow (measured), resume, and
unreadable inputs. The videos are built here (tests/motion/videos.py): a textured square moving
(2, 1) px per frame over a textured background, 24 frames at 24 fps, 96x64, with a 440 Hz tone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import deepdreamer as dd
from deepdreamer.cli import cli
from deepdreamer.errors import ConfigError, DreamCancelled, InputVideoError
from deepdreamer.motion import FrameProgress
from deepdreamer.motion.flow import FlowEstimator

from .videos import (
    FPS, FRAMES, H, SQUARE, VELOCITY, W, audio_seconds, compensated_difference, make_frame,
    make_video, read_video, square_position,
)

CHEAP = dict(layers="blocks.3", octaves=1, steps=2, seed=0)
# strong enough to paint patterns (not pixel noise) on 96x64: what flicker is about
PATTERNS = dict(layers="blocks.3", octaves=2, steps=6, step_size=0.02, seed=0)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    return {
        "moving": make_video(d / "moving.mp4"),
        "static": make_video(d / "static.mp4", velocity=(0, 0), audio=False),
        "no_video": make_video(d / "tone.mp4", video=False),
        "zero_frames": make_video(d / "empty.mkv", frames=0),
    }


def frames_of(video, lite0, **settings) -> list[np.ndarray]:
    return [np.asarray(f) for f in dd.dream_video(video, None, lite0, **settings)]


def test_frame_rate_count_size_and_audio_are_kept(videos, lite0, tmp_path):
    out = tmp_path / "dreamed.mp4"
    result = dd.dream_video(videos["moving"], out, lite0, **CHEAP)
    frames, rate, has_audio = read_video(out)
    assert result.frames == FRAMES and len(frames) == FRAMES
    assert rate == FPS
    assert frames[0].shape == (H, W, 3)
    assert has_audio and audio_seconds(out) == pytest.approx(FRAMES / FPS, abs=0.05)
    source = read_video(videos["moving"])[0]
    assert np.abs(frames[5].astype(float) - source[5]).mean() > 3  # it was dreamed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dreamed.mp4"]


def test_start_and_end_render_part_of_the_video(videos, lite0, tmp_path):
    out = tmp_path / "part.mp4"
    dd.dream_video(videos["moving"], out, lite0, start="4f", end=0.5, **CHEAP)  # frames 4..11
    frames, rate, has_audio = read_video(out)
    assert len(frames) == 8 and rate == FPS and has_audio
    assert audio_seconds(out) == pytest.approx(8 / FPS, abs=0.05)
    # the part shows frames 4..11: the square where it was in frame 4, not frame 0
    x, y = square_position(4)
    inside = frames[0][y + 8 : y + SQUARE - 8, x + 8 : x + SQUARE - 8].astype(float)
    truth = make_frame(4)[y + 8 : y + SQUARE - 8, x + 8 : x + SQUARE - 8]
    first = make_frame(0)[y + 8 : y + SQUARE - 8, x + 8 : x + SQUARE - 8]
    assert np.abs(inside - truth).mean() < np.abs(inside - first).mean()


def test_an_empty_range_is_one_clear_error(videos, lite0):
    with pytest.raises(ConfigError, match="nothing to render"):
        dd.dream_video(videos["moving"], None, lite0, start="30f", **CHEAP)


def test_gif_output_says_the_sound_is_left_out(videos, lite0, tmp_path):
    events = []
    result = dd.dream_video(videos["moving"], tmp_path / "d.gif", lite0, end="3f",
                            progress=events.append, **CHEAP)
    assert any("no sound" in n for n in result.notices)
    with Image.open(tmp_path / "d.gif") as gif:
        assert gif.n_frames == 3


def test_optical_flow_finds_the_motion_and_distrusts_a_cut():
    flow = FlowEstimator()
    back, mask = flow.backward(make_frame(3), make_frame(4))
    x, y = square_position(4)
    inside = (slice(y + 6, y + SQUARE - 6), slice(x + 6, x + SQUARE - 6))
    assert np.allclose(back[inside].reshape(-1, 2).mean(0), [-VELOCITY[0], -VELOCITY[1]], atol=0.3)
    assert mask[inside].mean() > 0.9 and mask.mean() > 0.8
    cut = np.random.default_rng(0).integers(0, 256, make_frame(0).shape, dtype=np.uint8)
    _, cut_mask = flow.backward(make_frame(3), cut)
    assert cut_mask.mean() < 0.2
    flash = np.clip(make_frame(4).astype(int) + 60, 0, 255).astype(np.uint8)
    assert flow.backward(make_frame(3), flash)[1].mean() < 0.2


def test_flow_keeps_the_dream_moving_with_the_scene(videos, lite0):
    """Change between consecutive frames after undoing the known motion: the flow-carried dream
    changes far less than frames dreamed independently (which boil)."""
    source = read_video(videos["moving"])[0][:16]
    plain = frames_of(videos["moving"], lite0, flow_blend=0.0, end="16f", **PATTERNS)
    carried = frames_of(videos["moving"], lite0, flow_blend=0.5, end="16f", **PATTERNS)
    d_source = compensated_difference(source)
    d_plain, d_carried = compensated_difference(plain), compensated_difference(carried)
    print(f"coherence: source {d_source:.2f}, no flow {d_plain:.2f}, flow 0.5 {d_carried:.2f}, "
          f"ratio {d_carried / d_plain:.2f}")
    assert d_plain > 10 * max(d_source, 0.5)  # independent dreams do boil
    assert d_carried < 0.5 * d_plain
    # and the dream is still there: carrying did not wash it out
    strength = np.mean([np.abs(c.astype(float) - s).mean() for c, s in zip(carried[4:], source[4:])])
    assert strength > 10


def test_a_static_scene_gives_a_nearly_static_dream(videos, lite0):
    plain = frames_of(videos["static"], lite0, flow_blend=0.0, end="16f", **PATTERNS)
    carried = frames_of(videos["static"], lite0, flow_blend=0.8, end="16f", **PATTERNS)
    d_plain = compensated_difference(plain, velocity=(0, 0))
    d_carried = compensated_difference(carried, velocity=(0, 0))
    print(f"static: no flow {d_plain:.2f}, flow 0.8 {d_carried:.2f}")
    assert d_carried < 0.2 * d_plain


def test_an_interrupted_video_resumes_to_the_same_frames(videos, lite0, tmp_path):
    settings = dict(end="10f", flow_blend=0.5, **CHEAP)
    whole = tmp_path / "whole"
    dd.dream_video(videos["moving"], whole, lite0, **settings)

    def stop_after_four(event):
        return not (isinstance(event, FrameProgress) and event.frame == 4)

    out = tmp_path / "cut"
    with pytest.raises(DreamCancelled):
        dd.dream_video(videos["moving"], out, lite0, progress=stop_after_four, **settings)
    assert not out.exists() and len(list((tmp_path / "cut.frames").glob("*.png"))) == 4
    with pytest.raises(ConfigError, match="flow_blend|video"):
        dd.dream_video(videos["moving"], out, lite0, resume=True, **{**settings, "flow_blend": 0.6})
    result = dd.dream_video(videos["moving"], out, lite0, resume=True, **settings)
    assert result.resumed == 4 and result.frames == 10
    names = sorted(p.name for p in whole.iterdir())
    assert len(names) == 10
    for name in names:
        assert np.array_equal(np.asarray(Image.open(out / name)), np.asarray(Image.open(whole / name))), name


def test_resume_without_a_seed_reuses_the_recorded_one(videos, lite0, tmp_path):
    settings = dict(layers="blocks.3", octaves=1, steps=2, end="4f")
    out = tmp_path / "s.mp4"
    with pytest.raises(DreamCancelled):
        dd.dream_video(videos["moving"], out, lite0, progress=lambda e: not isinstance(e, FrameProgress) or e.frame < 2,
                       **settings)
    result = dd.dream_video(videos["moving"], out, lite0, resume=True, **settings)
    assert result.resumed == 2 and out.exists()


@pytest.mark.parametrize(
    "which, contains",
    [("no_video", "no video stream"), ("zero_frames", "no frames"), ("corrupt", "corrupt"),
     ("truncated", "corrupt"), ("missing", "no such file")],
)
def test_bad_videos_give_one_line_and_no_output(videos, tmp_path, which, contains):
    if which in ("corrupt", "truncated", "missing"):
        path = tmp_path / f"{which}.mp4"
        data = Path(videos["moving"]).read_bytes()
        if which == "corrupt":
            path.write_bytes(b"not a video at all " * 50)
        elif which == "truncated":
            path.write_bytes(data[: len(data) // 2])
    else:
        path = videos[which]
    out = tmp_path / "out" / "dreamed.mp4"
    out.parent.mkdir()
    result = CliRunner().invoke(cli, ["video", str(path), "-o", str(out), "--octaves", "1", "--steps", "1"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and contains in lines[0], lines
    assert "Traceback" not in result.output
    assert list(out.parent.iterdir()) == []  # no partial output, no work folder


def test_a_video_corrupt_midway_leaves_no_output(videos, lite0, tmp_path):
    """Damage inside the stream surfaces during the run: one clear error, no output file."""
    data = bytearray(Path(videos["moving"]).read_bytes())
    data[48:248] = bytes(200)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    out = tmp_path / "o.mp4"
    with pytest.raises(InputVideoError, match="corrupt"):
        dd.dream_video(bad, out, lite0, **CHEAP)
    assert not out.exists()
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
