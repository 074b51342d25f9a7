"""Every registry entry builds (random weights, no download) and its catalogue matches a real
forward pass: channels exactly, stride within rounding, and the minimum input size works."""

from __future__ import annotations

import pytest
import torch

from deepdreamer.models import REGISTRY, capture, load_model

SIZE = 224


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_catalogue_matches_forward_pass(name):
    model = load_model(name, pretrained=False)
    entry = model.entry
    assert entry.default_layer in entry.layer_names
    assert entry.logits_layer in entry.layer_names
    size = 299 if name == "inception_v3" else SIZE
    conv_layers = [i for i in entry.layers if i.name != entry.logits_layer]
    with capture(model, [i.name for i in entry.layers]) as cap, torch.no_grad():
        acts = cap.run(torch.rand(1, 3, size, size))
    for info in conv_layers:
        act = acts[info.name]
        assert act.shape[1] == info.channels, info.name
        ratio = size / act.shape[-1]
        assert abs(ratio - info.stride) / info.stride < 0.25, (info.name, ratio, info.stride)
    assert acts[entry.logits_layer].shape == (1, 1000)
    # hooks are gone once the context closes
    assert all(not m._forward_hooks for m in model.net.modules())
    with torch.no_grad():
        small = model.net(model.normalize(torch.rand(1, 3, entry.min_size, entry.min_size)))
    assert small.shape == (1, 1000)


def test_unknown_layer_suggests_close_names():
    entry = REGISTRY["efficientnet-lite0"]
    with pytest.raises(KeyError, match=r"did you mean 'blocks\.6'"):
        entry.layer("blocks.9")


def test_offline_torchvision_model_names_the_way_out(monkeypatch):
    import urllib.error

    import torchvision.models._api as tv_api

    from deepdreamer.errors import ModelUnavailableError

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(tv_api.WeightsEnum, "get_state_dict", offline)
    with pytest.raises(ModelUnavailableError) as err:
        load_model("resnet50")
    assert str(err.value) == (
        "cannot download the weights of 'resnet50' (offline?); "
        "pass a local state dict with --weights FILE"
    )


def test_weights_file_for_the_wrong_architecture_is_one_line(tmp_path):
    from deepdreamer.errors import ModelUnavailableError

    path = tmp_path / "lite0.pt"
    torch.save(load_model(pretrained=False).net.state_dict(), path)
    with pytest.raises(ModelUnavailableError, match=r"do not fit resnet50: \d+ missing tensors"):
        load_model("resnet50", weights=path)
    # the original implementation's key names are accepted for the embedded architecture
    from deepdreamer.models._builders import lite0_state_dict

    torch.save(lite0_state_dict(), path)
    assert load_model(weights=path).weights == str(path)
