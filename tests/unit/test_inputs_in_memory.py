"""Images in memory (PIL, numpy, tensors) wherever a path was taken: the image, the guide and
the mask. Float pixels stay float from input to output; an Objective value dreams as a spec."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import deepdreamer as dd
from deepdreamer.engine import evaluate_objective
from deepdreamer.errors import InputImageError, UnknownNameError
from deepdreamer.io import to_tensor
from deepdreamer.objectives import channel, layer_l2, neuron

CHEAP = dict(octaves=2, steps=3, seed=0, max_size=0)


@pytest.fixture(scope="module")
def src(sample_photo):
    return Image.open(sample_photo).convert("RGB").resize((160, 106))


def test_a_float_tensor_is_never_rounded_to_8_bits(lite0):
    torch.manual_seed(0)
    t = torch.rand(1, 3, 64, 80) * 0.5 + 0.25  # almost no value lies on the 8-bit grid
    out = dd.dream(t, lite0, "blocks.2", steps=0, octaves=2, seed=0)
    assert out.dtype == torch.float32 and torch.equal(out, t)  # no steps: exactly the input
    assert not torch.equal(t, (t * 255).round() / 255)
    dreamed = dd.dream(t, lite0, "blocks.2", steps=2, octaves=1, seed=0)
    assert not torch.equal(dreamed, (dreamed * 255).round() / 255)  # and floats come back


def test_a_tensor_larger_than_max_size_is_downscaled_as_floats(lite0):
    t = torch.rand(3, 120, 200)
    out = dd.dream(t, lite0, "blocks.2", steps=1, octaves=1, seed=0, max_size=100)
    assert out.shape == (3, 60, 100)


@pytest.mark.parametrize("bad, why", [
    (torch.rand(2, 3, 40, 40), "expected an (H, W), (C, H, W) or (1, C, H, W) tensor"),
    (torch.rand(5, 40, 40), "expected 1, 3 or 4 channels"),
    (torch.rand(3, 40, 40) * 2, "float pixels must lie in [0, 1], got"),
    (torch.full((3, 40, 40), float("nan")), "NaN or infinite"),
    (torch.zeros(3, 40, 40, dtype=torch.int64), "expected uint8, bool or float pixels, got int64"),
    (np.zeros((40, 40, 2), np.float32), "expected 1, 3 or 4 channels"),
])
def test_bad_tensors_and_arrays_are_one_line_errors(lite0, bad, why):
    with pytest.raises(InputImageError) as info:
        dd.dream(bad, lite0, "blocks.2", steps=1, octaves=1, seed=0)
    assert why in str(info.value) and "\n" not in str(info.value)


def test_a_mask_may_be_a_path_pil_image_array_or_tensor(lite0, src, tmp_path):
    keep = np.zeros((106, 160), bool)
    keep[20:90, 40:120] = True
    pil = Image.fromarray(keep.astype(np.uint8) * 255)
    pil.save(tmp_path / "mask.png")
    forms = {
        "path": str(tmp_path / "mask.png"),
        "pil": pil,
        "bool array": keep,
        "uint8 array": keep.astype(np.uint8) * 255,
        "float tensor": torch.from_numpy(keep).float(),
        "rgb tensor": torch.from_numpy(keep).float().expand(3, -1, -1),
    }
    outs = {name: np.asarray(dd.dream(src, lite0, "blocks.3", mask=m, **CHEAP)) for name, m in forms.items()}
    first = outs["path"]
    for name, out in outs.items():
        assert np.array_equal(out, first), name
    inp = np.asarray(src)
    assert np.array_equal(first[~keep], inp[~keep])  # black keeps the input, to the pixel
    assert np.abs(first[keep].astype(int) - inp[keep]).mean() > 3  # white dreams
    settings = dd.dream(src, lite0, "blocks.3", mask=forms["float tensor"], **CHEAP).info["deepdreamer"]
    assert settings["mask"] == "<tensor 160x106>"  # described, not a path a later run would open


def test_a_guide_may_be_a_path_pil_image_array_or_tensor(lite0, src, tmp_path):
    from skimage import data

    guide = Image.fromarray(data.coffee()).resize((120, 90))
    guide.save(tmp_path / "guide.png")
    forms = [str(tmp_path / "guide.png"), guide, np.asarray(guide), to_tensor(guide)]
    outs = [np.asarray(dd.dream(src, lite0, "blocks.3", guide=g, **CHEAP)) for g in forms]
    for out in outs[1:]:
        assert np.array_equal(out, outs[0])
    assert not np.array_equal(outs[0], np.asarray(dd.dream(src, lite0, "blocks.3", **CHEAP)))


def test_an_in_memory_mask_recorded_in_an_output_is_not_opened_again(lite0, src, tmp_path):
    from deepdreamer.pipeline import prepare_dream

    with pytest.raises(InputImageError) as info:
        prepare_dream(dd.DreamConfig(mask="<tensor 160x106>"), lite0)
    assert str(info.value) == (
        "mask: the earlier run's mask was an image in memory (<tensor 160x106>); give the mask again"
    )


def test_dream_accepts_an_objective_value(lite0, src):
    goal = channel("blocks.4", 7) - 0.5 * neuron("blocks.5", 3)
    out = dd.dream(src, lite0, objective=goal, **CHEAP)
    before = evaluate_objective(lite0, goal, to_tensor(src))
    assert evaluate_objective(lite0, goal, to_tensor(out)) > before + 1.0
    assert out.info["deepdreamer"]["objective"] == goal.name
    with pytest.raises(UnknownNameError, match="unknown layer 'layer9'"):
        dd.dream(src, lite0, objective=layer_l2("layer9"), **CHEAP)
    with pytest.raises(dd.DeepDreamerError, match="either layers or an objective"):
        dd.dream(src, lite0, "blocks.3", objective=goal, **CHEAP)
