"""Tiled gradients compute what the whole-image gradient does, tiles cover every pixel once,
progress follows the tiles, and a dream that cannot fit says so before it starts."""

from __future__ import annotations

import re

import pytest
import torch
from PIL import Image

from deepdreamer.config import DreamConfig
from deepdreamer.engine import Progress, evaluate_objective, objective_gradient, run_dream
from deepdreamer.engine import memory
from deepdreamer.engine.tiling import DEFAULT_TILE, plan_tiles, tile_for, tile_margin, tiled_gradient
from deepdreamer.errors import ConfigError, InsufficientMemoryError
from deepdreamer.io import to_tensor
from deepdreamer.models import capture, load_model
from deepdreamer.objectives import channel, class_logit, direction, guide, layer_l2, neuron, selected_l2

FAST = dict(octaves=1, octave_scale=1.4, steps=2, step_size=0.015, jitter=8)


@pytest.fixture(scope="module")
def wide(sample_photo):
    """300x201: odd height and a width off the stride, the sizes where tiles go wrong."""
    return to_tensor(Image.open(sample_photo).convert("RGB").resize((300, 201)))


@pytest.mark.parametrize("height, width", [(201, 300), (1000, 130), (64, 64), (517, 1029)])
@pytest.mark.parametrize("stride", [4, 16, 32])
def test_tiles_cover_every_pixel_once_and_sit_on_the_grid(height, width, stride):
    for tile in (128, 200, 512):
        for _ in (1,):
            tiles = plan_tiles(height, width, tile, stride)
            cover = torch.zeros(height, width, dtype=torch.int32)
            for t in tiles:
                ct, cb, cl, cr = t.core
                y0, y1, x0, x1 = t.crop
                cover[ct:cb, cl:cr] += 1
                assert cb - ct <= max(tile, stride) and cr - cl <= max(tile, stride)
                assert y0 <= ct < cb <= y1 and x0 <= cl < cr <= x1  # the crop holds the core
                assert y0 % stride == 0 and x0 % stride == 0  # crops start on the layer grid
                # crop lengths match the image's modulo the stride ('SAME' padding parity)
                assert (y1 - y0) % stride == height % stride
                assert (x1 - x0) % stride == width % stride
                margin = tile_margin(stride)
                assert ct - y0 == min(ct, margin) and cl - x0 == min(cl, margin)
                assert y1 - cb >= min(height - cb, margin) and x1 - cr >= min(width - cr, margin)
            assert bool((cover == 1).all()), (tile, stride)


def test_tiles_are_balanced():
    tiles = plan_tiles(1000, 1000, 256, 16)  # 4 x 4 cores of 256 px (the last 232), not 5 x 5
    assert len(tiles) == 16
    assert {t.core[1] - t.core[0] for t in tiles} == {256, 232}


def _tiled_error(model, objective, image, stride):
    tiles = plan_tiles(*image.shape[-2:], 128, stride)
    assert len(tiles) >= 2  # the image really is cut
    with capture(model, objective.layers, fast=True) as cap:
        whole, value = objective_gradient(cap, objective, image)
        tiled, tiled_value = tiled_gradient(cap, objective, image, tiles)
    return float((tiled - whole).norm() / whole.norm()), value, tiled_value


def _guide_features(model, layer):
    from skimage import data

    coffee = to_tensor(Image.fromarray(data.coffee()).resize((200, 150)))
    with capture(model, [layer], fast=True) as cap, torch.no_grad():
        return cap.run(coffee)[layer]


OBJECTIVES = {  # the tileable objectives: a mean over positions of something each position computes
    "l2 blocks.2": lambda m: layer_l2("blocks.2"),
    "l2 blocks.3": lambda m: layer_l2("blocks.3"),
    "channel": lambda m: channel("blocks.3", 5),
    "direction": lambda m: direction("blocks.3", torch.linspace(-1, 1, 80)),
    "guide": lambda m: guide("blocks.3", _guide_features(m, "blocks.3")),
    "selected channels": lambda m: selected_l2("blocks.3", (1, 5, 9, 40)),
    "sum": lambda m: 0.5 * layer_l2("blocks.2") - channel("blocks.3", 7),
}


@pytest.mark.parametrize("name", OBJECTIVES)
def test_tiled_and_untiled_gradients_agree(lite0, wide, name):
    objective = OBJECTIVES[name](lite0)
    err, value, tiled_value = _tiled_error(lite0, objective, wide, 16)
    assert err < 0.02, err  # measured 1e-6 to 0.3%
    if name.startswith("l2") or name in ("guide", "selected channels"):
        # the reported value is the crops' means weighted by their cores (margins included):
        # close for positive objectives, loose for ones near zero (direction: -1.03 vs -0.36)
        assert tiled_value == pytest.approx(value, rel=0.1)


@pytest.mark.parametrize("name, layer", [("resnet50", "layer2"), ("vgg16", "features.15")])
def test_tiled_and_untiled_gradients_agree_on_a_torchvision_net(wide, name, layer):
    model = load_model(name, pretrained=False)  # random weights: the geometry is what counts
    err, value, tiled_value = _tiled_error(model, layer_l2(layer), wide, model.entry.layer(layer).stride)
    assert err < 0.02, err  # measured 0.03% (resnet50 layer2), 1% (vgg16 features.15)
    assert tiled_value == pytest.approx(value, rel=0.1)


@pytest.mark.parametrize("shift", [(0, 0), (37, 250), (-5, -299), (200, 1)])
def test_wrapped_tiles_give_the_gradient_of_the_rolled_image(lite0, wide, shift):
    """A tiled step reads its crops from the unrolled image, wrapping around; that must be
    exactly the tiled gradient of a rolled copy, rolled back (what the step did before)."""
    objective = layer_l2("blocks.2")
    tiles = plan_tiles(*wide.shape[-2:], 128, 8)
    rolled = torch.roll(wide, shifts=shift, dims=(2, 3))
    with capture(lite0, objective.layers, fast=True) as cap:
        expected, value = tiled_gradient(cap, objective, rolled, tiles)
        wrapped, wrapped_value = tiled_gradient(cap, objective, wide, tiles, shift=shift)
    expected = torch.roll(expected, shifts=(-shift[0], -shift[1]), dims=(2, 3))
    assert torch.allclose(wrapped, expected, atol=1e-6 * float(expected.abs().max()))
    assert wrapped_value == pytest.approx(value, rel=1e-6)


def test_a_tiled_step_updates_the_image_in_place(lite0, wide):
    import random

    from deepdreamer.engine import plan_step

    objective = layer_l2("blocks.2")
    image = wide.clone()
    with capture(lite0, objective.layers, fast=True) as cap:
        step = plan_step(cap, objective, tuple(image.shape[-2:]), step_size=0.015, jitter=8,
                         tile=128, stride=8)
        assert step.strategy == "tiled" and len(step.tiles) > 1
        out, _ = step(image, random.Random(0))
    assert out is image and not torch.equal(out, wide)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_tiled_dream_reports_tiles_and_raises_objective(lite0, wide):
    events = []
    objective = layer_l2("blocks.2")
    out = run_dream(lite0, wide, objective, seed=0, tile_size=128, progress=events.append, **FAST)
    assert out.image.shape == wide.shape
    steps = [e for e in events if isinstance(e, Progress) and e.tile == e.tiles]
    assert [e.done for e in steps] == [1, 2]
    mid = [e for e in events if isinstance(e, Progress) and e.tile < e.tiles]
    assert mid and all(e.tiles >= 4 for e in mid)
    first = [e.tile for e in events if e.step == 1]
    assert first == list(range(1, first[-1] + 1))  # tile 1, 2, ... n, then the step ends
    assert evaluate_objective(lite0, objective, out.image) > evaluate_objective(lite0, objective, wide)


def test_untiled_dream_reports_one_tile_per_step(lite0, photo):
    events = []
    run_dream(lite0, photo, layer_l2("blocks.2"), seed=0, progress=events.append, **FAST)
    assert [(e.tile, e.tiles) for e in events] == [(1, 1), (1, 1)]


def test_which_objectives_tile(lite0):
    assert layer_l2("blocks.3").tileable and channel("blocks.3", 1).tileable
    assert direction("blocks.3", [1.0] * 80).tileable
    assert (0.5 * layer_l2("blocks.3") - channel("blocks.2", 3)).renamed("x").tileable
    assert not neuron("blocks.3", 1).tileable
    assert not class_logit(lite0, "goldfish").tileable
    assert not (layer_l2("blocks.3") + class_logit(lite0, 1)).tileable


def test_tile_size_choice(lite0):
    l2, cls = layer_l2("blocks.3"), class_logit(lite0, 1)
    assert tile_for(None, 1600, 1600, l2) == 0  # auto: not above 1600x1600
    assert tile_for(None, 1601, 1600, l2) == DEFAULT_TILE == 768
    assert tile_for(None, 4000, 4000, cls) == 0  # auto leaves a whole-image objective whole
    assert tile_for(0, 4000, 4000, l2) == 0
    assert tile_for(300, 200, 200, l2) == 300
    with pytest.raises(ConfigError, match="cannot be tiled"):
        tile_for(300, 200, 200, cls)


def test_tile_size_is_validated():
    assert DreamConfig().tile_size is None
    for ok in (None, 0, 128, 4096):
        DreamConfig(tile_size=ok)
    with pytest.raises(ConfigError) as info:
        DreamConfig(tile_size=64)
    assert str(info.value) == "tile size must be auto, 0 (never tile) or at least 128, got 64"


def test_dream_that_cannot_fit_says_so_first(lite0, wide, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 40 * 1024**2)
    events = []
    with pytest.raises(InsufficientMemoryError) as info:
        run_dream(lite0, wide, layer_l2("blocks.3"), seed=0, progress=events.append, **FAST)
    message = str(info.value)
    m = re.fullmatch(
        r"a 300x201 dream needs about (\d+\.\d) GB but 0\.1 GB is available; "
        r"try --max-size (\d+)( or --tile-size (\d+))?",
        message,
    )
    assert m, message
    assert not events  # nothing ran
    # The suggestion is a size that does fit.
    fit = int(m[2])
    assert fit < 300
    small = to_tensor(Image.new("RGB", (fit, fit * 201 // 300), "gray"))
    run_dream(lite0, small, layer_l2("blocks.3"), seed=0, **FAST)


def test_memory_estimate_grows_with_pixels_and_tiles_bound_it(lite0):
    objective = layer_l2("blocks.3")
    with capture(lite0, objective.layers, fast=True) as cap:
        per_pixel = memory.probe_bytes_per_pixel(cap, objective)
    assert per_pixel > 12  # autograd keeps far more than the image's own 12 bytes per pixel
    small = memory.dream_bytes(1000, 1000, 0, 16, per_pixel)
    big = memory.dream_bytes(4000, 4000, 0, 16, per_pixel)
    tiled = memory.dream_bytes(4000, 4000, 512, 16, per_pixel)
    assert big == pytest.approx(16 * small, rel=0.01)
    assert tiled < big / 3
    assert memory.available_bytes() > 0
