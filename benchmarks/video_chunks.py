"""Do chunk joins show? A slow pan and zoom over a photo, dreamed in one process (the video loop
over every frame) and in chunks of --chunk-frames frames with K warm-up frames before each
(K = 0, 2, 4, 8): the frame-to-frame mean absolute difference of the dreamed frames at the
joins against the same difference inside the chunks, with the warm-up's dreams dropped and
cross-faded with the previous chunk's frames (what the ray backend writes). Around a join the
worst step from K frames before it to the join counts (a fade spreads the change over those).
The goal: joins at most 1.5x the inside.

    PYTHONPATH=src python benchmarks/video_chunks.py [--frames 96] [--chunk-frames 12]
        [--size 240x180] [--octaves 3] [--steps 5] [--layer blocks.3] [--warmups 0,2,4,8]

The chunks run one after another in this process, through the same planning (plan_chunks),
chunk function (dream_chunk) and fade (cross_fade) that the ray backend uses: what happens at a join
depends only on the state carried into the chunk, not on where the chunk ran. Prints a
markdown table and writes it to benchmarks/results/video_chunks.md (git-ignored).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from deepdreamer.config import DreamConfig
from deepdreamer.motion.chunks import cross_fade, dream_chunk, plan_chunks
from deepdreamer.motion.loops import video_loop
from deepdreamer.pipeline import prepare_dream

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def slow_scene(frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    """skimage's astronaut, framed to `size` and slowly panned right (0.3 px a frame) and zoomed
    in (0.1% a frame): a shot where every frame carries the dream into the next. The photo is
    first shrunk to the frame's scale (area-averaged), so the move itself adds no aliasing."""
    out_w, out_h = size
    photo = data.astronaut()
    scale = 1.3 * out_h / photo.shape[0]
    photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = photo.shape[:2]
    shots = []
    for t in range(frames):
        cx, cy = w * 0.45 + 0.3 * t, h * 0.4
        m = cv2.getRotationMatrix2D((cx, cy), 0.0, 1.001**t)
        m[0, 2] += out_w / 2 - cx
        m[1, 2] += out_h / 2 - cy
        shots.append(cv2.warpAffine(photo, m, (out_w, out_h), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REFLECT_101))
    return shots


def steps(frames: list[np.ndarray]) -> np.ndarray:
    """d[t] = mean |frame t - frame t-1| (0-255), for t = 1.. (d[0] is unused)."""
    d = np.zeros(len(frames))
    for t in range(1, len(frames)):
        d[t] = np.abs(frames[t].astype(np.float32) - frames[t - 1].astype(np.float32)).mean()
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--chunk-frames", type=int, default=12)
    ap.add_argument("--size", default="240x180", help="WxH")
    ap.add_argument("--octaves", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--layer", default="blocks.3")
    ap.add_argument("--flow-blend", type=float, default=0.5)
    ap.add_argument("--warmups", default="0,2,4,8")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    warmups = [int(k) for k in args.warmups.split(",")]

    source = slow_scene(args.frames, size)
    config = DreamConfig(layers=((args.layer, 1.0),), octaves=args.octaves, steps=args.steps, seed=args.seed)
    prepared = prepare_dream(config)
    joins = np.array([c.start for c in plan_chunks(args.frames, [], args.chunk_frames, 0)[1:]])
    inside = np.setdiff1d(np.arange(1, args.frames), joins)

    t0 = time.perf_counter()
    reference = list(video_loop(prepared, args.flow_blend, source, args.seed))
    per_frame = (time.perf_counter() - t0) / args.frames
    runs = [("source", source, 0, 0), ("one process", reference, 0, 0)]
    for k in warmups:
        dropped: list[np.ndarray] = []
        faded: list[np.ndarray] = []
        extra = 0
        for chunk in plan_chunks(args.frames, [], args.chunk_frames, k):
            warm, kept = dream_chunk(prepared, args.flow_blend, source[chunk.first:chunk.end], args.seed,
                                     chunk.first, chunk.warmup)
            extra += chunk.warmup
            dropped += kept
            for j, dream in enumerate(warm):  # the previous chunk's last frames fade into the warm-up's
                faded[chunk.first + j] = cross_fade(faded[chunk.first + j], dream, j, chunk.warmup)
            faded += kept
        runs.append((f"chunks, K={k}, warm-up dropped", dropped, k, extra))
        if k:
            runs.append((f"chunks, K={k}, cross-faded over the warm-up", faded, k, extra))
        print(f"K={k} done", flush=True)

    lines = [
        f"{args.frames} frames {size[0]}x{size[1]} (astronaut, pan 0.3 px and zoom 0.1% a frame), chunks of "
        f"{args.chunk_frames} ({len(joins)} joins), {args.layer}, {args.octaves} octaves x {args.steps} steps, "
        f"flow blend {args.flow_blend}, seed {args.seed}; {per_frame:.2f} s a frame in one process",
        "",
        "| run | join step | worst step from K before a join to it | inside | worst / inside "
        "| dream at those frames, vs one process | extra frames dreamed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, frames, k, extra in runs:
        d = steps(frames)
        worst = np.mean([d[j - k: j + 1].max() for j in joins])
        window = sorted({t for j in joins for t in range(j - k, j)})
        strength = "-"
        if frames is not source and frames is not reference:
            # how much dream the frames around the joins keep (a cross-fade of two dreams is weaker)
            ours = np.mean([detail(frames[t], source[t]) for t in window + list(joins)])
            theirs = np.mean([detail(reference[t], source[t]) for t in window + list(joins)])
            strength = f"{ours / theirs:.2f}x"
        lines.append(f"| {name} | {d[joins].mean():.2f} | {worst:.2f} | {d[inside].mean():.2f} | "
                     f"{worst / d[inside].mean():.2f}x | {strength} | {extra} |")
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "video_chunks.md").write_text(table + "\n")


def detail(dream: np.ndarray, source: np.ndarray) -> float:
    return float(np.abs(dream.astype(np.float32) - source.astype(np.float32)).mean())


if __name__ == "__main__":
    main()
