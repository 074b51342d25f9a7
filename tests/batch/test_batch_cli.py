"""`deepdreamer batch` end to end on the local backend: worker processes, the mirrored tree, bad
items reported and passed over, exit codes, resuming after a kill with byte-identical outputs,
and a killed worker replaced with its item tried again."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from deepdreamer.batch import ItemProgress, item_seed, run_batch
from deepdreamer.cli import cli
from deepdreamer.config import BatchConfig, DreamConfig
from deepdreamer.io import read_settings

from .helpers import CHEAP, files, make_tree, manifest, photo, runs

ROOT = Path(__file__).resolve().parents[2]
GOOD = ["a.jpg", "b.png", "trip/c.jpg", "trip/day2/d.webp", "trip/day2/e.jpg"]


def run(*args):
    return CliRunner().invoke(cli, ["batch", *map(str, args)], catch_exceptions=True)


def bomb_png(path: Path) -> None:
    """A PNG whose header claims 60000 x 60000 pixels: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


@pytest.fixture
def good(tmp_path: Path) -> Path:
    root = tmp_path / "good"
    make_tree(root, GOOD)
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    make_tree(root, GOOD)
    (root / "trip" / "broken.jpg").write_bytes(photo("x").tobytes()[:500])  # no JPEG at all
    (root / "text.png").write_text("hello")
    bomb_png(root / "trip" / "bomb.png")
    return root


def test_a_tree_with_bad_files_gives_the_mirrored_tree_lists_the_bad_and_exits_1(tree, tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    photo("m", (64, 48)).save(masks / "a.png")  # the photo's shape: fine
    photo("m", (50, 50)).save(masks / "b.png")  # another shape: refused
    out = tmp_path / "out"
    result = run(tree, "-o", out, "--recursive", "--mask-dir", masks, *CHEAP)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr
    written = files(out)
    assert set(written) == {"a.png", "trip/c.png", "trip/day2/d.png", "trip/day2/e.png"}
    failed = {line["item"]: line["error"] for line in runs(out)[-1] if line["status"] == "failed"}
    assert set(failed) == {"b.png", "text.png", "trip/broken.jpg", "trip/bomb.png"}
    assert "not the same shape" in failed["b.png"]
    assert "not an image" in failed["text.png"] and "not an image" in failed["trip/broken.jpg"]
    assert "decompression bomb" in failed["trip/bomb.png"]
    for rel, why in failed.items():  # each said in one line on stderr
        assert any(line.endswith(f"{rel} failed: {why}") for line in result.stderr.splitlines()), rel
    last = result.stderr.strip().splitlines()
    assert last[-2].startswith("done 4, skipped 0, failed 4 of 8 in ")
    assert last[-1] == f"error: 4 of 8 items failed; see {out / 'deepdreamer-batch.jsonl'}"
    # the masked photo: dreamed where its mask is white only (the mask is a photo: partly)
    assert read_settings(out / "a.png")["mask"] == str(masks / "a.png")
    assert Image.open(out / "trip/day2/d.png").size == (112, 84)  # --max-size 112


def test_outputs_carry_their_settings_and_the_dream_command_remakes_one(tree, tmp_path):
    out = tmp_path / "out"
    assert run(tree / "a.jpg", tree / "b.png", "-o", out, *CHEAP, "--format", "png").exit_code == 0
    settings = read_settings(out / "b.png")
    assert settings["item"] == "b.png" and settings["seed"] == item_seed(11, "b.png")
    assert settings["steps"] == 4 and settings["octaves"] == 2
    again = tmp_path / "again.png"
    remade = CliRunner().invoke(cli, ["dream", str(tree / "b.png"), "-o", str(again), "--from-image",
                                      str(out / "b.png"), "-q"])
    assert remade.exit_code == 0, remade.output
    assert Image.open(again).tobytes() == Image.open(out / "b.png").tobytes()


def test_a_second_run_skips_what_is_done_and_refuses_to_overwrite_other_settings(good, tmp_path):
    tree = good
    out = tmp_path / "out"
    first = run(tree, "-o", out, *CHEAP)
    assert first.exit_code == 0, first.output
    before = {p: (out / p).stat().st_mtime_ns for p in files(out)}
    second = run(tree, "-o", out, *CHEAP)
    assert second.exit_code == 0 and "done 0, skipped 2, failed 0 of 2" in second.stderr
    assert {p: (out / p).stat().st_mtime_ns for p in files(out)} == before
    other = run(tree, "-o", out, *[a if a != "4" else "5" for a in CHEAP])  # --steps 5
    assert other.exit_code == 1 and "exists in" in other.stderr and "--force" in other.stderr
    assert {p: (out / p).stat().st_mtime_ns for p in files(out)} == before  # nothing overwritten
    forced = run(tree, "-o", out, *[a if a != "4" else "5" for a in CHEAP], "--force")
    assert forced.exit_code == 0 and read_settings(out / "a.png")["steps"] == 5


@pytest.mark.parametrize(
    "args, contains",
    [
        (["missing-folder"], "no such file or folder"),
        (["{tree}", "--workers", "0"], "workers must be between 1 and 256"),
        (["{tree}", "--layer", "blocks.99"], "unknown layer 'blocks.99'"),
        (["{tree}", "--mask", "{tree}/a.jpg", "--mask-dir", "{tree}"], "not both"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tree, tmp_path, args, contains):
    args = [a.format(tree=tree) for a in args]
    result = run(*args, "-o", tmp_path / "out", *CHEAP)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and contains in lines[-1], lines
    assert "Traceback" not in result.output


def test_any_number_of_workers_writes_the_same_bytes(tree, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert run(tree, "-o", one, "--recursive", "--threads", "1", *CHEAP).exit_code == 1  # the bad ones
    assert run(tree, "-o", two, "--recursive", "--threads", "1", "--workers", "2", *CHEAP).exit_code == 1
    good_one = {k: v for k, v in files(one).items()}
    good_two = {k: v for k, v in files(two).items()}
    assert good_one == good_two and len(good_one) == len(GOOD)


def _batch_process(tree: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.Popen([sys.executable, "-m", "deepdreamer", "batch", str(tree), "-o", str(out),
                             "--recursive", *CHEAP, "--steps", "12", "-q"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_killed_part_way_and_run_again_every_output_once_and_byte_identical(tmp_path):
    tree = tmp_path / "photos"
    make_tree(tree, [f"p{i:02d}.jpg" for i in range(8)])
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    uninterrupted = _batch_process(tree, whole)
    assert uninterrupted.wait(300) == 0, uninterrupted.stderr.read()

    proc = _batch_process(tree, killed)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # until some items are done and others are not
        done = [line for line in runs(killed)[-1] if line.get("status") == "done"] if (killed / "deepdreamer-batch.jsonl").exists() else []
        if len(done) >= 3 or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the batch ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert 3 <= len(files(killed)) < 8
    assert not list(killed.rglob("*.tmp")), "a partial file was left behind"

    again = _batch_process(tree, killed)
    assert again.wait(300) == 0, again.stderr.read()
    assert files(killed) == files(whole)  # every output, byte for byte
    first, second = runs(killed)
    dreamed_first = {line["item"] for line in first if line["status"] == "done"}
    dreamed_second = {line["item"] for line in second if line["status"] == "done"}
    assert not dreamed_first & dreamed_second  # no finished item dreamed twice
    assert dreamed_first | dreamed_second == {f"p{i:02d}.jpg" for i in range(8)}
    assert manifest(killed)[0]["seed"] == manifest(killed)[len(first) + 1]["seed"]  # the seed carried on


def test_a_worker_killed_mid_item_is_replaced_and_its_item_retried(tmp_path):
    import multiprocessing

    tree = tmp_path / "photos"
    make_tree(tree, [f"p{i}.jpg" for i in range(4)])
    killed: list[tuple[str, int]] = []

    def progress(event):
        # the first step of the third item: that worker is mid-item now
        if isinstance(event, ItemProgress) and event.rel == "p2.jpg" and not killed:
            (worker,) = multiprocessing.active_children()
            killed.append((event.rel, worker.pid))
            os.kill(worker.pid, signal.SIGKILL)

    config = BatchConfig(inputs=(str(tree),), outdir=str(tmp_path / "out"), workers=1, retries=1)
    dream = DreamConfig(max_size=96, octaves=2, steps=6, seed=3)
    summary = run_batch(config, dream, progress=progress)
    assert killed and summary.done == 4 and not summary.failed
    lines = {line["item"]: line for line in runs(tmp_path / "out")[-1]}
    assert lines["p2.jpg"]["attempts"] == 2 and lines["p2.jpg"]["status"] == "done"
    assert all(lines[f"p{i}.jpg"]["attempts"] == 1 for i in (0, 1, 3))


def test_an_item_whose_worker_keeps_dying_fails_after_its_retries_and_the_batch_goes_on(tmp_path):
    import multiprocessing

    tree = tmp_path / "photos"
    make_tree(tree, ["a.jpg", "b.jpg", "c.jpg"])

    def progress(event):
        if isinstance(event, ItemProgress) and event.rel == "b.jpg":
            for worker in multiprocessing.active_children():
                os.kill(worker.pid, signal.SIGKILL)

    config = BatchConfig(inputs=(str(tree),), outdir=str(tmp_path / "out"), workers=1, retries=1)
    summary = run_batch(config, DreamConfig(max_size=96, octaves=1, steps=6, seed=3), progress=progress)
    assert summary.done == 2 and [rel for rel, _ in summary.failed] == ["b.jpg"]
    assert summary.failed[0][1] == "its worker died 2 times (the last killed by SIGKILL)"
    assert set(files(tmp_path / "out")) == {"a.png", "c.png"}


def test_guides_by_folder_and_one_guide_for_all_steer_each_photo(good, tmp_path):
    guides = tmp_path / "guides"
    make_tree(guides, ["a.png"])
    by_dir, shared = tmp_path / "by-dir", tmp_path / "shared"
    assert run(good, "-o", by_dir, "--guide-dir", guides, *CHEAP).exit_code == 0
    assert read_settings(by_dir / "a.png")["guide"] == str(guides / "a.png")
    assert read_settings(by_dir / "b.png")["guide"] is None  # no guide of its own: dreamed plainly
    assert run(good, "-o", shared, "--guide", guides / "a.png", *CHEAP).exit_code == 0
    assert read_settings(shared / "b.png")["guide"] == str(guides / "a.png")
    # the guide changes the dream; a photo without one is the same as in a plain batch
    plain = tmp_path / "plain"
    assert run(good, "-o", plain, *CHEAP).exit_code == 0
    assert files(by_dir)["b.png"] != files(shared)["b.png"]
    assert Image.open(by_dir / "b.png").tobytes() == Image.open(plain / "b.png").tobytes()
    assert Image.open(by_dir / "a.png").tobytes() != Image.open(plain / "a.png").tobytes()


def test_an_output_that_cannot_be_written_fails_that_item_only(good, tmp_path):
    out = tmp_path / "out"
    (out / "a.png").mkdir(parents=True)  # a folder where a's output should go
    result = run(good, "-o", out, *CHEAP, "--force")
    assert result.exit_code == 1
    assert "a.jpg failed: " in result.stderr and (out / "b.png").is_file()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
