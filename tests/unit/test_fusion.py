"""Conv+activation fusion (models/fuse.py) computes what the conv and the activation compute
separately, forward and backward, in fp32 and under bf16 autocast. No timing here."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn

from deepdreamer.cpu import native_bf16
from deepdreamer.models import load_model
from deepdreamer.models.fuse import FusedConvAct, _ConvActFunction, fuse_conv_activations
from deepdreamer.models.samepad import SameConv2d

# (in, out, kernel, stride, groups, same): dense, pointwise, depthwise strided, TF-'SAME' strided
CONVS = [
    (8, 16, 3, 1, 1, False),
    (8, 24, 1, 1, 1, False),
    (16, 16, 3, 2, 16, False),
    (16, 16, 5, 2, 16, True),
    (16, 16, 3, 2, 16, True),
]
SIZES = [(17, 25), (16, 24)]  # odd: 'SAME' pads inside the conv; even: it pads first (fallback)


def _conv(cin, cout, k, s, g, same):
    torch.manual_seed(0)
    if same:
        return SameConv2d(cin, cout, k, s, 0, groups=g, bias=True)
    return nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=True)


def _input(cin, size):
    torch.manual_seed(1)
    # spread so that many values fall below 0 and above 6: both ends of ReLU6 are exercised
    x = (4 * torch.randn(1, cin, *size)).contiguous(memory_format=torch.channels_last)
    return x.requires_grad_(True)


def _grad(f, x):
    y = f(x)
    (g,) = torch.autograd.grad((y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum(), x)
    return y, g


@pytest.mark.parametrize("conv_args", CONVS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("act", [nn.ReLU6, nn.ReLU])
def test_fused_matches_separate_in_fp32(conv_args, size, act):
    conv = _conv(*conv_args).to(memory_format=torch.channels_last)
    fused = FusedConvAct(copy.deepcopy(conv), act())
    x = _input(conv_args[0], size)
    y_ref, g_ref = _grad(lambda t: act()(conv(t)), x)
    y, g = _grad(fused, x)
    assert y.shape == y_ref.shape
    assert torch.allclose(y, y_ref, atol=1e-4, rtol=1e-5)
    assert torch.allclose(g, g_ref, atol=1e-4, rtol=1e-5)
    assert (y_ref == 0).any() and (act is nn.ReLU or (y_ref == 6).any())


@pytest.mark.parametrize("conv_args", CONVS[2:])
@pytest.mark.parametrize("size", [(17, 25), (33, 49), (16, 24)])
def test_transposed_input_gradient_is_the_conv_backward(conv_args, size):
    """The bf16 path's fp32 input gradient of a strided depthwise conv (a transposed conv with
    the right output padding for odd and even sizes) equals convolution_backward's, in fp32."""
    conv = _conv(*conv_args)
    x = _input(conv_args[0], size).detach()
    pad = conv.padding if not isinstance(conv, SameConv2d) else (conv_args[2] // 2,) * 2
    if isinstance(conv, SameConv2d) and size[0] % 2 == 0:
        x = nn.functional.pad(x, (0, 1, 0, 1))  # the odd size the fused path works on
    x.requires_grad_(True)
    spec = dict(stride=conv.stride, padding=pad, dilation=conv.dilation, groups=conv.groups)
    scalars = [0.0, 6.0]
    _, g_ref = _grad(lambda t: _ConvActFunction.apply(t, conv.weight, conv.bias, spec, "hardtanh", scalars, False), x)
    _, g = _grad(lambda t: _ConvActFunction.apply(t, conv.weight, conv.bias, spec, "hardtanh", scalars, True), x)
    assert torch.allclose(g, g_ref, atol=1e-5, rtol=1e-5)


@pytest.mark.skipif(
    not native_bf16(),
    reason="this CPU has no native bf16: the fused module runs autocast's own path here, so fused "
    "and autocast would be the same computation (test_bf16_without_native_support_runs_autocast_instead "
    "covers that)",
)
@pytest.mark.parametrize("conv_args", CONVS)
def test_fused_bf16_gradient_is_as_close_to_fp32_as_autocast(conv_args):
    conv = _conv(*conv_args).to(memory_format=torch.channels_last)
    fused = FusedConvAct(copy.deepcopy(conv), nn.ReLU6())
    x = _input(conv_args[0], (33, 49))
    _, g32 = _grad(lambda t: nn.functional.relu6(conv(t)), x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y_auto, g_auto = _grad(lambda t: nn.functional.relu6(conv(t)), x)
        y_fused, g_fused = _grad(fused, x)
    assert y_fused.dtype == y_auto.dtype == torch.bfloat16
    assert g_fused.dtype == torch.float32  # the input's own dtype
    err = lambda g: float((g - g32).norm() / g32.norm())  # noqa: E731
    assert err(g_fused) <= 0.06 and err(g_fused) <= 1.5 * err(g_auto) + 1e-3, (err(g_fused), err(g_auto))


def test_bf16_without_native_support_runs_autocast_instead(monkeypatch):
    """oneDNN refuses bf16 on a CPU without native bf16 (an AVX2 machine): the fused module
    then runs the conv and the activation under autocast, as an unfused net would."""
    from deepdreamer.models import fuse

    conv = _conv(*CONVS[2]).to(memory_format=torch.channels_last)
    fused = FusedConvAct(copy.deepcopy(conv), nn.ReLU6())
    monkeypatch.setattr(fuse, "native_bf16", lambda: False)
    monkeypatch.setattr(fuse._ConvActFunction, "apply", lambda *a: pytest.fail("fused in bf16"))
    x = _input(16, (33, 49))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y_auto, g_auto = _grad(lambda t: nn.functional.relu6(conv(t)), x)
        y, g = _grad(fused, x)
    assert y.dtype == torch.bfloat16 and torch.equal(y, y_auto) and torch.equal(g, g_auto)


def test_lite0_fast_net_fuses_every_activation(lite0):
    relu6 = sum(isinstance(m, nn.ReLU6) for m in lite0.net.modules())
    fused = [n for n, m in lite0.fast_net.named_modules() if isinstance(m, FusedConvAct)]
    assert relu6 > 0 and len(fused) == relu6  # every BN+ReLU6 after a conv became one primitive
    # conv_stem, read as a layer, keeps its BN and separate activation in the net made for it
    kept = lite0.fast_net_for(["conv_stem", "blocks.3"])
    assert type(kept.conv_stem) is SameConv2d and isinstance(kept.bn1, nn.BatchNorm2d)
    assert isinstance(kept.blocks[3][0].conv_pw, FusedConvAct)
    assert not any(isinstance(m, FusedConvAct) for m in lite0.net.modules())  # net untouched


def test_a_relu_the_forward_reuses_is_never_fused():
    """ResNet's Bottleneck calls one `relu` module three times (after bn1, bn2 and the sum), so
    its children order is not its data flow: nothing there is fused."""
    model = load_model("resnet50", pretrained=False)
    fast = model.fast_net
    assert not any(isinstance(m, FusedConvAct) for m in fast.modules())
    assert type(fast.layer1[0].relu) is nn.ReLU


def test_fusion_leaves_a_net_without_activations_alone():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Identity(), nn.Conv2d(4, 4, 1))
    fused = fuse_conv_activations(copy.deepcopy(net), net)
    assert [type(m) for m in fused] == [nn.Conv2d, nn.Identity, nn.Conv2d]
