"""`deepdreamer visualize` and `deepdreamer activations`, run in-process (cheap sizes/steps)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from deepdreamer.io import read_settings

from .test_cli import CHELSEA, assert_one_line_error, run



@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


CHEAP = ["--size", "48", "--steps", "2", "--seed", "3", "-q"]


def test_visualize_writes_the_image_with_its_settings(runner, tmp_path):
    out = tmp_path / "fish.png"
    result = run(runner, "visualize", "class:goldfish", "-o", out, *CHEAP)
    assert result.exit_code == 0, result.stderr
    assert Image.open(out).size == (48, 48)
    settings = read_settings(out)
    assert settings["kind"] == "visualize" and settings["objective"] == "class:goldfish"
    assert settings["seed"] == 3 and settings["param"] == "fourier"


def test_visualize_batch_writes_numbered_files_and_default_names(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(runner, "visualize", "blocks.3:5", "--batch", "2", "--diversity", "1", *CHEAP)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["blocks.3-5-1.png", "blocks.3-5-2.png"]
    assert read_settings(tmp_path / "blocks.3-5-2.png")["item"] == 2


def test_visualize_sheet_is_one_labelled_image(runner, tmp_path):
    out = tmp_path / "sheet.png"
    result = run(runner, "visualize", "blocks.3:0-3", "--sheet", "-o", out, *CHEAP)
    assert result.exit_code == 0, result.stderr
    w, h = Image.open(out).size
    assert w > 2 * 48 and h > 2 * 48 and read_settings(out)["sheet"] is True


def test_visualize_bad_input_is_one_line_and_writes_nothing(runner, tmp_path):
    out = tmp_path / "x.png"
    line = assert_one_line_error(run(runner, "visualize", "class:dumbell", "-o", out, *CHEAP))
    assert "dumbbell" in line  # the close name is suggested
    assert_one_line_error(run(runner, "visualize", "blocks.5:0-999", "--sheet", "-o", out, *CHEAP),
                          contains="out of range")
    assert_one_line_error(run(runner, "visualize", "blocks.5:1-3", "--sheet", "--batch", "2", "-o", out, *CHEAP),
                          contains="--sheet")
    assert_one_line_error(run(runner, "visualize", "blocks.3:1", "-o", out, *CHEAP, "--size", "8"),
                          contains="size")
    assert not out.exists()
    out.write_bytes(b"mine")
    assert_one_line_error(run(runner, "visualize", "blocks.3:1", "-o", out, *CHEAP), contains="--force")
    assert out.read_bytes() == b"mine"


def test_activations_writes_the_grid_and_protects_the_input(runner, tmp_path):
    out = tmp_path / "maps.png"
    result = run(runner, "activations", CHELSEA, "--layer", "blocks.3", "--top", "4", "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    settings = read_settings(out)
    assert settings["kind"] == "activations" and len(settings["channels"]) == 4
    assert Image.open(out).width > Image.open(out).height
    assert_one_line_error(run(runner, "activations", CHELSEA, "--layer", "blocks.33", "-o", out, "--force"),
                          contains="blocks.3")
    assert_one_line_error(run(runner, "activations", tmp_path / "none.jpg", "-o", tmp_path / "m2.png"))
