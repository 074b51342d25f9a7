"""Every torchvision classification architecture, and every curated entry, builds with random
weights (no download) and its measured catalogue holds on a real forward pass at a size the
probe never saw: channels exactly, and a stride that explains the grid. The input is H x (H + 64):
for any stack of convs and pools, 'SAME' or 'valid' padded, a layer of stride s then has exactly
64 / s more columns than rows, whatever the border a valid conv eats."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from deepdreamer.models import REGISTRY, capture, load_model
from deepdreamer.models.probe import LISTED_MAX
from deepdreamer.models.sources import torchvision_names

SIDE = 128  # rows of the test input (more when the entry's min_size says so)
WIDER = 64  # its extra columns: a multiple of every stride up to 64
BORDER = 64  # px a valid-padded stem may lose (Inception v3 at 128 px: Mixed_7c is 2 rows, not 4)
ADAPTIVE = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)

NAMES = torchvision_names()


def test_the_torchvision_list_is_the_whole_classification_zoo():
    assert len(NAMES) >= 80
    assert {"alexnet", "googlenet", "resnet50", "regnet_y_128gf", "vit_h_14", "swin_v2_b",
            "maxvit_t", "squeezenet1_0", "convnext_large"} <= set(NAMES)
    assert not any(n.startswith(("fasterrcnn", "deeplab", "r3d", "raft")) for n in NAMES)


def _side(output_size, i: int) -> int | None:
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    return size[i]


def check_against_forward(model) -> None:
    """One real forward of every listed layer; what it gives must be what the catalogue says."""
    entry = model.entry
    names = entry.layer_names
    assert entry.default_layer in names and entry.logits_layer in names
    assert len(names) <= LISTED_MAX + 1  # the logits layer may come on top of the rule's list
    default = entry.layer(entry.default_layer)
    assert default.layout != "vector"
    measured = list(entry.catalogue.layers.values())  # every module, in the order they finish
    if entry.picked_default is None and any(m.stride == 16 and m.layout != "vector" for m in measured):
        assert default.stride == 16, default  # the rule's default: a stride-16 map
    h = max(SIDE, entry.min_size)
    w = h + WIDER
    seen = entry.input_size or (h, w)  # what the net is fed: a fixed-size net's input is resized
    with torch.no_grad(), capture(model, names, fast=False) as cap:
        assert any(m._forward_hooks for m in model.net.modules())
        acts = cap.run(torch.rand(1, 3, h, w))
    assert not any(m._forward_hooks for m in model.net.modules()), "capture left hooks behind"

    modules = dict(model.net.named_modules())
    for info in entry.layers:
        a = acts[info.name]
        # what a vector or a pooled map reports: the stride of the coarsest map before it
        coarsest = max((m.stride for m in measured[: measured.index(info)] if m.layout != "vector"), default=1)
        assert a.shape[:2] == (1, info.channels), (info, tuple(a.shape))
        if info.layout == "vector":
            assert a.dim() == 2, (info, tuple(a.shape))
            assert info.stride == coarsest, (info, coarsest)
            continue
        assert a.dim() == 4, (info, tuple(a.shape))  # nhwc and tokens come back as maps too
        gh, gw = a.shape[2:]
        module = modules[info.name]
        if isinstance(module, ADAPTIVE) and _side(module.output_size, 0) is not None:
            # an adaptive pool keeps its own grid whatever the input (VGG's 7x7 avgpool)
            assert (gh, gw) == (_side(module.output_size, 0), _side(module.output_size, 1)), info
            assert info.stride == coarsest, (info, coarsest)
            continue
        if (gh, gw) == (1, 1):  # pooled (a map of stride <= 32 has 2+ more columns than rows here,
            assert info.stride == coarsest, (info, coarsest)  # or on a fixed 224 px is 7 x 7+)
            continue
        s = info.stride
        if entry.input_size is None:
            assert WIDER % s == 0, info
            assert gw - gh == WIDER // s, (info, (h, w), (gh, gw))
            assert seen[0] - BORDER <= gh * s < seen[0] + s, (info, seen, (gh, gw))
        else:  # fed its one size: the grid is that size over the stride
            assert gh == gw and abs(gh * s - seen[0]) < s, (info, seen, (gh, gw))
    logits = acts[entry.logits_layer]
    assert entry.classes == 1000
    assert logits.reshape(1, -1).shape == (1, entry.classes), tuple(logits.shape)


@pytest.mark.parametrize("arch", NAMES)
def test_torchvision_catalogue_matches_a_real_forward(arch):
    check_against_forward(load_model(f"torchvision:{arch}", pretrained=False))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_curated_catalogue_matches_a_real_forward(name):
    model = load_model(name, pretrained=False)
    check_against_forward(model)
    # the smallest input it claims to take goes through
    with torch.no_grad():
        small = model.net(model.network_input(torch.rand(1, 3, model.entry.min_size, model.entry.min_size)))
    assert small.shape == (1, 1000)
