"""Do colours drift over a long zoom? A 300-frame zoom feedback loop, with the colour lock on
and off: mean brightness and saturation of every frame.

    PYTHONPATH=src python benchmarks/zoom_drift.py [--frames 300] [--size 256] [--octaves 3]
        [--steps 5] [--layer blocks.3] [--zoom 1.05]

Prints a summary per run (first, min, max, last) and writes every frame's numbers to
benchmarks/results/zoom_drift.csv (git-ignored).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

import deepdreamer as dd
from deepdreamer.io import load_image
from deepdreamer.motion.lock import brightness, saturation

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "chelsea.jpg"
RESULTS = ROOT / "benchmarks" / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--size", type=int, default=256, help="long side of the start image")
    ap.add_argument("--octaves", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--layer", default="blocks.3")
    ap.add_argument("--zoom", type=float, default=1.05)
    args = ap.parse_args()

    model = dd.load_model()
    rows: dict[str, list[tuple[float, float]]] = {}
    for lock in (False, True):
        name = "lock on" if lock else "lock off"
        t0 = time.perf_counter()
        frames = dd.zoom(PHOTO, None, model, args.layer, frames=args.frames, zoom=args.zoom,
                         max_size=args.size, octaves=args.octaves, steps=args.steps, seed=0,
                         colour_lock=lock)
        rows[name] = [(brightness(f), saturation(f)) for f in map(np.asarray, frames)]
        seconds = time.perf_counter() - t0
        b = [r[0] for r in rows[name]]
        s = [r[1] for r in rows[name]]
        print(f"{name:8}  brightness first {b[0]:.1f} min {min(b):.1f} max {max(b):.1f} last {b[-1]:.1f}"
              f"  |  saturation first {s[0]:.1f} min {min(s):.1f} max {max(s):.1f} last {s[-1]:.1f}"
              f"  |  {seconds / args.frames:.2f} s/frame", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "zoom_drift.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame", "brightness_off", "saturation_off", "brightness_on", "saturation_on"])
        for i, (off, on) in enumerate(zip(rows["lock off"], rows["lock on"])):
            w.writerow([i, f"{off[0]:.2f}", f"{off[1]:.2f}", f"{on[0]:.2f}", f"{on[1]:.2f}"])
    img = np.asarray(load_image(PHOTO, max_size=args.size).rgb)
    print(f"(the start photo: brightness {brightness(img):.1f}, saturation {saturation(img):.1f}; "
          f"per frame: {RESULTS / 'zoom_drift.csv'})")


if __name__ == "__main__":
    main()
