"""Outputs that would not fit on the disk: refused before the work starts, in one line that says
what would fit; and a write that fails part-way (a full disk) leaves no partial file and the
user's files as they were."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from deepdreamer.cli import cli
from deepdreamer.io import space

PHOTO = Path(__file__).resolve().parents[2] / "examples" / "chelsea.jpg"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.fixture
def little_room(monkeypatch):
    """The disk has 100 MB free (64 MB of it kept as the margin)."""
    monkeypatch.setattr(space, "free_bytes", lambda path: 100 * 1024**2)


def test_a_zoom_too_big_for_the_disk_is_refused_before_its_first_frame(tmp_path, little_room):
    out = tmp_path / "zoom.mp4"
    line = one_error_line(run("zoom", PHOTO, "-o", out, "--frames", "400", "--max-size", "512", "--steps", "1", "-q"))
    assert "the 400 frames to dream and the output need about" in line and "try --frames " in line
    frames = int(line.split("try --frames ")[1].split()[0])
    assert 10 < frames < 400  # what would fit, worked out
    assert list(tmp_path.iterdir()) == []  # no work folder, no output


def test_a_batch_too_big_for_the_disk_is_refused_before_its_first_item(tmp_path, little_room):
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(40):  # 40 x 1024x768 PNG outputs: about 94 MB
        Image.new("RGB", (1024, 768), (i, 0, 0)).save(photos / f"p{i}.png")
    out = tmp_path / "out"
    line = one_error_line(run("batch", photos, "-o", out, "--steps", "1", "-q"))
    assert "the 40 outputs to write need about" in line and "would fit" in line
    assert not list(out.glob("*.png")) and not (out / "deepdreamer-batch.jsonl").exists()


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    """A folder on a 1 MB disk: a real tmpfs where this machine lets us mount one (CI runs as
    root), else writes made to fail with ENOSPC once 1 MB is written there."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0 if os.geteuid() == 0 else False
    if not mounted:  # every output goes through io/atomic.py's open: its files fill up at 1 MB
        import builtins

        from deepdreamer.io import atomic

        written = {"n": 0}

        class Filling:
            def __init__(self, f):
                self._f = f

            def write(self, data):
                written["n"] += len(data)
                if written["n"] > 1024**2:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return self._f.write(data)

            def __getattr__(self, name):
                return getattr(self._f, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return self._f.__exit__(*exc)

        def filling_open(path, *args, **kwargs):
            f = builtins.open(path, *args, **kwargs)
            if str(path).startswith(str(folder)) and "w" in (args[0] if args else kwargs.get("mode", "")):
                written["n"] = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
                return Filling(f)
            return f

        monkeypatch.setattr(atomic, "open", filling_open, raising=False)
    yield folder
    if mounted:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_write_that_fails_part_way_leaves_no_partial_file_and_the_old_one_intact(full_disk, tmp_path):
    import numpy as np
    import skimage.data
    from PIL import Image

    photo = tmp_path / "astronaut.png"
    Image.fromarray(np.asarray(skimage.data.astronaut())).resize((700, 700)).save(photo)
    old = full_disk / "dream.png"
    old.write_bytes(b"the user's file " * 40000)  # 640 KB: a new 700x700 PNG (~1 MB) cannot fit beside it
    result = run("dream", photo, "-o", old, "--force", "--steps", "1", "--octaves", "1", "-q")
    line = one_error_line(result)
    assert line.startswith(f"error: cannot write {old}") and "space" in line.lower()
    assert old.read_bytes() == b"the user's file " * 40000
    assert sorted(p.name for p in full_disk.iterdir()) == ["dream.png"]  # no temporary left
