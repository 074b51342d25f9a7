"""The zoom loop's parts: the camera move, the colour lock, per-frame seeds, frame times."""

from __future__ import annotations

import numpy as np
import pytest

from deepdreamer.config import FrameTime, ZoomConfig, parse_frame_time
from deepdreamer.errors import ConfigError
from deepdreamer.motion.lock import ColourStats, lock_colours
from deepdreamer.motion.loops import objective_for_frame
from deepdreamer.motion.seeds import frame_seed
from deepdreamer.motion.transform import move_frame


def dot_frame(x: int, y: int, w: int = 65, h: int = 49) -> np.ndarray:
    f = np.zeros((h, w, 3), np.float32)
    f[y - 1 : y + 2, x - 1 : x + 2] = 1.0
    return f


def brightest(frame: np.ndarray) -> tuple[int, int]:
    """The dot's centre (brightness-weighted centroid), rounded to whole pixels."""
    w = frame[..., 0]
    ys, xs = np.mgrid[0 : w.shape[0], 0 : w.shape[1]]
    return round(float((xs * w).sum() / w.sum())), round(float((ys * w).sum() / w.sum()))


def test_no_move_is_the_identity():
    f = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    assert np.array_equal(move_frame(f), f)


def test_zoom_moves_points_away_from_the_centre():
    # centre (32, 24); a dot 10 px right of it lands 20 px right at zoom 2
    out = move_frame(dot_frame(42, 24), zoom=2.0)
    assert brightest(out) == (52, 24)


def test_rotate_turns_counter_clockwise():
    out = move_frame(dot_frame(42, 24), rotate=90.0)  # right of centre -> above it
    assert brightest(out) == (32, 14)


def test_pan_shifts_by_pixels():
    out = move_frame(dot_frame(20, 20), pan=(5.0, -3.0))
    assert brightest(out) == (25, 17)


def test_edges_coming_into_view_are_not_black():
    f = np.full((40, 60, 3), 0.6, np.float32)
    out = move_frame(f, zoom=0.8, rotate=10.0, pan=(4.0, 4.0))
    assert out.min() > 0.55


def test_colour_lock_sets_each_channels_mean_and_spread():
    rng = np.random.default_rng(0)
    reference = ColourStats((0.3, 0.5, 0.7), (0.1, 0.05, 0.15))
    frame = rng.random((50, 70, 3)).astype(np.float32) * 0.4  # dark and flat
    locked = lock_colours(frame, reference)
    got = ColourStats.of(locked)
    assert np.allclose(got.mean, reference.mean, atol=0.01)
    assert np.allclose(got.std, reference.std, atol=0.01)
    assert locked.min() >= 0.0 and locked.max() <= 1.0


def test_colour_lock_keeps_the_picture():
    """Only a per-channel affine change: the pattern (correlation with the input) stays."""
    rng = np.random.default_rng(1)
    frame = rng.random((30, 40, 3)).astype(np.float32)
    locked = lock_colours(frame * 0.5 + 0.4, ColourStats.of(frame))
    for c in range(3):
        assert np.corrcoef(locked[..., c].ravel(), frame[..., c].ravel())[0, 1] > 0.99


def test_frame_seeds_are_fixed_per_frame_and_differ_between_frames():
    seeds = [frame_seed(7, i) for i in range(50)]
    assert seeds == [frame_seed(7, i) for i in range(50)]
    assert len(set(seeds)) == 50
    assert frame_seed(8, 0) != frame_seed(7, 0)
    assert all(0 <= s < 2**31 for s in seeds)


def test_objectives_cycle_every_k_frames():
    dreams = ["a", "b", "c"]
    picked = [objective_for_frame(dreams, 2, i) for i in range(8)]
    assert picked == ["a", "a", "b", "b", "c", "c", "a", "a"]


@pytest.mark.parametrize(
    "text, expected, frame",
    [("2.5", FrameTime(2.5, "s"), 60), ("60f", FrameTime(60, "f"), 60), ("0", FrameTime(0.0), 0),
     ("3s", FrameTime(3.0), 72)],
)
def test_frame_times(text, expected, frame):
    t = parse_frame_time(text)
    assert t == expected
    assert t.to_frame(24) == frame


@pytest.mark.parametrize("text", ["abc", "-1", "2.5f", "nan"])
def test_bad_frame_times(text):
    with pytest.raises(ConfigError):
        parse_frame_time(text)


@pytest.mark.parametrize(
    "kwargs", [dict(frames=0), dict(zoom=0.0), dict(zoom=float("nan")), dict(fps=0), dict(init="x"),
               dict(cycle_every=0), dict(size=(8, 8))],
)
def test_zoom_config_checks(kwargs):
    with pytest.raises(ConfigError):
        ZoomConfig(**kwargs)
