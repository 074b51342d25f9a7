"""The CLI with any model: `--model file.py:factory`, mistyped model names, `models --all`,
offline weights, and checkpoints passed with --weights (GoogLeNet's, a Places365-style one with
--labels). Random weights only, no network; run in-process with click's CliRunner."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from deepdreamer.cli import cli

from .test_cli import CHELSEA, assert_no_leftovers, assert_one_line_error

CHEAP = ["--max-size", "64", "--octaves", "1", "--steps", "2", "--seed", "0", "-q"]

MODEL_FILE = textwrap.dedent(
    """
    import torch
    import torch.nn as nn

    import deepdreamer as dd


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            )
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(32, 3)

        def forward(self, x):
            return self.fc(self.pool(self.features(x)).flatten(1))


    def make():
        torch.manual_seed(0)
        return Net()


    def make_wrapped():
        return dd.wrap_model(make(), labels=["red", "green", "blue"], default_layer="features.4")


    def boom():
        raise RuntimeError("no weights here")


    def not_a_module():
        return 42
    """
)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)


@pytest.fixture
def model_file(tmp_path) -> Path:
    path = tmp_path / "mynet.py"
    path.write_text(MODEL_FILE)
    return path


def dreamed(out: Path) -> np.ndarray:
    with Image.open(out) as img:
        pixels = np.asarray(img.convert("RGB"), np.float32)
        src = Image.open(CHELSEA).convert("RGB").resize(img.size, Image.LANCZOS)
    assert np.abs(pixels - np.asarray(src, np.float32)).mean() > 0.5  # it was dreamed
    return pixels


# ---------------------------------------------------------------- --model file.py:factory


def test_dream_with_a_model_file(runner, model_file, tmp_path):
    out = tmp_path / "out.png"
    result = run(runner, "dream", CHELSEA, "-o", out, *CHEAP, "--model", f"{model_file}:make")
    assert result.exit_code == 0, result.stderr
    dreamed(out)
    settings = json.loads(run(runner, "info", out).stdout)
    assert settings["model"] == f"{model_file}:make"


def test_dream_toward_a_class_of_a_wrapped_model_file(runner, model_file, tmp_path):
    out = tmp_path / "green.png"
    spec = f"{model_file}:make_wrapped"
    result = run(runner, "dream", CHELSEA, "-o", out, *CHEAP, "--model", spec, "--objective", "class:green")
    assert result.exit_code == 0, result.stderr
    dreamed(out)
    bad = run(runner, "dream", CHELSEA, "-o", tmp_path / "x.png", *CHEAP, "--model", spec,
              "--objective", "class:gren")
    assert_one_line_error(bad, contains="did you mean 'green'")


def test_layers_of_a_model_file(runner, model_file):
    result = run(runner, "layers", f"{model_file}:make")
    assert result.exit_code == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:] if not line.startswith("(")}
    assert {"features.0", "features.4", "features", "fc"} <= set(rows)
    assert "(class logits)" in rows["fc"] and rows["fc"].split()[1] == "3"
    assert sum("(default)" in line for line in rows.values()) == 1
    wrapped = run(runner, "layers", f"{model_file}:make_wrapped")
    assert wrapped.exit_code == 0, wrapped.stderr
    assert any(line.startswith("features.4 ") and "(default)" in line for line in wrapped.stdout.splitlines())


def test_a_model_file_imports_modules_beside_it(runner, tmp_path):
    (tmp_path / "helper_blocks.py").write_text(
        "import torch.nn as nn\n"
        "def body():\n    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))\n"
    )
    (tmp_path / "usesit.py").write_text("from helper_blocks import body\n\ndef make():\n    return body()\n")
    result = run(runner, "layers", f"{tmp_path / 'usesit.py'}:make")
    assert result.exit_code == 0, result.stderr
    assert "(default)" in result.stdout


@pytest.mark.parametrize(
    "factory, contains",
    [
        ("mak", "unknown factory 'mak' in "),
        ("boom", "boom() raised RuntimeError: no weights here"),
        ("not_a_module", "expected a torch.nn.Module, got int"),
    ],
)
def test_model_file_factory_errors_are_one_line(runner, model_file, tmp_path, factory, contains):
    for command in (["layers"], ["dream", CHELSEA, "-o", tmp_path / "out.png", *CHEAP, "--model"]):
        result = run(runner, *command, f"{model_file}:{factory}")
        line = assert_one_line_error(result, contains=contains)
    if factory == "mak":
        assert line.endswith("did you mean 'make'?")
    assert_no_leftovers(tmp_path, model_file)


@pytest.mark.parametrize(
    "source, contains",
    [
        (None, "no such file"),
        ("import not_a_module_xyz\n", "failed to import: ModuleNotFoundError: No module named 'not_a_module_xyz'"),
        ("def make(:\n", "failed to import: SyntaxError"),
        ("raise ValueError('bad config')\n", "failed to import: ValueError: bad config"),
    ],
)
def test_model_file_errors_are_one_line(runner, tmp_path, source, contains):
    path = tmp_path / "broken.py"
    if source is not None:
        path.write_text(source)
    result = run(runner, "dream", CHELSEA, "-o", tmp_path / "out.png", *CHEAP, "--model", f"{path}:make")
    assert_one_line_error(result, contains=contains)
    assert_one_line_error(run(runner, "layers", f"{path}:make"), contains=contains)
    assert not (tmp_path / "out.png").exists()


# ---------------------------------------------------------------- mistyped names, listings


@pytest.mark.parametrize(
    "name, suggested",
    [
        ("resnet5", "'resnet50'"),
        ("torchvision:resnet5", "'torchvision:resnet50'"),
        ("timm:convnext_atoo", "'timm:convnext_atto'"),
        ("resnet18", "'timm:resnet18', 'torchvision:resnet18'"),  # the prefixed names
    ],
)
def test_a_wrong_model_is_one_line_with_a_suggestion(runner, tmp_path, name, suggested):
    result = run(runner, "dream", CHELSEA, "-o", tmp_path / "out.png", *CHEAP, "--model", name)
    line = assert_one_line_error(result, expected_start=f"error: unknown model '{name}'; did you mean ")
    assert suggested in line
    assert_one_line_error(run(runner, "layers", name), contains=suggested)
    assert_no_leftovers(tmp_path)


def test_models_all_with_a_pattern_lists_torchvision_and_timm(runner):
    result = run(runner, "models", "--all", "convnext")
    assert result.exit_code == 0, result.stderr
    names = result.stdout.split()
    assert "torchvision:convnext_tiny" in names and "timm:convnext_atto" in names
    assert all("convnext" in n for n in names)
    glob = run(runner, "models", "--all", "timm:convnext_at*")
    assert glob.exit_code == 0 and set(glob.stdout.split()) >= {"timm:convnext_atto", "timm:convnext_atto_ols"}
    assert "torchvision:convnext_tiny" not in glob.stdout


def test_models_pattern_without_all_is_a_usage_error(runner):
    for pattern in ("convnext", "resnet"):  # 'resnet' matches the curated resnet50 too
        result = run(runner, "models", pattern)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert "add --all" in result.stderr and "Traceback" not in result.stderr
    plain = run(runner, "models")
    assert plain.exit_code == 0 and "efficientnet-lite0" in plain.stdout and "timm:" not in plain.stdout


# ---------------------------------------------------------------- weights


def test_offline_timm_is_one_line_naming_weights_file(runner, tmp_path, monkeypatch):
    import socket

    from huggingface_hub import constants

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(socket, "create_connection", offline)  # and never a real request
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    result = run(runner, "dream", CHELSEA, "-o", tmp_path / "out.png", *CHEAP, "--model", "timm:resnet18")
    line = assert_one_line_error(result)
    assert line == (
        "error: cannot download the weights of 'timm:resnet18' (offline?); "
        "pass a local state dict with --weights FILE"
    )
    assert_no_leftovers(tmp_path)


@pytest.fixture(scope="module")
def googlenet_weights(tmp_path_factory):
    import torchvision.models as tvm

    d = tmp_path_factory.mktemp("googlenet")
    torch.manual_seed(0)
    with_aux = tvm.googlenet(weights=None, aux_logits=True, init_weights=False).state_dict()
    assert any(k.startswith("aux2.") for k in with_aux)  # as torchvision's real checkpoint
    torch.save(with_aux, d / "googlenet_aux.pth")
    torch.save({k: v for k, v in with_aux.items() if not k.startswith("aux")}, d / "googlenet.pth")
    return d


@pytest.mark.parametrize("name", ["googlenet.pth", "googlenet_aux.pth"])
def test_googlenet_with_local_weights(runner, tmp_path, googlenet_weights, name):
    out = tmp_path / "g.png"
    weights = googlenet_weights / name
    result = run(runner, "dream", CHELSEA, "-o", out, *CHEAP, "--model", "googlenet", "--weights", weights)
    assert result.exit_code == 0, result.stderr
    dreamed(out)
    settings = json.loads(run(runner, "info", out).stdout)
    assert settings["model"] == "googlenet" and settings["weights"] == str(weights)


def places_args(places, out, labels="labels", objective="class:airfield"):
    return ["dream", CHELSEA, "-o", out, *CHEAP, "--model", "torchvision:resnet18",
            "--weights", places["weights"], "--labels", places[labels],
            "--objective", objective]


def test_places365_checkpoint_with_labels(runner, tmp_path, places):
    out = tmp_path / "airfield.png"
    result = run(runner, *places_args(places, out))
    assert result.exit_code == 0, result.stderr
    dreamed(out)
    settings = json.loads(run(runner, "info", out).stdout)
    assert settings["objective"] == "class:airfield"
    assert settings["labels"] == str(places["labels"])
    other = run(runner, *places_args(places, tmp_path / "shed.png", objective="class:shed_indoor"))
    assert other.exit_code == 0, other.stderr
    typo = run(runner, *places_args(places, tmp_path / "x.png", objective="class:airfeld"))
    assert_one_line_error(typo, contains="did you mean 'airfield'")
    layers = run(runner, "layers", "torchvision:resnet18", "--weights", places["weights"])
    assert layers.exit_code == 0, layers.stderr
    fc = [line for line in layers.stdout.splitlines() if line.startswith("fc ")]
    assert fc and fc[0].split()[1] == "365" and "(class logits)" in fc[0]
    assert_no_leftovers(tmp_path, out, tmp_path / "shed.png")


def test_places365_labels_of_the_wrong_count_are_one_line(runner, tmp_path, places):
    result = run(runner, *places_args(places, tmp_path / "out.png", labels="short"))
    assert_one_line_error(result, contains="hold 364 names but torchvision:resnet18 has 365 classes")
    assert_no_leftovers(tmp_path)


def test_places365_without_labels_asks_for_them(runner, tmp_path, places):
    args = places_args(places, tmp_path / "out.png")
    i = args.index("--labels")
    result = run(runner, *(args[:i] + args[i + 2:]))
    assert_one_line_error(result, contains="--labels FILE")
    by_index = run(runner, *(args[:i] + args[i + 2:-1]), "class:364")
    assert by_index.exit_code == 0, by_index.stderr
