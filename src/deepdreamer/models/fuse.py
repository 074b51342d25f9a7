"""Run each convolution and the ReLU/ReLU6 after it as one oneDNN primitive on the CPU.

A separate activation is a full pass over the largest tensors of the net (Lite0's 96-channel
expansion at half resolution) and was a fifth of a dream step here; as a post-op of the
convolution it is free. The backward masks the gradient by the fused output (0 < y < 6 iff
0 < x < 6), then takes the convolution's input gradient as autograd would.

Under bf16 autocast the fused conv runs in bf16, except that the input gradient of a strided
depthwise conv is computed in fp32: oneDNN's bf16 kernel for it was 10-60x slower than fp32 on
an AVX-512-bf16 CPU (12 ms against 1 ms for Lite0's first one at 600x450), more than bf16 saved
everywhere else.

Module names are kept: the conv slot holds a `FusedConvAct` (the conv is its `.conv`), the
activation slot becomes Identity, whose output is the activation, so a hook there still sees it.
Anything the primitive cannot do (another device, an asymmetric TF 'SAME' pad, another dtype,
bf16 on a CPU without native bf16) runs the conv and the activation as before."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..cpu import native_bf16
from .samepad import SameConv2d, same_padding

__all__ = ["FusedConvAct", "fuse_conv_activations", "fusion_available"]


def fusion_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


def _fusable(conv: nn.Module, act: nn.Module) -> bool:
    return (
        type(conv) in (nn.Conv2d, SameConv2d)
        and _post_op(act) is not None
        and conv.padding_mode == "zeros"
        and not isinstance(conv.padding, str)
    )


def _post_op(act: nn.Module) -> tuple[str, list[float]] | None:
    if type(act) is nn.ReLU:
        return "relu", []
    if type(act) in (nn.ReLU6, nn.Hardtanh):
        return "hardtanh", [float(act.min_val), float(act.max_val)]
    return None


class _ConvActFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, conv, attr, scalars, fp32_input_grad):
        y = torch.ops.mkldnn._convolution_pointwise(
            x, weight, bias, list(conv["padding"]), list(conv["stride"]), list(conv["dilation"]),
            conv["groups"], attr, scalars, "",
        )
        ctx.conv, ctx.attr, ctx.scalars, ctx.fp32_input_grad = conv, attr, scalars, fp32_input_grad
        ctx.input_shape, ctx.input_dtype = x.shape, x.dtype
        # Only the input's shape is needed when its gradient comes from a transposed conv.
        ctx.save_for_backward(None if fp32_input_grad else x, weight, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight, y = ctx.saved_tensors
        if ctx.attr == "relu":
            grad = torch.ops.aten.threshold_backward(grad, y, 0)
        else:
            grad = torch.ops.aten.hardtanh_backward(grad, y, *ctx.scalars)
        c = ctx.conv
        if ctx.fp32_input_grad:
            g = _transposed_input_grad(grad.float(), weight.float(), ctx.input_shape, c)
            return g.to(ctx.input_dtype), None, None, None, None, None, None
        (g, _, _) = torch.ops.aten.convolution_backward(
            grad, x, weight, None, c["stride"], c["padding"], c["dilation"], False, (0, 0),
            c["groups"], (True, False, False),
        )
        return g, None, None, None, None, None, None


def _transposed_input_grad(grad, weight, input_shape, c):
    """d conv / d input as a transposed convolution (what convolution_backward computes)."""
    extra = [
        input_shape[i + 2] + 2 * c["padding"][i] - c["dilation"][i] * (weight.shape[i + 2] - 1)
        - 1 - (grad.shape[i + 2] - 1) * c["stride"][i]
        for i in range(2)
    ]
    return F.conv_transpose2d(grad, weight, None, c["stride"], c["padding"], extra, c["groups"], c["dilation"])


class FusedConvAct(nn.Module):
    """`act(conv(x))` as one primitive; `conv` is an nn.Conv2d (or SameConv2d)."""

    def __init__(self, conv: nn.Conv2d, act: nn.Module) -> None:
        super().__init__()
        if not _fusable(conv, act):
            raise ValueError(f"cannot fuse {type(conv).__name__} with {type(act).__name__}")
        self.conv, self.act = conv, act
        self.attr, self.scalars = _post_op(act)
        self.strided_depthwise = conv.groups > 1 and conv.groups == conv.in_channels and max(conv.stride) > 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        if x.device.type != "cpu":
            return self.act(conv(x))
        padding = same_padding(conv, x) if isinstance(conv, SameConv2d) else conv.padding
        bf16 = torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
        dtype = torch.bfloat16 if bf16 else x.dtype
        # oneDNN's bf16 primitives need native bf16; without it autocast's emulation runs
        native = dtype == torch.float32 or (dtype == torch.bfloat16 and native_bf16())
        if padding is None or not native:
            return self.act(conv(x))
        weight, bias = conv.weight.to(dtype), None if conv.bias is None else conv.bias.to(dtype)
        spec = dict(stride=tuple(conv.stride), padding=tuple(padding),
                    dilation=tuple(conv.dilation), groups=conv.groups)
        return _ConvActFunction.apply(
            x.to(dtype), weight, bias, spec, self.attr, self.scalars, bf16 and self.strided_depthwise
        )


def fuse_conv_activations(net: nn.Module, original: nn.Module, keep: Iterable[str] = ()) -> nn.Module:
    """Fuse, in place, each Conv2d with the ReLU or ReLU6/Hardtanh that takes its output, and
    return `net`. Only pairs whose order is certainly the data flow are fused: consecutive
    children of an nn.Sequential, and a conv with the activation left in the slot of a BatchNorm
    that carried it (timm's BatchNormAct2d, after folding); a ReLU module that a forward reuses
    elsewhere (ResNet's) is never touched. `original` is the net before folding. Convs named in
    `keep` are left alone: their own output is a captured layer."""
    if not fusion_available():
        return net
    keep, before = set(keep), dict(original.named_modules())
    for parent_name, parent in list(net.named_modules()):
        children = list(parent.named_children())
        for (conv_name, conv), (act_name, act) in zip(children, children[1:]):
            path = f"{parent_name}.{conv_name}" if parent_name else conv_name
            act_path = f"{parent_name}.{act_name}" if parent_name else act_name
            in_flow = isinstance(parent, nn.Sequential) or isinstance(before.get(act_path), nn.BatchNorm2d)
            if path in keep or not in_flow or not _fusable(conv, act):
                continue
            setattr(parent, conv_name, FusedConvAct(conv, act))
            setattr(parent, act_name, nn.Identity())
    return net
