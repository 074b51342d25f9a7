"""`deepdreamer video --backend ray` on a real two-node cluster (the `ray_cluster` fixture): the
chunks dreamed by actors on both nodes come back as one video with every frame, the source
frame rate and the sound, even when a node is lost mid-run. The driver runs in a subprocess,
as a user runs it."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from motion.videos import FPS, FRAMES, H, W, audio_seconds, make_video, read_video

CHEAP = ["--layer", "blocks.3", "--octaves", "1", "--steps", "2", "--seed", "0"]
DRIVER_SECONDS = 300


def dream(args: list, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deepdreamer", "video", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=DRIVER_SECONDS, stdin=subprocess.DEVNULL)


def test_a_chunked_video_on_two_nodes_has_every_frame_the_rate_and_the_sound(ray_cluster, tmp_path):
    source = make_video(tmp_path / "clip.mp4")  # 24 frames, 24 fps, a 440 Hz tone
    out = tmp_path / "dreamed.mp4"
    done = dream([source, "-o", out, "--backend", "ray", "--chunk-frames", "5", "--warmup", "2",
                  "--workers", "2", "--ray-address", ray_cluster.address, *CHEAP], ray_cluster.env)
    assert done.returncode == 0, done.stderr[-3000:] + ray_cluster.logs(5)
    assert f"wrote {out} ({FRAMES} frames)" in done.stderr
    frames, rate, has_audio = read_video(out)
    assert len(frames) == FRAMES and rate == FPS and frames[0].shape == (H, W, 3)
    assert has_audio and audio_seconds(out) == pytest.approx(FRAMES / FPS, abs=0.05)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "dreamed.mp4"]  # no work folder left


def test_a_node_lost_mid_run_costs_only_its_chunk_again(ray_cluster, tmp_path):
    """The second node is killed while its actor dreams a chunk: Ray remakes the actor on the
    head (it sets itself up again) and runs the chunk again; the video is still complete."""
    source = make_video(tmp_path / "clip.mp4")
    out = tmp_path / "dreamed.mp4"
    args = [sys.executable, "-m", "deepdreamer", "video", source, "-o", out, "--backend", "ray",
            "--chunk-frames", "4", "--warmup", "2", "--workers", "2", "--ray-address", ray_cluster.address,
            "--layer", "blocks.3", "--octaves", "2", "--steps", "8", "--seed", "0"]
    driver = subprocess.Popen([str(a) for a in args], env=ray_cluster.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + DRIVER_SECONDS
        killed = {}
        while not killed and driver.poll() is None and time.monotonic() < deadline:
            if any("ChunkActor.dream" in title for title in ray_cluster.node_processes(1).values()):
                killed = ray_cluster.kill_node(1)
            time.sleep(0.05)
        assert killed, "the second node's actor was never seen dreaming"
        _, stderr = driver.communicate(timeout=DRIVER_SECONDS)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0, stderr[-3000:] + ray_cluster.logs(5)
    frames, rate, has_audio = read_video(out)
    assert len(frames) == FRAMES and rate == FPS and has_audio
