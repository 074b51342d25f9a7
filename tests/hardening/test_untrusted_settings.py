"""Settings embedded in someone else's image never make deepdreamer open a file the user did
not name on the command line: a mask, guide or labels path in them is reported, not opened."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from PIL import Image, PngImagePlugin

from deepdreamer.cli import cli
from deepdreamer.io import read_settings

PHOTO = Path(__file__).resolve().parents[2] / "examples" / "chelsea.jpg"


def test_file_paths_in_an_images_settings_are_reported_not_opened(tmp_path):
    # paths that do not exist: opening any of them would fail the run
    planted = {"mask": str(tmp_path / "secret" / "mask.png"), "guide": "/etc/deepdreamer-guide.png",
               "labels": str(tmp_path / "labels.txt"), "steps": 2, "octaves": 1, "seed": 5, "max_size": 96}
    info = PngImagePlugin.PngInfo()
    info.add_text("deepdreamer", json.dumps(planted))
    theirs = tmp_path / "theirs.png"
    Image.new("RGB", (16, 16)).save(theirs, pnginfo=info)
    out = tmp_path / "mine.png"
    result = CliRunner().invoke(cli, ["dream", str(PHOTO), "-o", str(out), "--from-image", str(theirs), "-q"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 3 and all("not opened" in n for n in notes)
    assert any(planted["mask"] in n and "--mask" in n for n in notes)
    settings = read_settings(out)
    assert settings["mask"] is None and settings["guide"] is None and settings["labels"] is None
    assert settings["steps"] == 2 and settings["seed"] == 5  # the rest was taken
