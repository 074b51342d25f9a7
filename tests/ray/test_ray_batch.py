"""`deepdreamer batch --backend ray` on a real two-node Ray cluster (see conftest.py): a node lost
while it dreams costs no item and changes no byte; a bad item fails in one line, once; wrong
settings stop the batch in one line; without Ray, or without a cluster, one line says why.

Every run is a subprocess with a timeout: a hung cluster fails the test instead of CI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepdreamer.errors import DeepDreamerError

# ~0.3-1 s an item on one thread: long enough for calls to be in flight when a node dies
DREAM = ["--max-size", "128", "--octaves", "3", "--steps", "8", "--seed", "11"]
BATCH_SECONDS = 300  # one batch run, at most
KILL_SECONDS = 120  # to see an item being dreamed on the second node


def photos(folder: Path, count: int) -> Path:
    """`count` real photos from scikit-image, 128x96, in `folder`."""
    import skimage.data as data

    pictures = [data.chelsea, data.coffee, data.astronaut, data.rocket, data.hubble_deep_field]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        picture = Image.fromarray(np.asarray(pictures[i % len(pictures)]())).convert("RGB")
        # the same picture twice is cropped differently: every item its own photo
        picture = picture.crop((i * 7, i * 5, picture.width - i * 3, picture.height - i * 2)).resize((128, 96))
        picture.save(folder / f"photo{i}.png")
    return folder


def batch_command(inputs: Path, outdir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "deepdreamer", "batch", str(inputs), "-o", str(outdir), *DREAM, *extra]


def run(command: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=BATCH_SECONDS,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(command[3:6])} ... ran over {BATCH_SECONDS} s; stderr so far:\n{exc.stderr}")


def on_ray(cluster, inputs: Path, outdir: Path, *extra: str) -> list[str]:
    return batch_command(inputs, outdir, "--backend", "ray", "--ray-address", cluster.address, *extra)


def outputs(outdir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(outdir.glob("*.png"))}


def manifest_items(outdir: Path) -> dict[str, dict]:
    lines = [json.loads(line) for line in (outdir / "deepdreamer-batch.jsonl").read_text().splitlines() if line.strip()]
    return {line["item"]: line for line in lines if "status" in line}


def test_a_node_lost_mid_batch_costs_no_item_and_no_byte(ray_cluster, tmp_path):
    inputs = photos(tmp_path / "photos", 8)
    out_ray, out_local = tmp_path / "ray", tmp_path / "local"
    driver = subprocess.Popen(on_ray(ray_cluster, inputs, out_ray, "--workers", "2", "--threads", "1"),
                              env=ray_cluster.env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(driver.stderr), daemon=True)
    reader.start()
    try:
        # SPREAD puts one actor on each node: once the second node's actor is dreaming (its
        # title says so), the node dies with that item and the one queued behind it
        deadline = time.monotonic() + KILL_SECONDS
        seen: set[str] = set()
        while time.monotonic() < deadline and driver.poll() is None:
            titles = ray_cluster.node_processes(1).values()
            seen.update(title[:60] for title in titles)
            if any("ray::_Dreamer.dream" in title for title in titles):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"no item was dreamed on the second node in {KILL_SECONDS} s (its processes: "
                        f"{sorted(seen)}):\n{''.join(lines)}")
        killed = ray_cluster.kill_node(1)
        assert any(title.startswith("ray::_Dreamer") for title in killed.values()), killed
        assert any("raylet" in title for title in killed.values()), killed
        try:
            code = driver.wait(BATCH_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the batch did not finish {BATCH_SECONDS} s after the node died:\n{''.join(lines)}")
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    reader.join(10)
    stderr = "".join(lines)
    assert code == 0, stderr
    assert "done 8, skipped 0, failed 0 of 8" in stderr
    assert ray_cluster.node_processes(1) == {}  # it stayed dead: the head did the rest

    local = run(batch_command(inputs, out_local, "--backend", "local", "--workers", "2", "--threads", "1"))
    assert local.returncode == 0, local.stderr
    ray_files, local_files = outputs(out_ray), outputs(out_local)
    assert sorted(ray_files) == [f"photo{i}.png" for i in range(8)]
    assert ray_files == local_files  # byte for byte: the same seeds, threads and settings


def test_a_bad_item_fails_in_one_line_once_and_the_rest_are_dreamed(ray_cluster, tmp_path):
    inputs = photos(tmp_path / "photos", 3)
    (inputs / "broken.png").write_bytes(b"not a picture at all")
    ray = run(on_ray(ray_cluster, inputs, tmp_path / "ray", "--workers", "2", "--threads", "1"), ray_cluster.env)
    assert ray.returncode == 1, ray.stderr
    failed = [line for line in ray.stderr.splitlines() if "broken.png" in line]
    assert len(failed) == 1 and "failed: " in failed[0], ray.stderr  # once, in one line
    assert "Traceback" not in ray.stderr and "retr" not in ray.stderr.lower()
    assert "done 3, skipped 0, failed 1 of 4" in ray.stderr
    items = manifest_items(tmp_path / "ray")
    assert items["broken.png"]["status"] == "failed" and items["broken.png"]["attempts"] == 1
    assert all(items[f"photo{i}.png"]["status"] == "done" for i in range(3))

    # the very message the local backend gives for it (the one Ray does not wrap)
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "broken.png").write_bytes(b"not a picture at all")
    local = run(batch_command(alone, tmp_path / "local", "--backend", "local"))
    assert local.returncode == 1, local.stderr
    assert manifest_items(tmp_path / "local")["broken.png"]["error"] == items["broken.png"]["error"]
    assert "\n" not in items["broken.png"]["error"]


def test_an_unknown_layer_stops_the_batch_in_one_line_with_exit_1(ray_cluster, tmp_path):
    """Exit 1, as the local backend and `deepdreamer dream`: the layer is checked where the
    model is loaded, in the actors, and comes back as their one-line error (the CLI's exit 2
    is for what the driver refuses before dreaming: options, inputs, files)."""
    inputs = photos(tmp_path / "photos", 2)
    ray = run(on_ray(ray_cluster, inputs, tmp_path / "ray", "--workers", "2", "--threads", "1",
                     "--layer", "nosuch"), ray_cluster.env)
    assert ray.returncode == 1, ray.stderr
    errors = [line for line in ray.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: unknown layer 'nosuch' in efficientnet-lite0"], ray.stderr
    assert "Traceback" not in ray.stderr and "RayActorError" not in ray.stderr
    assert outputs(tmp_path / "ray") == {}


def test_an_address_nothing_listens_on_fails_at_once_in_one_line(tmp_path):
    import socket

    with socket.socket() as s:  # a port just free on loopback: nothing listens there
        s.bind(("127.0.0.2", 0))
        address = f"127.0.0.2:{s.getsockname()[1]}"
    inputs = photos(tmp_path / "photos", 1)
    start = time.monotonic()
    done = run(batch_command(inputs, tmp_path / "out", "--backend", "ray", "--ray-address", address))
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"error: cannot reach the Ray cluster at {address}: Connection refused"
    assert time.monotonic() - start < 60  # not Ray's twelve minutes of reconnecting


def test_without_ray_the_backend_says_how_to_install_it(monkeypatch):
    from deepdreamer.batch.ray_backend import NEEDS_RAY, RayPool
    from deepdreamer.config import DreamConfig

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(DeepDreamerError) as caught:
        next(RayPool(DreamConfig(), workers=1, threads=1, retries=0).run([]))
    assert str(caught.value) == NEEDS_RAY == "the ray backend needs Ray: pip install 'deepdreamer[ray]'"
