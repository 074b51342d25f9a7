"""Models beyond the curated six on the server: one's own network (`create_app(models=...)`,
`deepdreamer serve --model SPEC`) listed, described with its own layers and labels, and dreamed;
a model the server was not started with is refused with one line and never loaded."""

from __future__ import annotations

import textwrap
from contextlib import contextmanager
from urllib.parse import quote

import pytest
import torch
import torch.nn as nn
from click.testing import CliRunner
from fastapi.testclient import TestClient

import deepdreamer as dd
import deepdreamer.server.run as run_module
from deepdreamer.cli import cli
from deepdreamer.server import ServeConfig, create_app

from .helpers import run_to_end, submit

LABELS = ["cat", "dog", "owl", "fish", "tree"]
TINY = {"max_size": 64, "octaves": 1, "steps": 2, "seed": 1}  # a dream of a few milliseconds


class TinyNet(nn.Module):
    """A user's own small classifier: three strided convs, pooling, five classes."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        return self.head(self.pool(self.features(x)).flatten(1))


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return dd.wrap_model(TinyNet(), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), labels=LABELS, name="tinynet")


@pytest.fixture
def start(tmp_path, lite0, tiny):
    @contextmanager
    def started(**options):
        options.setdefault("results", tmp_path / "results")
        models = options.pop("models_given", [tiny])
        model = options.pop("model", lite0)
        with TestClient(create_app(ServeConfig(**options), model=model, models=models)) as client:
            yield client

    return started


def test_a_wrapped_model_is_listed_with_its_layers_and_labels(start, tiny):
    with start() as client:
        info = client.get("/api/info").json()
        names = [m["name"] for m in info["models"]]
        assert info["model"] == "efficientnet-lite0"
        assert names[:2] == ["efficientnet-lite0", "googlenet"] and names[-1] == "tinynet"
        assert next(m for m in info["models"] if m["name"] == "tinynet")["loaded"] is True

        layers = client.get("/api/models/tinynet/layers").json()
        assert layers["default"] == tiny.entry.default_layer
        assert layers["layers"] == [{"name": l.name, "channels": l.channels, "stride": l.stride,
                                     "layout": l.layout} for l in tiny.entry.layers]
        by_name = {l["name"]: l for l in layers["layers"]}
        assert by_name["features.2"] == {"name": "features.2", "channels": 16, "stride": 4, "layout": "nchw"}
        assert by_name["head"]["layout"] == "vector" and by_name["head"]["channels"] == 5

        assert client.get("/api/models/tinynet/labels").json() == {"labels": LABELS, "classes": 5}
        curated = client.get("/api/models/efficientnet-lite0/labels").json()
        assert len(curated["labels"]) == 1000 and curated["classes"] == 1000
        lite0_layers = client.get("/api/models/efficientnet-lite0/layers").json()["layers"]
        assert {l["layout"] for l in lite0_layers} == {"nchw", "vector"}


def test_a_dream_on_the_wrapped_model_aims_at_one_of_its_classes(start):
    with start() as client:
        job_id, log = run_to_end(client, dict(TINY, model="tinynet", objective="class:owl"))
        assert log[-1][1] == "done", log[-1]
        settings = log[-1][2]["result"]["settings"]
        assert settings["model"] == "tinynet" and settings["objective"] == "class:owl"
        wrong = submit(client, dict(TINY, model="tinynet", objective="class:goldfish"))
        assert wrong.status_code == 400 and "unknown class 'goldfish'" in wrong.json()["detail"]


def test_a_job_without_a_model_uses_the_server_default(start, tiny):
    """The page leaves `model` out for the server's default, which need not be the embedded one."""
    with start(model=tiny, models_given=[]) as client:
        assert client.get("/api/info").json()["model"] == "tinynet"
        _, log = run_to_end(client, TINY)
        assert log[-1][1] == "done" and log[-1][2]["result"]["settings"]["model"] == "tinynet"


def test_a_model_the_server_does_not_serve_is_refused_and_never_loaded(start, tmp_path):
    marker = tmp_path / "imported"
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(marker)!r}, 'w').close()\ndef make():\n    raise SystemExit\n")
    with start() as client:
        cache = client.app.state.deepdreamer.models
        served = set(cache.models)
        for name in ("tinynett", "torchvision:resnet18", "timm:resnet18", f"{evil}:make"):
            for answer in (submit(client, dict(TINY, model=name)),
                           client.get(f"/api/models/{quote(name, safe='')}/layers"),
                           client.get(f"/api/models/{quote(name, safe='')}/labels"),
                           client.get(f"/api/models/{quote(name, safe='')}/layers/head/guide.jpg")):
                assert answer.status_code == 400, (name, answer.text)
                detail = answer.json()["detail"]
                assert detail.startswith(f"unknown model {name!r} on this server") and "\n" not in detail
        assert "did you mean 'tinynet'?" in submit(client, dict(TINY, model="tinynett")).json()["detail"]
        assert set(cache.models) == served and not marker.exists()  # nothing loaded, no file run
        labels = submit(client, dict(TINY, labels="/etc/passwd"))
        assert labels.status_code == 400 and labels.json()["detail"].startswith("labels cannot be set from the web page")


def test_a_model_file_given_at_start_is_served_under_its_spec(start, tmp_path):
    """`deepdreamer serve --model dir/net.py:make`: loaded when the app starts; the name holds
    slashes, which the page's URLs carry encoded."""
    path = tmp_path / "nets" / "net.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(f"""
        import torch, torch.nn as nn, deepdreamer as dd

        def make():
            torch.manual_seed(1)
            net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
            return dd.wrap_model(net, labels={LABELS!r})
    """))
    spec = f"{path}:make"
    with start(models=(spec,), models_given=[]) as client:
        assert [m["name"] for m in client.get("/api/info").json()["models"]][-1] == spec
        assert client.get(f"/api/models/{quote(spec, safe='')}/labels").json()["labels"] == LABELS
        layers = client.get(f"/api/models/{quote(spec, safe='')}/layers").json()
        assert layers["layers"][0] == {"name": "0", "channels": 8, "stride": 2, "layout": "nchw"}
        _, log = run_to_end(client, dict(TINY, model=spec, objective="class:fish"))
        assert log[-1][1] == "done", log[-1]


def _serve(monkeypatch, *args):
    """`deepdreamer serve ARGS` through the real run_server, with uvicorn's loop left out."""
    served = []
    monkeypatch.setattr(run_module._Server, "run", lambda self: served.append(self.app))
    return CliRunner().invoke(cli, ["serve", *args]), served


def test_serve_with_a_bad_model_spec_stops_with_one_line(monkeypatch, tmp_path):
    for spec, start in [("nonsense", "error: unknown model 'nonsense'"),
                        (f"{tmp_path}/missing.py:make", "error: cannot read model file")]:
        result, served = _serve(monkeypatch, "--model", spec, "--results", str(tmp_path))
        assert result.exit_code == 1 and not served, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(start), lines


def test_serve_passes_every_model_spec_on(monkeypatch, tmp_path):
    started = []
    monkeypatch.setattr(run_module, "run_server", lambda config, announce: started.append(config))
    result = CliRunner().invoke(cli, ["serve", "--model", "timm:resnet18", "--model", "x.py:make",
                                      "--model", "timm:resnet18", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert started[0].models == ("timm:resnet18", "x.py:make")
