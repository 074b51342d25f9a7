"""Fourier vs pixel parameterisation (and no robustness transforms) for class visualisations:
how many steps until the model recognises each class, and whether it still does after the image
is halved and scaled back (robust picture) or not (adversarial noise).

    PYTHONPATH=src python benchmarks/fourier_vs_pixel.py [--steps 16,32,64,128] [--seed 0]

Every setting renders the same 8 classes as one batch at 224 px; checkpoints are read during
one run. Writes benchmarks/results/fourier_vs_pixel.md and one contact sheet per setting at the
last checkpoint (git-ignored) and prints the table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from deepdreamer.io import to_pil
from deepdreamer.models import load_model
from deepdreamer.objectives import class_index, class_logit, per_item
from deepdreamer.visualize import RobustnessTransforms, make_param, render
from deepdreamer.visualize.grid import labelled_grid

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
CLASSES = ["goldfish", "dumbbell", "volcano", "tarantula", "pineapple", "beacon",
           "daisy", "strawberry"]
SETTINGS = [("fourier", True), ("pixel", True), ("fourier", False)]


def scores(model, images: torch.Tensor, targets: list[int]) -> tuple[list[float], list[bool], list[float]]:
    """p(target), target in top-5 after halving and back, p(target) after halving and back."""
    half = F.interpolate(images, scale_factor=0.5, mode="bilinear", antialias=True)
    back = F.interpolate(half, size=images.shape[-2:], mode="bilinear")
    with torch.no_grad():
        p = F.softmax(model.net(model.normalize(images)), dim=1)
        pb = F.softmax(model.net(model.normalize(back)), dim=1)
    idx = torch.tensor(targets)
    top5 = [t in pb[i].topk(5).indices.tolist() for i, t in enumerate(targets)]
    return p[torch.arange(len(targets)), idx].tolist(), top5, pb[torch.arange(len(targets)), idx].tolist()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="16,32,64,128")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=224)
    args = ap.parse_args()
    checkpoints = sorted(int(s) for s in args.steps.split(","))
    model = load_model()
    targets = [class_index(c) for c in CLASSES]
    objective = per_item([class_logit(model, c) for c in CLASSES])
    rows = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    for kind, robust in SETTINGS:
        name = kind + ("" if robust else ", no transforms")
        param = make_param(kind, len(CLASSES), args.size, args.size, args.seed)
        start = time.perf_counter()

        def at_checkpoint(event, param=param, name=name, start=start):
            if event.step in checkpoints:
                with torch.no_grad():
                    images = param()
                p, top5, pb = scores(model, images, targets)
                rows.append((name, event.step, sum(x > 0.9 for x in p), sum(p) / len(p),
                             sum(top5), sum(pb) / len(pb), time.perf_counter() - start))
                print(f"{name:<24} {event.step:>4} steps: p>0.9 {rows[-1][2]}/8, mean p {rows[-1][3]:.3f}, "
                      f"half-size top-5 {rows[-1][4]}/8, mean p {rows[-1][5]:.3f}", flush=True)
                if event.step == checkpoints[-1]:
                    tiles = [to_pil(images[i : i + 1]) for i in range(len(CLASSES))]
                    labels = [f"{c} {x:.2f}" for c, x in zip(CLASSES, p)]
                    slug = name.replace(", ", "-").replace(" ", "-")
                    labelled_grid(tiles, labels, columns=4).save(RESULTS / f"fourier_vs_pixel-{slug}.png")

        render(model, objective, param, steps=checkpoints[-1], lr=0.05, seed=args.seed,
               transforms=RobustnessTransforms() if robust else None, progress=at_checkpoint)
    lines = [
        f"Classes: {', '.join(CLASSES)} (one batch, {args.size} px, seed {args.seed}, Adam lr 0.05)",
        "",
        "| setting | steps | p > 0.9 | mean p | half-size top-5 | half-size mean p | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {n} | {s} | {k}/8 | {mp:.3f} | {t5}/8 | {mpb:.3f} | {sec:.0f} |"
              for n, s, k, mp, t5, mpb, sec in rows]
    (RESULTS / "fourier_vs_pixel.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
