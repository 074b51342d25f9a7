"""TF 'SAME' padding without the padded copy.

timm's Conv2dSame (TF-trained nets such as Lite0) pads every input with F.pad before a stride-2
convolution: a full copy of a large activation in the forward pass and another in the backward.
When the padding happens to be symmetric (odd input sizes for kernel 3 and 5, stride 2) the
convolution can pad by itself, which costs nothing extra. `symmetric_same_convs` swaps in a conv
that does that when it can and pads as before when it cannot, so results are identical for every
size; the engine feeds sizes of the form 16k+1 so that it can (see engine/step.py)."""

from __future__ import annotations

import math

import torch.nn as nn
import torch.nn.functional as F

__all__ = ["SameConv2d", "same_padding", "symmetric_same_convs", "has_same_convs"]


def _same(n: int, k: int, s: int, d: int) -> int:
    return max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)


def _same_pads(conv: nn.Conv2d, x) -> tuple[int, int]:
    """TF 'SAME' total padding (rows, columns) for input `x`."""
    return (
        _same(x.shape[-2], conv.kernel_size[0], conv.stride[0], conv.dilation[0]),
        _same(x.shape[-1], conv.kernel_size[1], conv.stride[1], conv.dilation[1]),
    )


def same_padding(conv: nn.Conv2d, x) -> tuple[int, int] | None:
    """The symmetric padding that gives TF 'SAME' output for `x`, or None when 'SAME' needs
    one more row or column on one side (then the input must be padded first)."""
    pad_h, pad_w = _same_pads(conv, x)
    if pad_h % 2 or pad_w % 2:
        return None
    return pad_h // 2, pad_w // 2


class SameConv2d(nn.Conv2d):
    """A Conv2d with TF 'SAME' padding that pads inside the convolution when it can."""

    def forward(self, x):
        pad_h, pad_w = _same_pads(self, x)
        if pad_h % 2 or pad_w % 2:
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
            padding = (0, 0)
        else:
            padding = (pad_h // 2, pad_w // 2)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


def _is_timm_same(module: nn.Module) -> bool:
    return type(module).__name__ == "Conv2dSame" and isinstance(module, nn.Conv2d)


def symmetric_same_convs(net: nn.Module) -> nn.Module:
    """Replace timm Conv2dSame modules of `net` in place (same names, same parameters)."""
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if _is_timm_same(child):
                conv = SameConv2d(
                    child.in_channels, child.out_channels, child.kernel_size, child.stride, 0,
                    child.dilation, child.groups, child.bias is not None,
                    device=child.weight.device, dtype=child.weight.dtype,  # the net's, not the default
                )
                conv.weight, conv.bias = child.weight, child.bias
                setattr(parent, name, conv)
    return net


def has_same_convs(net: nn.Module) -> bool:
    return any(isinstance(m, SameConv2d) for m in net.modules())
