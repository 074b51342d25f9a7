"""A batch with a network of one's own: a loaded `dd.wrap_model` dreams in the calling process
(dd.batch), a `FILE.py:FACTORY` is loaded by every worker process (the CLI)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from click.testing import CliRunner

import deepdreamer as dd
from deepdreamer.cli import cli
from deepdreamer.errors import ConfigError
from deepdreamer.io import read_settings

from .helpers import files, make_tree

NET_FILE = textwrap.dedent(
    """
    import torch
    import torch.nn as nn

    import deepdreamer as dd


    def make():
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, padding=1),
                            nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 3))
        return dd.wrap_model(net, labels=["red", "green", "blue"], name="tiny")
    """
)


def tiny() -> dd.DreamModel:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, padding=1),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 3))
    return dd.wrap_model(net, labels=["red", "green", "blue"], name="tiny")


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    make_tree(tmp_path / "photos", ["a.jpg", "b.jpg"])
    return tmp_path / "photos"


def test_a_wrapped_model_dreams_a_batch_toward_its_own_class(photos, tmp_path):
    summary = dd.batch(photos, tmp_path / "out", tiny(), objective="class:green", steps=3, octaves=1, seed=1)
    assert summary.done == 2 and not summary.failed
    settings = read_settings(tmp_path / "out" / "a.png")
    assert settings["model"] == "tiny" and settings["objective"] == "class:green"


def test_a_loaded_model_refuses_more_workers_in_one_line(photos, tmp_path):
    with pytest.raises(ConfigError, match="FILE.py:FACTORY"):
        dd.batch(photos, tmp_path / "out", tiny(), workers=2, steps=1)
    assert not (tmp_path / "out" / "a.png").exists()


def test_a_model_file_is_loaded_by_each_worker(photos, tmp_path):
    net_file = tmp_path / "tiny.py"
    net_file.write_text(NET_FILE)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["batch", str(photos), "-o", str(out), "--model", f"{net_file}:make",
                                      "--objective", "class:blue", "--steps", "2", "--octaves", "1",
                                      "--max-size", "96", "--workers", "2", "-q"])
    assert result.exit_code == 0, result.output
    assert set(files(out)) == {"a.png", "b.png"}
    assert read_settings(out / "b.png")["model"] == f"{net_file}:make"
