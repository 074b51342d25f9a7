"""Live mode, end to end: a real `deepdreamer serve` (a subprocess, as a user runs it) and a
client in this process that does what the page does: it sends camera frames over the WebSocket
(JPEG, quality 85) and keeps one frame in flight, sending the next when a dream comes back.

The camera is a slow pan over a photo (skimage's chelsea), 30 frames a second; a frame sent is
the camera's frame at that moment. For each frame size it reports, over --seconds of steady
running (after a --warmup):
- dreamed frames per second received, and latency (frame captured -> its dream shown),
  median and 95th percentile;
- steps per frame (the server adapts them to its target rate, 10 fps by default);
- the dream growing: the objective on the dreamed frame over the same on the camera frame it
  came from (evaluated afterwards, in this process, on every 5th frame), early in the run and
  late; and the gain per frame, the mean rise of that ratio from one dreamed frame to the next
  over the first second.

    PYTHONPATH=src python benchmarks/live.py [--sizes 320x240,480x360,640x480] [--seconds 20]
        [--warmup 3] [--fps 10] [--layer blocks.3]

The goal (the live-mode issue): at least 10 dreamed frames per second at 320x240 with latency
under 200 ms. Prints a markdown table and writes it to benchmarks/results/live.md (git-ignored).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data
from websockets.sync.client import connect

from deepdreamer.engine import evaluate_objective
from deepdreamer.models import load_model
from deepdreamer.motion.frames import to_dream_tensor, to_float
from deepdreamer.pipeline import prepare_dream
from deepdreamer.config import LiveConfig
from deepdreamer.server.live_frames import pack, unpack

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
CAMERA_FPS = 30.0
PAN = 0.5  # px per camera frame at 320 px wide (scaled with the frame)


def camera(size: tuple[int, int]):
    """frame(t): the camera's view at time t (seconds): a slow pan right over the photo."""
    w, h = size
    photo = data.chelsea()
    scale = 1.25 * max(w / photo.shape[1], h / photo.shape[0])
    big = cv2.resize(photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    room = big.shape[1] - w
    y0 = (big.shape[0] - h) // 2

    def frame(t: float) -> np.ndarray:
        x = (t * CAMERA_FPS * PAN * w / 320.0) % (2 * room)
        x = x if x <= room else 2 * room - x  # back and forth
        shift = np.float32([[1, 0, -x], [0, 1, -y0]])
        return cv2.warpAffine(big, shift, (w, h), flags=cv2.INTER_LINEAR)

    return frame


def jpeg(frame: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def start_server(port: int, scratch: Path) -> subprocess.Popen:
    log = open(scratch / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "deepdreamer", "serve", "--port", str(port),
                             "--results", str(scratch / "results")], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((scratch / "server.log").read_text()[-2000:])
            time.sleep(0.3)


def run_size(port: int, size: tuple[int, int], seconds: float, warmup: float, settings: dict) -> dict:
    frame_at = camera(size)
    sent: dict[int, tuple[float, np.ndarray]] = {}
    got: list[dict] = []
    with connect(f"ws://127.0.0.1:{port}/api/live", max_size=2**23, open_timeout=30) as ws:
        json.loads(ws.recv(timeout=60))  # ready
        ws.send(json.dumps({"type": "settings", **settings}))
        while json.loads(ws.recv(timeout=60))["type"] != "settings":
            pass
        began = time.monotonic()
        next_id = 0
        while time.monotonic() - began < warmup + seconds:
            t = time.monotonic()
            frame = frame_at(t - began)
            ws.send(pack({"id": next_id, "t": t * 1000}, jpeg(frame)))
            sent[next_id] = (t, frame)
            next_id += 1
            while True:  # one in flight: wait for its dream
                message = ws.recv(timeout=30)
                if isinstance(message, bytes):
                    break
                assert json.loads(message)["type"] != "error", message
            header, image = unpack(message)
            shown = time.monotonic()
            got.append(dict(header, shown=shown, latency=(shown - sent[header["id"]][0]) * 1000,
                            dream=np.asarray(Image.open(io.BytesIO(image)).convert("RGB")),
                            source=sent[header["id"]][1], at=shown - began))
    steady = [g for g in got if g["at"] >= warmup]
    span = steady[-1]["shown"] - steady[0]["shown"]
    return {"frames": got, "steady": steady, "fps": (len(steady) - 1) / span if span > 0 else 0.0}


def growth(frames: list[dict], net, objective) -> tuple[float, float, float]:
    """objective(dream) / objective(camera frame): mean over the first second (from the first
    dream on), over the last second, and the mean rise per frame over the first second."""
    def ratio(g):
        src = evaluate_objective(net, objective, to_dream_tensor(to_float(g["source"])))
        return evaluate_objective(net, objective, to_dream_tensor(to_float(g["dream"]))) / src

    first = [g for g in frames if g["at"] <= frames[0]["at"] + 1.0]
    last = [g for g in frames if g["at"] >= frames[-1]["at"] - 1.0]
    early = [ratio(g) for g in first]
    late = [ratio(g) for g in last[::5]]
    per_frame = (early[-1] - early[0]) / max(1, len(early) - 1)
    return float(np.mean(early)), float(np.mean(late)), per_frame


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="320x240,480x360,640x480")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--layer", default=None)
    ap.add_argument("--preset", default=None)
    ap.add_argument("--strength", type=float, default=0.5)
    args = ap.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    settings = {"fps": args.fps, "layer": args.layer, "preset": args.preset, "strength": args.strength}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as scratch:
        server = start_server(port, Path(scratch))
        try:
            runs = {size: run_size(port, size, args.seconds, args.warmup, settings) for size in sizes}
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
    net = load_model()
    live = LiveConfig(layer=args.layer, preset=args.preset)
    objective = prepare_dream(live.dream_config(1), net).objective
    rows = ["| frame | dreamed fps | latency median | latency p95 | steps/frame | objective x camera, 1st s | last s | gain/frame, 1st s |",
            "|---|---|---|---|---|---|---|---|"]
    for (w, h), run in runs.items():
        lat = np.array([g["latency"] for g in run["steady"]])
        steps = np.array([g["steps"] for g in run["steady"]])
        early, late, per_frame = growth(run["frames"], net, objective)
        rows.append(f"| {w}x{h} | {run['fps']:.1f} | {np.median(lat):.0f} ms | {np.percentile(lat, 95):.0f} ms | "
                    f"{steps.mean():.1f} ({steps.min()}-{steps.max()}) | {early:.2f} | {late:.2f} | +{per_frame:.3f} |")
    table = "\n".join(rows)
    head = (f"Live mode over the WebSocket, one frame in flight, target {args.fps:g} fps, layer "
            f"{args.layer or 'default'}, strength {args.strength}; {args.seconds:g} s per size after "
            f"{args.warmup:g} s warm-up; {os.cpu_count()} CPUs.")
    print(head + "\n\n" + table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "live.md").write_text(head + "\n\n" + table + "\n")


if __name__ == "__main__":
    main()
