"""The fast paths (BatchNorm folding, conv+activation fusion, channels_last, bf16 autocast) compute what the plain net
does, within tolerance. No timing here: speed is measured outside the test suite."""

from __future__ import annotations

import copy

import pytest
import torch

from deepdreamer.config import DreamConfig
from deepdreamer.engine import evaluate_objective, objective_gradient, run_dream
from deepdreamer.errors import ConfigError
from deepdreamer.models import DreamModel, capture, load_model
from deepdreamer.objectives import layer_l2

FAST = dict(octaves=2, octave_scale=1.4, steps=5, step_size=0.015, jitter=8)


def _randomise_bn(model: DreamModel) -> DreamModel:
    """Random BN statistics and affine terms, so that folding them actually changes weights."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(0.1 * torch.randn(n, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(n, generator=gen))
                m.weight.copy_(0.5 + torch.rand(n, generator=gen))
                m.bias.copy_(0.1 * torch.randn(n, generator=gen))
    return model


def _activations(model: DreamModel, layers, image, fast: bool) -> dict[str, torch.Tensor]:
    with capture(model, layers, fast=fast) as cap, torch.no_grad():
        return cap.run(image)


@pytest.mark.parametrize(
    "name, layers",
    [
        ("efficientnet-lite0", ["conv_stem", "blocks.1", "blocks.3", "blocks.5.2", "conv_head"]),
        ("resnet50", ["layer1", "layer2", "layer3", "layer4"]),
        ("googlenet", ["conv3", "inception3b", "inception4c", "inception5b"]),
        ("vgg16", ["features.1", "features.8", "features.29"]),
    ],
)
def test_folded_net_gives_the_same_activations(name, layers, lite0, photo):
    model = lite0 if name == lite0.name else _randomise_bn(load_model(name, pretrained=False))
    for layer in layers:
        model.entry.layer(layer)  # they are catalogue layers
    plain = _activations(model, layers, photo, fast=False)
    fast = _activations(model, layers, photo, fast=True)
    for layer in layers:
        scale = plain[layer].abs().max()
        err = (fast[layer] - plain[layer]).abs().max()
        assert err <= 1e-4 * scale, (layer, float(err), float(scale))
    # Folding really happened (VGG has no BN), and the loaded net was left alone.
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.net.modules()) == (name != "vgg16")
    bns = lambda net: {n for n, m in net.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}  # noqa: E731
    assert bns(model.fast_net) == set()  # the net for block outputs: every BN folded
    # A conv read as a layer (lite0's conv_stem and conv_head) keeps its BN (bn1, bn2) in the
    # fast net made for those layers, so its own output is what is read.
    assert bns(model.fast_net_for(layers)) == ({"bn1", "bn2"} if model is lite0 else set())


def test_bf16_dream_reaches_fp32_objective(lite0, photo):
    objective = layer_l2("blocks.3")
    results = {}
    for precision in ("fp32", "bf16"):
        out = run_dream(lite0, photo, objective, seed=0, precision=precision, **FAST).image
        results[precision] = evaluate_objective(lite0, objective, out)  # always measured in fp32
    assert abs(results["bf16"] - results["fp32"]) <= 0.05 * results["fp32"], results


def _assert_fast_gradient_matches(lite0, net, image):
    """The fast path's blocks.3 gradient equals the one `net` gives through the plain path."""
    plain = DreamModel(entry=lite0.entry, net=net, device=lite0.device, weights="copy")
    objective = layer_l2("blocks.3")
    with capture(plain, objective.layers) as cap:
        g_plain, v_plain = objective_gradient(cap, objective, image)
    with capture(lite0, objective.layers, fast=True) as cap:
        g_fast, v_fast = objective_gradient(cap, objective, image)
    assert v_fast == pytest.approx(v_plain, rel=1e-4)
    assert (g_fast - g_plain).abs().max() <= 1e-3 * g_plain.abs().max()


def test_channels_last_gives_the_same_gradient(lite0, photo):
    # The same folded weights in the default layout, run through the plain (non-fast) path.
    contiguous = copy.deepcopy(lite0.fast_net).to(memory_format=torch.contiguous_format)
    _assert_fast_gradient_matches(lite0, contiguous, photo)


@pytest.mark.parametrize("size", [(113, 161), (106, 160)])  # 16k+1 (pads inside) and even
def test_fused_fast_net_gives_the_unfused_gradient(lite0, size):
    from deepdreamer.models.fold import fold_batchnorm
    from deepdreamer.models.samepad import symmetric_same_convs

    unfused = symmetric_same_convs(fold_batchnorm(lite0.net)).to(memory_format=torch.channels_last)
    torch.manual_seed(0)
    _assert_fast_gradient_matches(lite0, unfused, torch.rand(1, 3, *size))


def test_precision_is_validated():
    with pytest.raises(ConfigError) as info:
        DreamConfig(precision="fp16")
    assert str(info.value) == "precision must be auto, fp32 or bf16, got 'fp16'"
    assert DreamConfig().precision == "auto"


@pytest.mark.parametrize("size", [(33, 49), (32, 48), (17, 18), (50, 33)])
@pytest.mark.parametrize("kernel, stride", [(3, 2), (5, 2), (3, 1)])
def test_same_conv_matches_timm_for_every_size(size, kernel, stride):
    from timm.layers.conv2d_same import Conv2dSame

    from deepdreamer.models.samepad import SameConv2d, symmetric_same_convs

    torch.manual_seed(0)
    timm_conv = Conv2dSame(6, 6, kernel, stride, groups=3, bias=True)
    net = symmetric_same_convs(torch.nn.Sequential(copy.deepcopy(timm_conv)))
    assert isinstance(net[0], SameConv2d)
    x = torch.randn(1, 6, *size, requires_grad=True)
    a, b = timm_conv(x), net(x)
    assert a.shape == b.shape
    assert torch.allclose(a, b, atol=1e-6)
    (ga,) = torch.autograd.grad(a.square().sum(), x)
    (gb,) = torch.autograd.grad(b.square().sum(), x)
    assert torch.allclose(ga, gb, atol=1e-5)


def test_odd_grid_dream_reaches_the_same_objective(lite0, photo, monkeypatch):
    """The step extends the image to 16k+1 px (edge repeated) so the fast net's 'SAME' convs pad
    for free. The net's sampling grid then sits where a 1-px jitter would put it, so gradients
    differ pixel for pixel, but a dream reaches the same objective."""
    from deepdreamer.engine import gradient
    from deepdreamer.models.hooks import Capture

    objective = layer_l2("blocks.3")
    with capture(lite0, objective.layers, fast=True) as cap:
        assert cap.same_padding
    calls = []
    real = gradient.objective_gradient
    monkeypatch.setattr(gradient, "objective_gradient", lambda c, o, p, t=None: calls.append(p.shape) or real(c, o, p, t))
    odd = run_dream(lite0, photo, objective, seed=0, **FAST).image
    assert calls and all((h - 1) % 16 == 0 and (w - 1) % 16 == 0 for *_, h, w in calls)
    monkeypatch.setattr(Capture, "same_padding", False)  # as for a net without 'SAME' convs
    calls.clear()
    plain = run_dream(lite0, photo, objective, seed=0, **FAST).image
    assert calls[-1][-2:] == photo.shape[-2:]
    reached = [evaluate_objective(lite0, objective, im) for im in (odd, plain)]
    assert reached[0] == pytest.approx(reached[1], rel=0.1), reached
    assert reached[0] > 1.5 * evaluate_objective(lite0, objective, photo)
