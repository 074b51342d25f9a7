"""Live mode's engine (motion/live.py): coherence on a still camera, as the video mode measures
it; steps per frame that hold a frame rate; settings changed between frames; flow estimated at
low resolution."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from deepdreamer.config import LiveConfig
from deepdreamer.errors import ConfigError, UnknownNameError
from deepdreamer.motion.flow import FlowEstimator
from deepdreamer.motion.live import LiveDreamer, StepBudget

from .videos import compensated_difference, make_frame

STEPS = dict(min_steps=3, max_steps=3)  # fixed steps: the tests do not depend on this machine's speed


@pytest.fixture(scope="module")
def still_camera(sample_photo):
    """12 frames of a camera on a tripod: the same view, with sensor noise (+-3 levels)."""
    with Image.open(sample_photo) as im:
        view = np.asarray(im.convert("RGB").resize((160, 120))).astype(int)
    rng = np.random.default_rng(0)
    return [np.clip(view + rng.integers(-3, 4, view.shape), 0, 255).astype(np.uint8) for _ in range(12)]


def dream_all(net, frames, **settings) -> list[np.ndarray]:
    dreamer = LiveDreamer(net, LiveConfig(**STEPS, **settings), seed=5)
    return [dreamer.dream(frame).image for frame in frames]


def test_a_still_camera_gives_a_nearly_still_dream_that_keeps_growing(lite0, still_camera):
    carried = dream_all(lite0, still_camera)
    plain = dream_all(lite0, still_camera, flow_blend=0.0)
    d_carried = compensated_difference(carried[4:], velocity=(0, 0))
    d_plain = compensated_difference(plain[4:], velocity=(0, 0))
    source = [f.astype(float) for f in still_camera]
    strength = [np.abs(d.astype(float) - s).mean() for d, s in zip(carried, source)]
    print(f"still camera: carried {d_carried:.2f}, afresh {d_plain:.2f}; strength by frame "
          f"{[round(x, 1) for x in strength]}")
    assert d_carried < 0.4 * d_plain
    # the dream is there and builds up over frames: each frame adds to what was carried
    assert strength[-1] > 1.3 * strength[0] and all(b > a for a, b in zip(strength[2:], strength[3:]))


def test_the_dream_moves_with_the_scene(lite0):
    frames = [make_frame(i) for i in range(10)]
    carried = dream_all(lite0, frames)
    plain = dream_all(lite0, frames, flow_blend=0.0)
    assert compensated_difference(carried[3:]) < 0.5 * compensated_difference(plain[3:])


def test_steps_per_frame_hold_the_frame_rate():
    budget = StepBudget(LiveConfig(fps=10, min_steps=1, max_steps=20))
    for _ in range(20):  # steps cost 10 ms, everything else 30 ms: 7 steps fill 100 ms
        steps = budget.steps
        budget.learn(steps, steps * 0.010, steps * 0.010 + 0.030)
    assert budget.steps == 7
    for _ in range(20):  # a bigger frame: steps cost 25 ms now
        steps = budget.steps
        budget.learn(steps, steps * 0.025, steps * 0.025 + 0.030)
    assert budget.steps == 2
    for _ in range(20):  # nothing fits: the floor
        budget.learn(budget.steps, budget.steps * 0.2, budget.steps * 0.2 + 0.3)
    assert budget.steps == 1
    fast = StepBudget(LiveConfig(fps=5, min_steps=1, max_steps=6))
    for _ in range(10):
        fast.learn(fast.steps, fast.steps * 0.001, fast.steps * 0.001 + 0.001)
    assert fast.steps == 6  # the ceiling


def test_the_budget_learns_from_real_frames(lite0, still_camera):
    """Measured on this machine: after a few frames the steps chosen fit the period asked for,
    by the dreamer's own account of what a step and the rest cost."""
    dreamer = LiveDreamer(lite0, LiveConfig(fps=4, min_steps=1, max_steps=30))
    for frame in still_camera:
        dreamer.dream(frame)
    budget = dreamer.budget
    planned = budget.steps * budget.step_cost + budget.other_cost
    assert planned <= 1 / 4 and planned + budget.step_cost > 1 / 4 or budget.steps in (1, 30), (
        budget.steps, budget.step_cost, budget.other_cost)


def test_settings_change_between_frames_and_a_bad_one_changes_nothing(lite0, still_camera):
    dreamer = LiveDreamer(lite0, LiveConfig(**STEPS))
    first = dreamer.dream(still_camera[0]).image
    dreamer.configure(lite0, LiveConfig(**STEPS, preset="deep"))
    assert dreamer.prepared.layers == (("blocks.4", 1.0),)
    dreamer.configure(lite0, LiveConfig(**STEPS, preset="deep", layer="blocks.2", strength=1.0))
    assert dreamer.prepared.layers == (("blocks.2", 1.0),) and dreamer.prepared.config.step_size == pytest.approx(0.04)
    with pytest.raises(UnknownNameError, match="blocks"):
        dreamer.configure(lite0, LiveConfig(**STEPS, layer="blocks.55"))
    assert dreamer.prepared.layers == (("blocks.2", 1.0),)  # unchanged
    with pytest.raises(ConfigError, match="strength"):
        LiveConfig(strength=2.0)
    # strength 0: no steps; what was dreamed so far is carried, not erased at once
    dreamer.configure(lite0, LiveConfig(**STEPS, strength=0.0))
    quiet = dreamer.dream(still_camera[1])
    assert quiet.steps == 0
    assert np.abs(quiet.image.astype(float) - still_camera[1]).mean() > 0.3 * np.abs(first.astype(float) - still_camera[0]).mean()


def test_flow_at_half_resolution_finds_the_motion(sample_photo):
    """A camera panning 4 px right and 2 down over the photo (320x240, as live frames are)."""
    with Image.open(sample_photo) as im:
        big = np.asarray(im.convert("RGB").resize((340, 260)))
    before, after = big[10:250, 10:330], big[8:248, 6:326]  # each pixel was 4 px left, 2 up
    back, mask = FlowEstimator(scale=0.5).backward(before, after)
    assert back.shape[:2] == after.shape[:2] == mask.shape
    inside = (slice(20, -20), slice(20, -20))
    assert np.allclose(np.median(back[inside].reshape(-1, 2), axis=0), [-4, -2], atol=0.3)
    assert mask[inside].mean() > 0.8
    cut = np.random.default_rng(0).integers(0, 256, after.shape, dtype=np.uint8)
    assert FlowEstimator(scale=0.5).backward(before, cut)[1].mean() < 0.2
    with pytest.raises(ValueError):
        FlowEstimator(scale=0.0)
