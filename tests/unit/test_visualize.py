"""Feature visualisation: parameterisations, transforms, the render loop, sheets, activation maps
and the quality bar (class visualisations are recognised, robustly; channels far above photos)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import deepdreamer as dd
from deepdreamer.errors import ConfigError, DreamCancelled, UnknownNameError
from deepdreamer.io import to_tensor
from deepdreamer.models import capture
from deepdreamer.objectives import channel, class_index, class_logit, diversity, per_item
from deepdreamer.visualize import (
    FourierParam,
    RobustnessTransforms,
    activation_maps,
    make_param,
    render,
    total_variation,
)


def _value(model, objective, images):
    with capture(model, objective.layers, fast=True) as cap, torch.no_grad():
        return float(objective(cap.run(images)))


def _probs(model, images):
    with torch.no_grad():
        return F.softmax(model.net(model.normalize(images)), dim=1)


@pytest.mark.parametrize("kind", ["fourier", "pixel"])
@pytest.mark.parametrize("size", [(2, 64, 64), (1, 33, 50)])
def test_param_gives_images_in_range_and_seed_decides(kind, size):
    n, h, w = size
    with torch.no_grad():
        a, b, c = (make_param(kind, n, h, w, seed)() for seed in (3, 3, 4))
    assert a.shape == (n, 3, h, w)
    assert 0.0 <= float(a.min()) and float(a.max()) <= 1.0
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_fourier_start_is_smoother_than_pixel_start():
    """The 1/f spectrum scaling makes neighbouring pixels of the start correlated."""
    with torch.no_grad():
        fourier = make_param("fourier", 1, 96, 96, 0)()
        pixel = make_param("pixel", 1, 96, 96, 0)()

    def roughness(x):  # neighbour difference relative to overall spread
        return float(total_variation(x)) / float(x.std())

    assert roughness(fourier) < 0.5 * roughness(pixel)


def test_fourier_decorrelation_mixes_colour_channels():
    g = torch.Generator().manual_seed(0)
    with_mix = FourierParam(1, 32, 32, generator=g, decorrelate=True)
    plain = FourierParam(1, 32, 32, generator=torch.Generator().manual_seed(0), decorrelate=False)
    plain.spectrum.data.copy_(with_mix.spectrum.data)
    def corr(x):
        r, gg = x[0, 0].flatten(), x[0, 1].flatten()
        return float(torch.corrcoef(torch.stack([r, gg]))[0, 1])
    with torch.no_grad():
        assert corr(with_mix()) > corr(plain()) + 0.3


def test_transforms_are_sampled_apart_from_applied_and_keep_gradients():
    t = RobustnessTransforms()
    p1, p2 = t.sample(random.Random(5)), t.sample(random.Random(5))
    assert p1 == p2
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    y1, y2 = t.apply(x, p1), t.apply(x, p2)
    assert torch.equal(y1, y2) and y1.shape[:2] == (2, 3) and min(y1.shape[-2:]) >= 50
    y1.mean().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_render_raises_the_objective_is_reproducible_and_reports_progress(lite0):
    objective = channel("blocks.3", 5)
    events = []

    def run(seed, progress=None):
        return render(lite0, objective, make_param("fourier", 1, 64, 64, seed), steps=8, lr=0.05,
                      seed=seed, transforms=RobustnessTransforms(), progress=progress)

    first = run(0, events.append)
    again, other = run(0), run(1)
    start = _value(lite0, objective, make_param("fourier", 1, 64, 64, 0)())
    assert _value(lite0, objective, first.images) > start + 1.0
    assert torch.equal(first.images, again.images) and not torch.equal(first.images, other.images)
    assert [e.step for e in events] == list(range(1, 9)) and events[-1].done == events[-1].total == 8


def test_render_cancel_stops_and_removes_hooks(lite0):
    with pytest.raises(DreamCancelled):
        render(lite0, channel("blocks.3", 5), make_param("pixel", 1, 64, 64, 0), steps=10,
               lr=0.05, seed=0, progress=lambda e: e.step < 3)
    assert all(not m._forward_hooks for m in lite0.fast_net.modules())


def test_total_variation_penalty_smooths_the_result(lite0):
    objective = channel("blocks.2", 3)
    runs = [render(lite0, objective, make_param("pixel", 1, 64, 64, 0), steps=24, lr=0.05,
                   seed=0, tv=tv).images for tv in (0.0, 200.0)]
    assert float(total_variation(runs[1])) < 0.7 * float(total_variation(runs[0]))


def test_per_item_scores_each_image_by_its_own_objective():
    a = {"L": torch.arange(2 * 4 * 2 * 2, dtype=torch.float32).view(2, 4, 2, 2)}
    both = per_item([channel("L", 1), channel("L", 3)])
    expected = (a["L"][0, 1].mean() + a["L"][1, 3].mean()) / 2
    assert torch.isclose(both(a), expected)
    with pytest.raises(ValueError):
        per_item([channel("L", 1)])(a)  # one objective for a batch of two


def test_diversity_pushes_a_batch_apart(lite0):
    layer = "blocks.4"

    def similarity(weight):
        objective = channel(layer, 12) + weight * diversity(layer)
        out = render(lite0, objective, make_param("fourier", 3, 96, 96, 0), steps=24, lr=0.05,
                     seed=0, transforms=RobustnessTransforms())
        return -_value(lite0, diversity(layer), out.images)

    assert similarity(10.0) < similarity(0.0) - 0.2


def test_class_visualisations_are_recognised_and_not_adversarial(lite0):
    """The quality bar: p > 0.9 for each class, still top-5 after halving the size and back."""
    names = ["goldfish", "dumbbell", "volcano"]
    objective = per_item([class_logit(lite0, n) for n in names])
    out = render(lite0, objective, make_param("fourier", 3, 224, 224, 0), steps=32, lr=0.05,
                 seed=0, transforms=RobustnessTransforms())
    half = F.interpolate(out.images, scale_factor=0.5, mode="bilinear", antialias=True)
    back = F.interpolate(half, size=out.images.shape[-2:], mode="bilinear")
    probs, probs_back = _probs(lite0, out.images), _probs(lite0, back)
    for i, name in enumerate(names):
        k = class_index(name)
        assert float(probs[i, k]) > 0.9, name
        assert k in probs_back[i].topk(5).indices.tolist(), name


def test_channel_visualisation_beats_every_sample_photo(lite0):
    from skimage import data

    objective = channel("blocks.5", 37)
    photos = [to_tensor(Image.fromarray(getattr(data, n)()).convert("RGB").resize((224, 224)))
              for n in ("chelsea", "coffee", "astronaut")]
    best_photo = max(_value(lite0, objective, p) for p in photos)
    out = render(lite0, objective, make_param("fourier", 1, 128, 128, 0), steps=16, lr=0.05,
                 seed=0, transforms=RobustnessTransforms())
    assert _value(lite0, objective, out.images) > 4 * max(best_photo, 1.0)


def test_activation_maps_show_the_strongest_channels_in_order(lite0, photo):
    maps = activation_maps(lite0, photo, "blocks.3", top=6, tile=64)
    with capture(lite0, ["blocks.3"], fast=True) as cap, torch.no_grad():
        means = cap.run(photo)["blocks.3"][0].mean(dim=(1, 2))
    assert maps.channels == means.topk(6).indices.tolist()
    assert maps.means == sorted(maps.means, reverse=True)
    assert maps.image.height >= 2 * 64 and maps.image.width > 3 * 64  # photo + 3x2 grid
    with pytest.raises(UnknownNameError):
        activation_maps(lite0, photo, "blocks.33", top=4)
    with pytest.raises(ConfigError):
        activation_maps(lite0, photo, "classifier", top=4)  # logits have no maps


def test_api_visualize_and_sheet(lite0):
    images = dd.visualize("blocks.3:5", model=lite0, size=64, steps=3, batch=2, seed=2)
    assert len(images) == 2 and all(im.size == (64, 64) for im in images)
    assert images[0].info["deepdreamer"]["seed"] == 2
    assert images[0].info["deepdreamer"]["objective"] == "blocks.3:5"
    as_value = dd.visualize(dd.objectives.channel("blocks.3", 5), model=lite0, size=64, steps=3, seed=2)
    assert np.array_equal(np.asarray(as_value[0]), np.asarray(dd.visualize("blocks.3:5", model=lite0, size=64, steps=3, seed=2)[0]))
    sheet = dd.feature_sheet("blocks.3:0-3", model=lite0, size=48, steps=2, seed=0)
    assert sheet.width > 2 * 48 and sheet.height > 2 * 48
    with pytest.raises(ConfigError):
        dd.feature_sheet("blocks.3", model=lite0, steps=1)  # no channel list
