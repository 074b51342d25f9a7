"""Properties of the dream engine on a real photo with the embedded weights, at a small size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import deepdreamer as dd
from deepdreamer.engine import Progress, evaluate_objective, plan_octaves, run_dream
from deepdreamer.errors import DreamCancelled
from deepdreamer.io import to_pil, to_tensor
from deepdreamer.objectives import layer_l2, weighted_layers

FAST = dict(octaves=2, octave_scale=1.4, steps=5, step_size=0.015, jitter=8)


def test_objective_rises_several_fold(lite0, sample_photo):
    objective = layer_l2("blocks.3")
    image = to_tensor(Image.open(sample_photo).convert("RGB").resize((300, 200)))
    before = evaluate_objective(lite0, objective, image)
    d = dd.DreamConfig()  # google/deepdream's defaults: 4 octaves x 10 steps
    out = run_dream(
        lite0, image, objective, seed=0, octaves=d.octaves, octave_scale=d.octave_scale,
        steps=d.steps, step_size=d.step_size, jitter=d.jitter,
    ).image
    after = evaluate_objective(lite0, objective, out)
    assert after > 2.5 * before, (before, after)  # measured 2.7x here


def test_output_keeps_size_and_range(lite0, photo):
    out = run_dream(lite0, photo, layer_l2("blocks.2"), seed=0, **FAST).image
    assert out.shape == photo.shape
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, photo)


def test_same_seed_same_output_other_seed_differs(lite0, photo):
    a = run_dream(lite0, photo, layer_l2("blocks.3"), seed=3, **FAST).image
    b = run_dream(lite0, photo, layer_l2("blocks.3"), seed=3, **FAST).image
    c = run_dream(lite0, photo, layer_l2("blocks.3"), seed=4, **FAST).image
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_different_layers_give_different_results(lite0, photo):
    a = run_dream(lite0, photo, layer_l2("blocks.1"), seed=0, **FAST).image
    b = run_dream(lite0, photo, layer_l2("blocks.5"), seed=0, **FAST).image
    assert (a - b).abs().mean() > 0.01


def test_weighted_layers_need_both_layers(lite0, photo):
    objective = weighted_layers([("blocks.2", 0.5), ("blocks.4", 1.0)])
    assert objective.layers == ("blocks.2", "blocks.4")
    out = run_dream(lite0, photo, objective, seed=0, **FAST).image
    assert evaluate_objective(lite0, objective, out) > evaluate_objective(lite0, objective, photo)


def _hook_count(model):
    # The loaded net and every fast (folded, fused, channels_last) copy built so far.
    return sum(len(m._forward_hooks) for net in model.cached_nets() for m in net.modules())


def test_hooks_removed_after_run_and_after_failure(lite0, photo):
    run_dream(lite0, photo, layer_l2("blocks.3"), seed=0, **FAST)
    assert _hook_count(lite0) == 0

    def cancel(event):
        return not (isinstance(event, Progress) and event.done == 2)

    with pytest.raises(DreamCancelled):
        run_dream(lite0, photo, layer_l2("blocks.3"), seed=0, progress=cancel, **FAST)
    assert _hook_count(lite0) == 0


def test_model_parameters_never_get_gradients(lite0, photo):
    run_dream(lite0, photo, layer_l2("blocks.3"), seed=0, **FAST)
    for net in (lite0.net, lite0.fast_net):
        assert all(p.grad is None and not p.requires_grad for p in net.parameters())


def test_forward_stops_after_deepest_layer(lite0, photo):
    called = []
    handle = lite0.fast_net.conv_head.register_forward_hook(lambda *a: called.append(1))
    try:
        run_dream(lite0, photo, layer_l2("blocks.3"), seed=0, **FAST)
    finally:
        handle.remove()
    assert called == []


def test_progress_reports_every_step(lite0, photo):
    events = []
    run_dream(lite0, photo, layer_l2("blocks.3"), seed=0, progress=events.append, **FAST)
    steps = [e for e in events if isinstance(e, Progress)]
    assert [e.done for e in steps] == list(range(1, 11))
    assert steps[-1].total == 10 and steps[-1].size == (160, 106)


def test_octaves_never_below_min_size():
    sizes, notice = plan_octaves(100, 60, octaves=4, scale=1.4, min_size=32)
    assert min(min(s) for s in sizes) >= 32
    assert sizes[-1] == (100, 60)
    assert len(sizes) == 2 and "using 2 octaves instead of 4" in notice
    sizes, notice = plan_octaves(1000, 800, octaves=4, scale=1.4, min_size=32)
    assert len(sizes) == 4 and notice is None


def test_api_dream_accepts_path_pil_and_tensor(lite0, sample_photo):
    """Each input comes back in its own form; the same 8-bit pixels dream the same."""
    kw = dict(octaves=1, steps=2, seed=0, max_size=64)
    from_path = dd.dream(sample_photo, lite0, "blocks.2", **kw)
    from_pil = dd.dream(Image.open(sample_photo), lite0, "blocks.2", **kw)
    small = Image.open(sample_photo).convert("RGB").resize((64, 43))
    tensor = to_tensor(small)
    from_tensor = dd.dream(tensor, lite0, {"blocks.2": 1.0}, **kw)
    from_chw = dd.dream(tensor[0], lite0, {"blocks.2": 1.0}, **kw)
    from_array = dd.dream(np.asarray(small), lite0, "blocks.2", **kw)
    assert from_path.size == from_pil.size == (64, 43)
    assert from_tensor.shape == (1, 3, 43, 64) and from_tensor.dtype == torch.float32
    assert from_chw.shape == (3, 43, 64) and torch.equal(from_chw, from_tensor[0])
    assert from_array.shape == (43, 64, 3) and from_array.dtype == np.uint8
    assert from_path.tobytes() == from_pil.tobytes()
    # the uint8 array reads as the same 8-bit image does; the float tensor is dreamed as given
    assert np.array_equal(from_array, np.asarray(dd.dream(small, lite0, "blocks.2", **kw)))
    assert np.array_equal(from_array, np.asarray(to_pil(from_tensor)))
    assert from_path.info["deepdreamer"]["seed"] == 0


def test_alpha_is_kept(lite0):
    rgba = Image.new("RGBA", (64, 48), (120, 80, 40, 255))
    rgba.putpixel((3, 3), (0, 0, 0, 0))
    out = dd.dream(rgba, lite0, "blocks.2", octaves=1, steps=1, seed=0)
    assert out.mode == "RGBA" and out.getpixel((3, 3))[3] == 0


def test_dream_toward_a_class_raises_its_logit(lite0, photo):
    from deepdreamer.objectives import parse_objective

    objective = parse_objective("class:goldfish", lite0.entry)
    before = evaluate_objective(lite0, objective, photo)
    out = run_dream(lite0, photo, objective, seed=0, **FAST).image
    assert evaluate_objective(lite0, objective, out) > before + 5


def test_the_gradient_strategy_is_chosen_once_per_octave(lite0, photo, monkeypatch):
    from deepdreamer.engine import dream as dream_module
    from deepdreamer.engine.controls import StepControls

    planned = []
    real = dream_module.plan_step
    monkeypatch.setattr(dream_module, "plan_step", lambda *a, **k: planned.append(real(*a, **k)) or planned[-1])

    def strategies(**kw):
        planned.clear()
        run_dream(lite0, photo, layer_l2("blocks.3"), seed=0, **dict(FAST, octaves=3, steps=3), **kw)
        return [p.strategy for p in planned]

    # 106x160 and its octaves are not 16k+1 px: the fast net's free 'SAME' padding needs an extension
    assert strategies() == ["extended"] * 3
    assert [p.extension for p in planned][-1] == ((1 - 106) % 16, (1 - 160) % 16)
    assert strategies(controls=StepControls(rotate=10.0)) == ["transformed"] * 3
    assert strategies(tile_size=128) == ["tiled"] * 3
    assert len(planned[-1].tiles) == 2  # 106x160 in 128 px cores
    assert strategies(controls=StepControls(rotate=10.0), tile_size=128) == ["tiled"] * 3
