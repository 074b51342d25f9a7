"""Fold eval-mode BatchNorm into the convolution before it: one fewer pass over every activation.

Only Conv2d -> BatchNorm2d pairs that are consecutive children of one parent are folded; in the
registered architectures (timm EfficientNet, torchvision ResNet/GoogLeNet/Inception) that order is
also the data flow. Module names are kept (the BN slot becomes Identity or the BN's activation),
so the dotted layer names of the catalogue stay valid.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

__all__ = ["fold_batchnorm"]


def _replacement(bn: nn.BatchNorm2d) -> nn.Module:
    """What is left of a BN after its affine part moved into the conv: timm's BatchNormAct2d
    still applies its dropout then activation (in that order, as in its forward)."""
    act = getattr(bn, "act", None)
    drop = getattr(bn, "drop", None)
    if act is None:
        return nn.Identity()
    if drop is not None and not isinstance(drop, nn.Identity):
        return nn.Sequential(drop, act)
    return act


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    return (
        isinstance(conv, nn.Conv2d)
        and isinstance(bn, nn.BatchNorm2d)
        and bn.running_mean is not None  # no running stats: BN depends on the batch
        and bn.running_var is not None
        and conv.out_channels == bn.num_features
    )


@torch.no_grad()
def fold_batchnorm(net: nn.Module, keep: Iterable[str] = ()) -> nn.Module:
    """A copy of `net` (in eval mode) with Conv2d+BatchNorm2d pairs fused. Convs named in `keep`
    are left alone: their own output is captured as a layer, and folding would change it."""
    keep = set(keep)
    folded = copy.deepcopy(net).eval()
    for parent_name, parent in list(folded.named_modules()):
        children = list(parent.named_children())
        for (conv_name, conv), (bn_name, bn) in zip(children, children[1:]):
            path = f"{parent_name}.{conv_name}" if parent_name else conv_name
            if path in keep or not _foldable(conv, bn):
                continue
            weight, bias = fuse_conv_bn_weights(
                conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
            )
            conv.weight = nn.Parameter(weight.detach(), requires_grad=False)
            conv.bias = nn.Parameter(bias.detach(), requires_grad=False)
            setattr(parent, bn_name, _replacement(bn))
    return folded
