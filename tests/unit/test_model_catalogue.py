"""The measured layer catalogue: the curated entries measure exactly what their hand-typed tables
said, the probe's rules (default layer, logits layer, fixed input size, layouts) hold on real
forwards of CNNs, channels-last nets and ViTs, the 'meta' probe measures what a real net gives,
and the errors a user meets. Random weights only, no download. (Every torchvision architecture
against a real forward: test_catalogue_all_models.py.)"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from deepdreamer.models import REGISTRY, capture, get_entry, load_model
from deepdreamer.models.probe import DEFAULT_STRIDE, measure, measure_entry

# ---------------------------------------------------------------- the old hand-typed tables

# The tables as they were typed by hand before the probe, in git at 7be17dc
# (src/deepdreamer/models/_registry.py): (name, channels, stride), in listing order.


def _old_vgg(convs_per_stage: tuple[int, ...]) -> list[tuple[str, int, int]]:
    """7be17dc's _vgg_layers: each ReLU of `features`, channels doubling to 512 per stage."""
    layers, index, stride = [], 0, 1
    for stage, n in enumerate(convs_per_stage):
        for _ in range(n):
            layers.append((f"features.{index + 1}", min(64 * 2**stage, 512), stride))
            index += 2
        index += 1  # the max-pool closing the stage
        stride *= 2
    return layers + [("classifier.6", 1000, 32)]


_LITE0_BLOCKS = (1, 2, 2, 3, 3, 4, 1)
_LITE0_STAGES = ((16, 2), (24, 4), (40, 8), (80, 16), (112, 16), (192, 32), (320, 32))

OLD_TABLES = {
    "efficientnet-lite0": [("conv_stem", 32, 2)]
    + [
        layer
        for s, (c, st) in enumerate(_LITE0_STAGES)
        for layer in [*((f"blocks.{s}.{b}", c, st) for b in range(_LITE0_BLOCKS[s])), (f"blocks.{s}", c, st)]
    ]
    + [("conv_head", 1280, 32), ("classifier", 1000, 32)],
    "googlenet": [
        ("conv3", 192, 4), ("inception3a", 256, 8), ("inception3b", 480, 8),
        ("inception4a", 512, 16), ("inception4b", 512, 16), ("inception4c", 512, 16),
        ("inception4d", 528, 16), ("inception4e", 832, 16), ("inception5a", 832, 32),
        ("inception5b", 1024, 32), ("fc", 1000, 32),
    ],
    "inception_v3": [
        ("Mixed_5b", 256, 8), ("Mixed_5c", 288, 8), ("Mixed_5d", 288, 8), ("Mixed_6a", 768, 16),
        ("Mixed_6b", 768, 16), ("Mixed_6c", 768, 16), ("Mixed_6d", 768, 16), ("Mixed_6e", 768, 16),
        ("Mixed_7a", 1280, 32), ("Mixed_7b", 2048, 32), ("Mixed_7c", 2048, 32), ("fc", 1000, 32),
    ],
    "vgg16": _old_vgg((2, 2, 3, 3, 3)),
    "vgg19": _old_vgg((2, 2, 4, 4, 4)),
    "resnet50": [("layer1", 256, 4), ("layer2", 512, 8), ("layer3", 1024, 16), ("layer4", 2048, 32), ("fc", 1000, 32)],
}
OLD_DEFAULT_AND_LOGITS = {
    "efficientnet-lite0": ("blocks.4", "classifier"),
    "googlenet": ("inception4c", "fc"),
    "inception_v3": ("Mixed_6b", "fc"),
    "vgg16": ("features.22", "classifier.6"),
    "vgg19": ("features.26", "classifier.6"),
    "resnet50": ("layer3", "fc"),
}


def test_the_old_tables_cover_every_curated_entry():
    assert set(OLD_TABLES) == set(REGISTRY) == set(OLD_DEFAULT_AND_LOGITS)
    assert len(OLD_TABLES["efficientnet-lite0"]) == 1 + sum(_LITE0_BLOCKS) + len(_LITE0_BLOCKS) + 2
    assert OLD_TABLES["vgg19"][-2] == ("features.35", 512, 16)  # conv5_4's ReLU


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_curated_entry_measures_what_its_old_table_said(name):
    entry = REGISTRY[name]
    assert [(i.name, i.channels, i.stride) for i in entry.layers] == OLD_TABLES[name]
    assert (entry.default_layer, entry.logits_layer) == OLD_DEFAULT_AND_LOGITS[name]
    assert [i.layout for i in entry.layers] == ["nchw"] * (len(OLD_TABLES[name]) - 1) + ["vector"]
    assert entry.input_size is None  # every one of them takes any size
    assert entry.classes == 1000


# ---------------------------------------------------------------- the rules, on real forwards

SAMPLE = [
    "torchvision:resnet50",
    "torchvision:efficientnet_b0",
    "torchvision:convnext_tiny",
    "torchvision:swin_t",  # channels-last blocks
    "torchvision:vit_b_16",  # tokens, fixed 224 x 224
    "torchvision:squeezenet1_1",  # logits flattened outside any module
    "timm:convnext_atto",
    "timm:vit_tiny_patch16_224",  # tokens at any size (dynamic_img_size)
    "timm:efficientnet_b0",
]


@pytest.fixture(scope="module")
def models():
    """Each model built once for this file (random weights)."""
    cache = {}

    def get(spec: str):
        if spec not in cache:
            cache[spec] = load_model(spec, pretrained=False)
        return cache[spec]

    return get


@pytest.mark.parametrize("spec", SAMPLE)
def test_default_layer_is_a_stride_16_map_when_there_is_one(spec):
    entry = get_entry(spec)
    layers = entry.catalogue.layers
    assert entry.picked_default is None  # the rule's choice, not a curated one
    assert any(i.stride == DEFAULT_STRIDE and i.layout != "vector" for i in layers.values())
    default = entry.layer(entry.default_layer)
    assert default.stride == DEFAULT_STRIDE and default.layout != "vector", default
    assert entry.default_layer in entry.layer_names
    # the middle of a stage's run of blocks, not its first
    same_stride = [n for n in entry.layer_names if layers[n].stride == DEFAULT_STRIDE and layers[n].layout != "vector"]
    assert entry.default_layer != same_stride[0], same_stride


def test_default_layer_of_a_net_without_stride_16_is_the_middle_of_its_maps():
    entry = get_entry("torchvision:vit_h_14")  # 14 px patches: every token map is at stride 14
    maps = [i for i in entry.catalogue.layers.values() if i.layout != "vector"]
    assert {i.stride for i in maps} == {14}  # conv_proj too: 224 px / 16 positions
    assert entry.default_layer == "encoder.layers.encoder_layer_15"  # of encoder_layer_0 ... _30


@pytest.mark.parametrize("spec", SAMPLE)
def test_logits_layer_gives_the_network_output(spec, models):
    model = models(spec)
    entry = model.entry
    with torch.no_grad():  # torchvision's ViT starts with a zero head: logits all 0 would prove nothing
        for p in model.net.get_submodule(entry.logits_layer).parameters():
            p.normal_(0, 0.02)
    x = torch.rand(1, 3, 160, 224)
    with torch.no_grad(), capture(model, [entry.logits_layer]) as cap:
        got = cap.run(x)[entry.logits_layer]
        want = model.net(model.network_input(x))
    assert want.shape == (1, entry.classes) and entry.classes == 1000
    assert want.std() > 0
    assert got.numel() == want.numel()
    torch.testing.assert_close(got.reshape(want.shape), want, rtol=1e-6, atol=1e-6)


def test_torchvision_vit_is_fixed_size_and_reads_any_input_on_its_grid(models):
    model = models("torchvision:vit_b_16")
    entry = model.entry
    assert entry.input_size == (224, 224)
    with pytest.raises(Exception):  # why: its position table is for 14 x 14 patches only
        with torch.no_grad():
            model.net(torch.rand(1, 3, 160, 224))
    layer = entry.default_layer
    info = entry.layer(layer)
    assert (info.layout, info.stride, info.extra_tokens, info.channels) == ("tokens", 16, 1, 768)
    with torch.no_grad(), capture(model, [layer, "conv_proj"]) as cap:
        acts = cap.run(torch.rand(1, 3, 150, 310))
    assert acts[layer].shape == (1, 768, 14, 14)
    assert acts["conv_proj"].shape == (1, 768, 14, 14)


def _raw_output(model, name: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What the module itself returns, next to what a capture of it gives."""
    raw = {}
    handle = model.net.get_submodule(name).register_forward_hook(lambda m, i, o: raw.setdefault("o", o))
    try:
        with torch.no_grad(), capture(model, [name]) as cap:
            got = cap.run(x)[name]
    finally:
        handle.remove()
    return raw["o"], got


def test_swin_blocks_are_channels_last_and_come_back_channels_first(models):
    model = models("torchvision:swin_t")
    entry = model.entry
    blocks = [n for n in entry.layer_names if n.startswith("features.") and n.count(".") == 2
              and n.split(".")[1] in ("1", "3", "5", "7")]  # the Swin blocks of each stage
    assert len(blocks) >= 8
    for name in blocks:
        assert entry.layer(name).layout == "nhwc", entry.layer(name)
    info = entry.layer("features.5.1")
    assert (info.channels, info.stride) == (384, 16)
    raw, got = _raw_output(model, "features.5.1", torch.rand(1, 3, 224, 288))
    assert raw.shape == (1, 14, 18, 384)  # as the module returns it
    assert got.shape == (1, 384, 14, 18)
    assert torch.equal(got, raw.permute(0, 3, 1, 2))


def test_timm_vit_blocks_are_tokens_read_as_maps_at_any_multiple_of_16(models):
    model = models("timm:vit_tiny_patch16_224")
    entry = model.entry
    assert entry.input_size is None  # dynamic_img_size: any size
    blocks = [n for n in entry.layer_names if n.startswith("blocks.") and n.count(".") == 1]
    assert len(blocks) == 11  # blocks.11 is inner to `blocks` (the same tensor)
    for name in blocks:
        info = entry.layer(name)
        assert (info.layout, info.extra_tokens, info.stride, info.channels) == ("tokens", 1, 16, 192), info
    for h, w in ((160, 224), (224, 160), (96, 320)):
        raw, got = _raw_output(model, "blocks.5", torch.rand(1, 3, h, w))
        assert raw.shape == (1, 1 + (h // 16) * (w // 16), 192)
        assert got.shape == (1, 192, h // 16, w // 16)
        # the class token dropped, the patches row by row on the grid
        assert torch.equal(got[0, :, 1, 2], raw[0, 1 + 1 * (w // 16) + 2])


def test_a_net_that_takes_only_256_px_is_probed_at_256():
    model = load_model("timm:maxvit_pico_rw_256", pretrained=False)
    with pytest.raises(Exception):  # why: its windows do not tile 224 px
        with torch.no_grad():
            model.net(torch.rand(1, 3, 224, 224))
    entry = model.entry
    assert entry.input_size == (256, 256)
    info = entry.layer(entry.default_layer)
    assert info.stride == DEFAULT_STRIDE
    with torch.no_grad(), capture(model, [entry.default_layer]) as cap:
        a = cap.run(torch.rand(1, 3, 200, 300))[entry.default_layer]
    assert a.shape == (1, info.channels, 256 // 16, 256 // 16)


# ---------------------------------------------------------------- meta probe = real probe


@pytest.mark.parametrize(
    "spec",
    [
        "torchvision:swin_t",
        "torchvision:vit_b_16",  # refuses 224 x 256 on 'meta' as for real
        "timm:vit_tiny_patch16_224",
        "torchvision:regnet_x_400mf",  # its builder computes on tensors: weights alone on 'meta'
    ],
)
def test_meta_probe_measures_what_a_real_net_gives(spec, models):
    model = models(spec)
    entry = model.entry
    real = measure(
        model.net, entry.probe_size, picked=entry.picked_layers, default=entry.picked_default,
        logits=entry.picked_logits, what=entry.name, fixed=entry.fixed_input,
    )
    assert not any(m._forward_hooks for m in model.net.modules())
    assert real == entry.catalogue
    # and the entry's own probe built no real weights
    devices = []

    def build():
        net = entry.build()
        devices.append({p.device.type for p in net.parameters()})
        return net

    assert measure_entry(replace(entry, build=build)) == real
    assert devices == [{"meta"}]


def test_regnet_does_not_build_on_meta_alone():
    """The premise of the weights-only 'meta' build above: RegNet's widths are tensor maths."""
    with pytest.raises(Exception), torch.device("meta"):
        get_entry("torchvision:regnet_x_400mf").build()


# ---------------------------------------------------------------- errors a user meets


def test_unknown_layer_suggests_close_names():
    entry = REGISTRY["efficientnet-lite0"]
    with pytest.raises(KeyError, match=r"did you mean 'blocks\.6'"):
        entry.layer("blocks.9")


def test_unknown_layer_of_a_generic_model_suggests_close_names():
    entry = get_entry("torchvision:resnet18")
    with pytest.raises(KeyError, match=r"unknown layer 'layer3\.7' in torchvision:resnet18; did you mean 'layer3\.1'"):
        entry.layer("layer3.7")
    # any measured module is usable by name, listed or not
    assert "layer3.1.conv2" not in entry.layer_names
    assert entry.layer("layer3.1.conv2").channels == 256


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
