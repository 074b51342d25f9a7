"""Any PyTorch model: torchvision:NAME and timm:NAME with random weights, dd.wrap_model on a
network of one's own, checkpoints of other class counts (Places365), old DenseNet keys, and the
offline errors. Random weights only, no network; every dream is on the small sample photo."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn as nn

import deepdreamer as dd
from deepdreamer.errors import ConfigError, ModelUnavailableError, UnknownNameError
from deepdreamer.io import to_tensor
from deepdreamer.models import capture, load_model, read_labels
from deepdreamer.objectives.parse import parse_objective

DREAM = dict(octaves=1, steps=10, jitter=0, seed=1, max_size=0)
EXACT = dict(DREAM, precision="fp32")  # bf16 (auto on a CPU with it) rounds differently per layout


def l2(model, layer, x, fast=False) -> float:
    with capture(model, [layer], fast=fast) as cap, torch.no_grad():
        return cap.run(x)[layer].pow(2).mean().item()


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text and "\n" not in text, text
    return text


# ---------------------------------------------------------------- torchvision: and timm:


@pytest.fixture(scope="module")
def random_model():
    made = {}

    def get(spec):
        if spec not in made:
            torch.manual_seed(0)
            made[spec] = load_model(spec, pretrained=False)
        return made[spec]

    return get


@pytest.mark.parametrize(
    "spec",
    [
        "torchvision:resnet18",
        "torchvision:vgg11",
        "torchvision:mobilenet_v3_small",
        "timm:efficientnet_b0",  # a CNN (BatchNormAct2d, SiLU, squeeze-excitation)
        "timm:convnext_atto",  # channels-last blocks, LayerNorm
        "timm:vit_tiny_patch16_224",  # tokens; 106x160 is no multiple of its 16 px patches
    ],
)
def test_random_weight_dream_raises_the_default_layer_on_the_fast_path(spec, photo, random_model):
    model = random_model(spec)
    layer = model.entry.default_layer
    assert layer in model.entry.layer_names
    before = l2(model, layer, photo)
    out = dd.dream(photo, model=model, **DREAM)
    assert out.shape == photo.shape
    after = l2(model, layer, out)
    assert after > 2 * before, (before, after)  # measured 4.5x (convnext) to 130x
    assert model.fast_skipped is None
    assert model.record([layer]).net is not model.net  # the dream ran the folded/fused copy


def test_vit_dreams_every_octave_size(photo, random_model):
    """Octave sizes are arbitrary: the patch embedding pads them to its 16 px grid."""
    model = random_model("timm:vit_tiny_patch16_224")
    out = dd.dream(photo, model=model, octaves=3, octave_scale=1.3, steps=1, jitter=5, seed=0, max_size=0)
    assert out.shape == photo.shape


# ---------------------------------------------------------------- dd.wrap_model

LABELS = ["apple", "banana", "cherry", "date", "elderberry"]


class SmallNet(nn.Module):
    """A classifier of one's own: Conv-BN-ReLU blocks, global pooling, 5 logits."""

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


class FeatureNet(nn.Module):
    """A feature extractor: its output is a map, there are no logits."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU()
        )

    def forward(self, x):
        return self.body(x)


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return dd.wrap_model(SmallNet(), labels=LABELS, name="small")


def logits(model, x) -> torch.Tensor:
    with capture(model, ["fc"]) as cap, torch.no_grad():
        return cap.run(x)["fc"][0]


def test_wrapped_model_lists_layers_and_its_own_labels(small):
    entry = small.entry
    assert entry.name == "small"
    assert entry.logits_layer == "fc" and entry.classes == 5
    assert entry.labels == LABELS
    assert entry.default_layer in entry.layer_names
    assert {"features.0", "features.4", "features.8", "fc"} <= set(entry.layer_names)
    assert entry.layer("features.4").channels == 32 and entry.layer("features.4").stride == 2
    assert not any(isinstance(m, nn.ReLU) and m.inplace for m in small.net.modules())


def test_wrapped_model_takes_picked_layers_and_default():
    m = dd.wrap_model(SmallNet(), layers=["features.2", "features.6", "fc"], default_layer="features.6")
    assert m.entry.layer_names == ("features.2", "features.6", "fc")
    assert m.entry.default_layer == "features.6"
    with pytest.raises(ModelUnavailableError, match="features.99"):
        dd.wrap_model(SmallNet(), default_layer="features.99").entry.default_layer


def test_class_objective_with_own_labels_raises_that_logit(small, photo):
    banana = LABELS.index("banana")
    before = logits(small, photo)[banana].item()
    out = dd.dream(photo, model=small, objective="class:banana", **DREAM)
    after = logits(small, out)[banana].item()
    assert after > before + 0.1, (before, after)  # measured 0.18 -> 0.42
    objective = parse_objective("class:Banana", small.entry)
    assert objective.layers == ("fc",)
    acts = {"fc": torch.arange(5.0).view(1, 5) * 10}
    assert objective.fn(acts).item() == pytest.approx(10.0)  # index 1
    assert parse_objective("class:4", small.entry).fn(acts).item() == pytest.approx(40.0)


def test_visualize_toward_a_class_of_own_labels(small):
    kw = dict(model=small, size=48, steps=12, transforms=False, lr=0.2, seed=0)
    cherry = logits(small, to_tensor(dd.visualize("class:cherry", **kw)[0]))
    apple = logits(small, to_tensor(dd.visualize("class:apple", **kw)[0]))
    c, a = LABELS.index("cherry"), LABELS.index("apple")
    assert cherry[c] - cherry[a] > apple[c] - apple[a] + 0.1, (cherry, apple)


def test_class_errors_use_own_labels_in_one_line(small, photo):
    with pytest.raises(UnknownNameError) as info:
        dd.dream(photo, model=small, objective="class:bananna", **DREAM)
    assert one_line(info.value) == "unknown class 'bananna'; did you mean 'banana'?"
    with pytest.raises(UnknownNameError) as info:
        dd.dream(photo, model=small, objective="class:goldfish", **DREAM)
    assert "goldfish" in one_line(info.value) and "did you mean" not in str(info.value)  # not ImageNet's
    with pytest.raises(ConfigError) as info:
        dd.dream(photo, model=small, objective="class:7", **DREAM)
    assert one_line(info.value) == "class index 7 is out of range (0-4)"


def test_labels_count_must_match_the_outputs():
    with pytest.raises(ConfigError) as info:
        dd.wrap_model(SmallNet(), labels=LABELS[:4])
    assert one_line(info.value) == "SmallNet has 5 classes but 4 labels were given"
    with pytest.raises(ConfigError):
        dd.wrap_model(SmallNet(classes=6), labels=LABELS)
    with pytest.raises(ConfigError, match="no class logits"):
        dd.wrap_model(FeatureNet(), labels=LABELS)


def test_unnamed_classes_take_indices_only(photo):
    m = dd.wrap_model(SmallNet(classes=7))  # not 1000: no ImageNet names
    assert m.entry.labels is None and m.entry.classes == 7
    assert parse_objective("class:6", m.entry).layers == ("fc",)
    with pytest.raises(ConfigError) as info:
        parse_objective("class:apple", m.entry)
    assert "--labels FILE" in one_line(info.value)


def test_feature_extractor_dreams_but_has_no_class_objective(photo):
    m = dd.wrap_model(FeatureNet())
    assert m.entry.logits_layer is None and m.entry.classes == 0 and m.entry.labels is None
    layer = m.entry.default_layer
    assert layer in m.entry.layer_names
    before = l2(m, layer, photo)
    out = dd.dream(photo, model=m, **DREAM)
    assert l2(m, layer, out) > before
    for spec in ("class:0", "class:apple"):
        with pytest.raises(ConfigError) as info:
            dd.dream(photo, model=m, objective=spec, **DREAM)
        assert "no class logits" in one_line(info.value)


def test_fixed_input_size_is_fed_resized(photo):
    class Flat(nn.Module):  # a Linear over the flattened map: takes 64x64 only
        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU())
            self.fc = nn.Linear(8 * 32 * 32, 4)

        def forward(self, x):
            return self.fc(self.conv(x).flatten(1))

    with pytest.raises(ModelUnavailableError) as info:
        dd.wrap_model(Flat()).entry.layer_names
    one_line(info.value)
    m = dd.wrap_model(Flat(), input_size=(64, 64))
    assert m.entry.input_size == (64, 64)
    out = dd.dream(photo, model=m, objective="class:3", **DREAM)
    assert out.shape == photo.shape and (out - photo).abs().mean() > 1e-3


# ---- BatchNorm folding must not trust a sibling order that is not the data flow


def _random_bn(net: nn.Module) -> nn.Module:
    """Running statistics far from (0, 1): a wrongly folded BN then changes the result."""
    g = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) * 2 + 0.3)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.3)
    return net


class BnOnAnotherBranch(nn.Module):
    """conv and bn are siblings, but bn normalises conv's input, not its output."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        return self.head(torch.relu(self.conv(x) + self.bn(x)))


class BnAfterTheNextConv(nn.Module):
    """Defined conv1, bn, conv2, but bn follows conv2 in the forward."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.out = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        return self.out(torch.relu(self.bn(self.conv2(torch.relu(self.conv1(x))))))


class SharedConv(nn.Module):
    """One conv used twice in a Sequential, each time followed by its own BN."""

    def __init__(self):
        super().__init__()
        conv = nn.Conv2d(8, 8, 3, padding=1)
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.body = nn.Sequential(conv, nn.BatchNorm2d(8), nn.ReLU(), conv, nn.BatchNorm2d(8), nn.ReLU())

    def forward(self, x):
        return self.body(torch.relu(self.stem(x)))


class ConvBnRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        )

    def forward(self, x):
        return self.body(x)


def _input_grad(model, layer, x, fast):
    x = x.clone().requires_grad_(True)
    with capture(model, [layer], fast=fast) as cap:
        cap.run(x)[layer].pow(2).mean().backward()
    return x.grad


def _plain_dream(monkeypatch, photo, model):
    """The dream as the plain (unfolded, unfused) net computes it."""
    import deepdreamer.engine.dream as engine

    real = engine.capture

    def plain(m, layers, *, fast=False, precision="fp32"):
        return real(m, layers, fast=False, precision=precision)

    with monkeypatch.context() as mp:
        mp.setattr(engine, "capture", plain)
        return dd.dream(photo, model=model, **EXACT)


def _rel(a, b) -> float:
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("cls", [BnOnAnotherBranch, BnAfterTheNextConv, SharedConv])
def test_siblings_that_are_not_data_flow_fall_back_to_the_plain_net(cls, photo, monkeypatch):
    torch.manual_seed(0)
    m = dd.wrap_model(_random_bn(cls()))
    layer = m.entry.default_layer
    # what a blind fold of the sibling pair would compute is really different here
    from deepdreamer.models import fold_batchnorm

    x = m.normalize(photo)
    assert _rel(fold_batchnorm(m.net)(x), m.net(x)) > 1e-2
    fast_grad = _input_grad(m, layer, photo, fast=True)
    assert m.fast_skipped is not None
    assert m.record([layer]).net is m.net
    assert _rel(fast_grad, _input_grad(m, layer, photo, fast=False)) < 1e-4
    dreamed = dd.dream(photo, model=m, **EXACT)
    assert (dreamed - photo).abs().mean() > 1e-3
    assert torch.allclose(dreamed, _plain_dream(monkeypatch, photo, m), atol=1e-4)


def test_conv_bn_relu_sequential_keeps_the_fast_path(photo, monkeypatch):
    torch.manual_seed(0)
    m = dd.wrap_model(_random_bn(ConvBnRelu()))
    layer = m.entry.default_layer
    fast_grad = _input_grad(m, layer, photo, fast=True)
    assert m.fast_skipped is None
    fast = m.record([layer]).net
    assert fast is not m.net and not any(isinstance(x, nn.BatchNorm2d) for x in fast.modules())
    assert _rel(fast_grad, _input_grad(m, layer, photo, fast=False)) < 1e-4
    dreamed = dd.dream(photo, model=m, **EXACT)
    assert (dreamed - _plain_dream(monkeypatch, photo, m)).abs().max() < 2e-3


# ---- zoom and video take a wrapped model


def test_zoom_takes_a_wrapped_model(small, sample_photo):
    frames = list(dd.zoom(sample_photo, None, small, frames=2, octaves=1, steps=2, max_size=64, seed=0))
    assert len(frames) == 2 and all(f.size == (64, 43) for f in frames)
    a, b = (np.asarray(f, np.float32) for f in frames)
    assert np.abs(a - b).mean() > 0.5


def _tiny_video(path, frames=3, size=(64, 48)):
    import av

    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv444p"
        for i in range(frames):
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 8)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_dream_video_takes_a_wrapped_model(small, tmp_path):
    video = _tiny_video(tmp_path / "in.mp4")
    frames = list(dd.dream_video(video, None, small, octaves=1, steps=2, seed=0))
    assert len(frames) == 3 and all(f.size == (64, 48) for f in frames)


# ---------------------------------------------------------------- checkpoints and labels

def test_places365_checkpoint_rebuilds_the_head_and_reads_its_labels(places):
    m = load_model("torchvision:resnet18", weights=places["weights"], labels=places["labels"])
    assert m.entry.classes == 365 and m.entry.logits_layer == "fc"
    assert m.net.fc.out_features == 365
    assert torch.equal(m.net.fc.weight, places["state"]["fc.weight"])
    assert m.entry.labels[:3] == ["airfield", "airplane cabin", "shed indoor"]
    acts = {"fc": torch.zeros(1, 365)}
    acts["fc"][0, 2] = 7.0
    assert parse_objective("class:shed_indoor", m.entry).fn(acts).item() == pytest.approx(7.0)
    assert parse_objective("class:airfield", m.entry).fn(acts).item() == 0.0
    with pytest.raises(UnknownNameError, match="did you mean 'airfield'"):
        parse_objective("class:airfeld", m.entry)


def test_places365_without_labels_takes_indices(places):
    m = load_model("torchvision:resnet18", weights=places["weights"])
    assert m.entry.classes == 365 and m.entry.labels is None  # not ImageNet's 1000
    assert parse_objective("class:364", m.entry).layers == ("fc",)
    with pytest.raises(ConfigError, match="--labels FILE"):
        parse_objective("class:airfield", m.entry)


def test_labels_of_the_wrong_count_are_one_line(places):
    with pytest.raises(ModelUnavailableError) as info:
        load_model("torchvision:resnet18", weights=places["weights"], labels=places["short"])
    assert one_line(info.value).endswith("hold 364 names but torchvision:resnet18 has 365 classes")


def test_checkpoint_of_another_architecture_is_one_line(places):
    with pytest.raises(ModelUnavailableError) as info:
        load_model("torchvision:resnet34", weights=places["weights"])
    assert "do not fit torchvision:resnet34" in one_line(info.value)


def test_read_labels_formats(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("tabby cat\n\ngolden_retriever\n")
    assert read_labels(plain) == ["tabby cat", "golden retriever"]
    shuffled = tmp_path / "indexed.txt"
    shuffled.write_text("/b/bedroom 1\n/a/airfield 0\n/s/shed/indoor 2\n")
    assert read_labels(shuffled) == ["airfield", "bedroom", "shed indoor"]
    gap = tmp_path / "gap.txt"
    gap.write_text("a 0\nb 2\n")
    with pytest.raises(ModelUnavailableError) as info:
        read_labels(gap)
    one_line(info.value)
    with pytest.raises(ModelUnavailableError):
        read_labels(tmp_path / "missing.txt")
    # names that end in numbers are names, not one name with its index
    digits = tmp_path / "digits.txt"
    digits.write_text("".join(f"digit {i}\n" for i in range(10)))
    assert read_labels(digits) == [f"digit {i}" for i in range(10)]
    synsets = tmp_path / "synset_words.txt"
    synsets.write_text("n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n")
    assert read_labels(synsets) == ["tench", "goldfish"]


def test_densenet_checkpoint_with_old_key_names_loads(tmp_path):
    import torchvision.models as tvm

    torch.manual_seed(0)
    sd = tvm.densenet121(weights=None).state_dict()
    old = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))([12]\.\w+)$")
    # as torchvision's and Places365's old files: 'norm.1', and no BN batch counters (PyTorch < 0.4)
    renamed = {old.sub(r"\1.\2", k): v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    assert "features.denseblock1.denselayer1.norm.1.weight" in renamed
    path = tmp_path / "densenet121_old.pth"
    torch.save({"state_dict": renamed}, path)
    m = load_model("torchvision:densenet121", weights=path)
    got = m.net.state_dict()
    assert all(torch.equal(got[k], v) for k, v in sd.items())


def test_googlenet_checkpoint_with_aux_classifiers_loads(tmp_path):
    import torchvision.models as tvm

    torch.manual_seed(0)
    sd = tvm.googlenet(weights=None, aux_logits=True, init_weights=False).state_dict()
    assert any(k.startswith("aux1.") for k in sd)
    path = tmp_path / "googlenet.pth"
    torch.save(sd, path)
    m = load_model("googlenet", weights=path)
    assert torch.equal(m.net.state_dict()["inception4c.branch1.conv.weight"], sd["inception4c.branch1.conv.weight"])
    assert m.entry.classes == 1000 and m.entry.default_layer == "inception4c"


# ---------------------------------------------------------------- offline


def _no_network(monkeypatch, timm_may_load: bool = False) -> list:
    """Every TCP connection refused, and counted; unless `timm_may_load`, timm's own loader must
    not be reached either."""
    import socket

    import timm.models

    tries = []

    def refuse(address, *args, **kwargs):
        tries.append(address)
        raise OSError("no network")

    def never(*args, **kwargs):
        raise AssertionError("timm asked the hub although it cannot be reached")

    monkeypatch.setattr(socket, "create_connection", refuse)
    if not timm_may_load:
        monkeypatch.setattr(timm.models, "load_pretrained", never)
    return tries


def test_offline_timm_is_one_line_naming_weights_file(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    tries = _no_network(monkeypatch)
    with pytest.raises(ModelUnavailableError) as info:
        load_model("timm:resnet18")
    assert one_line(info.value) == (
        "cannot download the weights of 'timm:resnet18' (offline?); "
        "pass a local state dict with --weights FILE"
    )
    assert len(tries) == 1  # one short connect, not huggingface_hub's five retries per file


def test_cached_timm_weights_load_without_the_network(monkeypatch, tmp_path):
    """A file in the Hugging Face cache is loaded as it is: offline, and at once."""
    import safetensors.torch
    import timm
    from huggingface_hub import constants

    torch.manual_seed(3)
    net = timm.create_model("resnet18", pretrained=False)
    repo, _, _ = net.pretrained_cfg["hf_hub_id"].partition("@")
    cache = tmp_path / "hub"
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)
    snapshot = folder / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    safetensors.torch.save_file(net.state_dict(), str(snapshot / "model.safetensors"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    tries = _no_network(monkeypatch, timm_may_load=True)
    model = load_model("timm:resnet18")
    assert not tries
    assert torch.equal(model.net.fc.weight, net.fc.weight)


@pytest.mark.parametrize("spec", ["resnet50", "torchvision:resnet18"])  # curated and by name
def test_offline_torchvision_is_one_line_naming_weights_file(monkeypatch, spec):
    import urllib.error

    from torchvision.models._api import WeightsEnum

    def offline(self, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(WeightsEnum, "get_state_dict", offline)
    with pytest.raises(ModelUnavailableError) as info:
        load_model(spec)
    assert one_line(info.value) == (
        f"cannot download the weights of {spec!r} (offline?); pass a local state dict with --weights FILE"
    )
