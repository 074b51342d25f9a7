"""Creative controls: masks, Laplacian normalisation, colours, rotation/scale, channel selection
and guided dreams, checked as properties on the embedded model."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import deepdreamer as dd
from deepdreamer.engine import Notice, objective_gradient
from deepdreamer.engine.controls import Affine, keep_colors, random_affine
from deepdreamer.engine.laplacian import lap_merge, lap_normalize, lap_split
from deepdreamer.errors import ConfigError, InputImageError
from deepdreamer.io import to_pil, to_tensor
from deepdreamer.models import capture
from deepdreamer.objectives import guide, layer_l2, parse_channel_selection

CHEAP = dict(octaves=2, steps=4, seed=0, max_size=0)


def _acts(model, layer, pixels):
    with capture(model, [layer], fast=True) as cap, torch.no_grad():
        return cap.run(pixels)[layer]


def _pixels(img: Image.Image) -> torch.Tensor:
    return to_tensor(img.convert("RGB"))


@pytest.fixture(scope="module")
def src(photo):
    return to_pil(photo)


def test_mask_leaves_masked_out_pixels_exactly_unchanged(lite0, src, tmp_path):
    w, h = src.size
    mask = Image.new("L", (w, h), 0)
    mask.paste(255, (0, 0, w // 2, h))
    mask.paste(128, (w // 2, 0, w // 2 + 20, h))  # a grey band: softer than white
    mask.save(tmp_path / "m.png")
    out = np.asarray(dd.dream(src, lite0, "blocks.3", mask=str(tmp_path / "m.png"), **CHEAP)).astype(int)
    inp = np.asarray(src).astype(int)
    assert np.array_equal(out[:, w // 2 + 20 :], inp[:, w // 2 + 20 :])
    white = np.abs(out[:, : w // 2] - inp[:, : w // 2]).mean()
    grey = np.abs(out[:, w // 2 : w // 2 + 20] - inp[:, w // 2 : w // 2 + 20]).mean()
    assert white > 3 and 0 < grey < white


def test_mask_of_another_size_is_resized_with_a_note(lite0, src, tmp_path):
    Image.new("RGBA", (40, 30), (255, 255, 255, 255)).save(tmp_path / "small.png")
    events = []
    dd.dream(src, lite0, "blocks.3", mask=str(tmp_path / "small.png"), progress=events.append, **CHEAP)
    notes = [e.message for e in events if isinstance(e, Notice)]
    assert any("resized" in n and "40x30" in n for n in notes)


def test_laplacian_split_merges_back_and_normalising_lowers_high_frequencies(lite0, photo):
    x = torch.randn(1, 3, 67, 93)
    assert torch.allclose(lap_merge(lap_split(x, 4)), x, atol=1e-5)
    with capture(lite0, ["blocks.3"], fast=True) as cap:
        grad, _ = objective_gradient(cap, layer_l2("blocks.3"), photo)

    def high_share(g):  # energy above the coarsest-but-one band, as a share of all
        low = F.interpolate(F.avg_pool2d(g, 4), size=g.shape[-2:], mode="bilinear")
        return float((g - low).square().sum() / g.square().sum())

    shares = [high_share(grad)] + [high_share(lap_normalize(grad, n)) for n in (2, 4)]
    assert shares[0] > shares[1] > shares[2]


def test_laplacian_dreams_do_not_drift_darker(lite0, src):
    out = dd.dream(src, lite0, "blocks.3", lap_levels=4, octaves=3, steps=10, seed=0, max_size=0)
    before, after = np.asarray(src).mean(), np.asarray(out).mean()
    assert abs(after - before) < 0.04 * 255


def _ycbcr(t: torch.Tensor) -> torch.Tensor:
    """BT.601 Y, Cb, Cr of (1, 3, H, W) pixels in [0, 1]."""
    r, g, b = t[:, 0], t[:, 1], t[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return torch.stack([y, 0.564 * (b - y), 0.713 * (r - y)], dim=1)


def test_keep_colors_changes_only_the_luminance(lite0, src):
    inp = _pixels(src)
    plain = _pixels(dd.dream(src, lite0, "blocks.3", **CHEAP))
    kept = _pixels(dd.dream(src, lite0, "blocks.3", keep_colors=True, **CHEAP))
    # R, G and B move together when only luma changes: the spread across channels stays small
    spread = lambda out: float((out - inp).std(dim=1).mean())  # noqa: E731
    assert spread(kept) < 0.35 * spread(plain)
    # the function itself, where nothing clips: the original's chroma, the dream's luma
    torch.manual_seed(0)
    original = 0.3 + 0.4 * torch.rand(1, 3, 16, 16)
    dreamed = (original + 0.2 * torch.randn(1, 3, 16, 16)).clamp(0, 1)
    out = keep_colors(original, dreamed)
    inside = ((out > 0) & (out < 1)).all(dim=1)
    assert inside.float().mean() > 0.9
    yo, yd, yk = _ycbcr(original), _ycbcr(dreamed), _ycbcr(out)
    assert torch.allclose(yk[:, 1:][:, :, inside[0]], yo[:, 1:][:, :, inside[0]], atol=1e-5)  # chroma kept
    assert torch.allclose(yk[:, 0][:, inside[0]], yd[:, 0][:, inside[0]], atol=1e-5)  # luma dreamed
    assert not torch.allclose(yd[:, 1:], yo[:, 1:], atol=1e-2)  # the dream did change the chroma


@pytest.mark.parametrize("degrees, scale", [(15.0, 1.1), (-12.0, 0.92), (0.0, 1.1)])
def test_random_rotation_and_scale_are_undone_by_the_gradient(lite0, photo, degrees, scale):
    """The gradient through a rotation/zoom comes back in the image's own coordinates: it is
    the gradient the net gives on the transformed image, transformed back, and not that
    gradient as it stands."""
    transform = Affine(math.radians(degrees), scale)
    objective = layer_l2("blocks.3")
    with capture(lite0, objective.layers, fast=True) as cap:
        through, _ = objective_gradient(cap, objective, photo, transform)  # what a step uses
        seen, _ = objective_gradient(cap, objective, transform(photo).detach())
    undone = transform.inverse()(seen)
    centre = (slice(None), slice(None), slice(25, 81), slice(40, 120))  # away from reflected edges

    def cos(a, b):
        return float(F.cosine_similarity(a[centre].flatten(), b[centre].flatten(), dim=0))

    assert cos(through, undone) > 0.95  # measured 0.992-0.996
    assert cos(through, seen) < 0.2  # measured 0.005-0.05


def test_random_rotation_and_scale_are_sampled_apart_and_dream_upward(lite0, photo):
    identity = random_affine(random.Random(0), 0.0, 0.0)
    assert identity == Affine() and torch.allclose(identity(photo), photo, atol=1e-5)
    a, b = random_affine(random.Random(3), 15.0, 0.1), random_affine(random.Random(3), 15.0, 0.1)
    assert a == b and abs(math.degrees(a.angle)) <= 15 and 0.9 <= a.scale <= 1.1
    objective = layer_l2("blocks.3")
    before = float(objective({"blocks.3": _acts(lite0, "blocks.3", photo)}))
    out = dd.dream(to_pil(photo), lite0, "blocks.3", rotate_jitter=10, scale_jitter=0.1, **CHEAP)
    after = float(objective({"blocks.3": _acts(lite0, "blocks.3", _pixels(out))}))
    assert after > 1.25 * before


def test_channel_selection_raises_only_the_selected_channels_share(lite0, src):
    chans = [2, 7, 11, 30]
    inp = _pixels(src)

    def share(img):
        energy = _acts(lite0, "blocks.3", _pixels(img))[0].square().mean(dim=(1, 2))
        return float(energy[chans].sum() / energy.sum())

    selected = dd.dream(src, lite0, "blocks.3", channels="2,7,11,30", **CHEAP)
    everything = dd.dream(src, lite0, "blocks.3", **CHEAP)
    base = share(to_pil(inp))
    assert share(selected) > base + 0.05 and share(selected) > share(everything) + 0.05


def test_channel_selection_specs(lite0, photo):
    sel = parse_channel_selection("blocks.5:3,7,12-15")
    assert sel.layer == "blocks.5" and sel.channels == (3, 7, 12, 13, 14, 15)
    top = parse_channel_selection("top:5")
    means = _acts(lite0, "blocks.3", photo)[0].mean(dim=(1, 2))
    chosen = top.resolve(_acts(lite0, "blocks.3", photo), 80)
    assert set(chosen) == set(means.topk(5).indices.tolist())
    with pytest.raises(ConfigError, match="out of range"):
        parse_channel_selection("3,80").resolve(None, 80)
    with pytest.raises(ConfigError):
        parse_channel_selection("top:x")


def test_guided_dream_moves_toward_the_guide(lite0, src, tmp_path):
    from skimage import data

    guide_img = Image.fromarray(data.coffee()).resize((200, 150))
    guide_img.putalpha(255)  # RGBA guides load too
    guide_img.save(tmp_path / "guide.png")
    layer = "blocks.3"
    g = _acts(lite0, layer, _pixels(guide_img.convert("RGB")))
    objective = guide(layer, g)

    def scores(img):
        a = _acts(lite0, layer, _pixels(img))
        mean_a, mean_g = a.mean(dim=(2, 3)), g.mean(dim=(2, 3))
        return float(objective({layer: a})), float(F.cosine_similarity(mean_a, mean_g))

    guided = scores(dd.dream(src, lite0, layer, guide=str(tmp_path / "guide.png"), **CHEAP))
    plain = scores(dd.dream(src, lite0, layer, **CHEAP))
    start = scores(src)
    assert guided[0] > start[0] and guided[0] > plain[0]
    assert guided[1] > plain[1]
    (tmp_path / "not.png").write_text("no")
    with pytest.raises(InputImageError, match="guide"):
        dd.dream(src, lite0, layer, guide=str(tmp_path / "not.png"), **CHEAP)


def test_api_preset_is_overridden_by_keywords(lite0, src):
    out = dd.dream(src, lite0, preset="deep", steps=2, octaves=2, seed=0, max_size=0)
    settings = out.info["deepdreamer"]
    assert settings["preset"] == "deep" and settings["steps"] == 2
    assert settings["layers"] == [["blocks.4", 1.0]]  # from the preset


def test_rotation_jitter_is_skipped_on_tiles_with_a_note(lite0):
    from deepdreamer.engine import run_dream
    from deepdreamer.engine.controls import StepControls

    image = torch.rand(1, 3, 160, 300)
    result = run_dream(lite0, image, layer_l2("blocks.3"), octaves=1, octave_scale=1.4, steps=1,
                       step_size=0.01, jitter=8, seed=0, tile_size=128,
                       controls=StepControls(rotate=10.0))
    assert any("rotation/scale jitter is skipped" in n for n in result.notices)
    assert result.image.shape == image.shape
