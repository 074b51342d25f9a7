"""Presets, --config and --from-image on the command line: the same settings and seed give the
same pixels; flags beat files, files beat presets; bad input is one line."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from deepdreamer.io import read_settings
from deepdreamer.presets import PRESETS

from .test_cli import CHELSEA, assert_one_line_error, run

SMALL = ["--max-size", "96", "-q"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def pixels(path):
    return np.asarray(Image.open(path))


def test_presets_lists_every_preset(runner):
    result = run(runner, "presets")
    assert result.exit_code == 0
    for name in PRESETS:
        assert name in result.stdout


def test_preset_round_trips_through_metadata_and_a_settings_file(runner, tmp_path):
    first = tmp_path / "first.png"
    assert run(runner, "dream", CHELSEA, "-o", first, "--preset", "painterly", "--seed", "4", *SMALL).exit_code == 0
    settings = read_settings(first)
    assert settings["preset"] == "painterly" and settings["lap_levels"] == PRESETS["painterly"].settings["lap_levels"]
    again = tmp_path / "again.png"
    assert run(runner, "dream", CHELSEA, "-o", again, "--from-image", first, "-q").exit_code == 0
    assert np.array_equal(pixels(first), pixels(again))
    toml = tmp_path / "look.toml"
    toml.write_text('preset = "painterly"\nseed = 4\nmax-size = 96\n')
    from_file = tmp_path / "file.png"
    assert run(runner, "dream", CHELSEA, "-o", from_file, "--config", toml, "-q").exit_code == 0
    assert np.array_equal(pixels(first), pixels(from_file))


def test_flags_beat_files_and_files_beat_presets(runner, tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('steps = 2\nlayer = "blocks.2"\n')
    out = tmp_path / "o.png"
    result = run(runner, "dream", CHELSEA, "-o", out, "--preset", "deep", "--config", toml,
                 "--octaves", "2", "--seed", "1", *SMALL)
    assert result.exit_code == 0, result.stderr
    s = read_settings(out)
    assert s["octaves"] == 2  # flag over the preset's 6
    assert s["steps"] == 2 and s["layers"] == [["blocks.2", 1.0]]  # file over the preset
    assert s["step_size"] == PRESETS["deep"].settings["step_size"]  # preset over the default


def test_bad_settings_are_one_line(runner, tmp_path):
    out = tmp_path / "o.png"
    assert_one_line_error(run(runner, "dream", CHELSEA, "-o", out, "--preset", "subtel"), contains="'subtle'")
    bad = tmp_path / "bad.toml"
    bad.write_text("stepsize = 3\n")
    assert_one_line_error(run(runner, "dream", CHELSEA, "-o", out, "--config", bad), contains="step_size")
    bad.write_text("steps = [\n")
    assert_one_line_error(run(runner, "dream", CHELSEA, "-o", out, "--config", bad), contains="TOML")
    assert_one_line_error(run(runner, "dream", CHELSEA, "-o", out, "--channels", "blocks.3:79-80", *SMALL),
                          contains="out of range")
    assert_one_line_error(run(runner, "dream", CHELSEA, "-o", out, "--guide", bad, *SMALL), contains="guide")
    assert_one_line_error(run(runner, "dream", CHELSEA, "-o", out, "--from-image", CHELSEA), contains="no deepdreamer settings")
    assert not out.exists()
