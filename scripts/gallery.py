"""Regenerate the README's galleries in docs/gallery/ (small JPEGs, committed; under 400 KB in
all): every preset on the sample photo, and feature visualisations (the dumbbell class and six
classes with the visualisation defaults before and now; Fourier vs pixel parameterisation vs no
transforms after 32 steps).

    PYTHONPATH=src python scripts/gallery.py [--size 320] [--seed 0] [--part all|presets|visualisations]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

import torch
import torch.nn.functional as F

import deepdreamer as dd
from deepdreamer.io import to_pil
from deepdreamer.models import load_model
from deepdreamer.objectives import class_index, class_logit, per_item
from deepdreamer.pipeline import dream_image
from deepdreamer.presets import PRESETS
from deepdreamer.settings_file import build_config
from deepdreamer.visualize import RobustnessTransforms, make_param, render
from deepdreamer.visualize.grid import labelled_grid

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "chelsea.jpg"
OUT = ROOT / "docs" / "gallery"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=320, help="long side of each thumbnail")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--part", choices=("all", "presets", "visualisations"), default="all")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    model = load_model()
    if args.part == "visualisations":
        print(f"wrote the visualisations to {OUT} ({visualisations(model, args.seed) / 1024:.0f} KB)")
        return
    # Dream at 2x the thumbnail, then downscale: closer to what a full-size dream looks like.
    dream_size = 2 * args.size
    thumbs = {"original": Image.open(PHOTO).convert("RGB")}
    for name in PRESETS:
        config = build_config({"seed": args.seed, "max_size": dream_size}, preset=name)
        thumbs[name] = dream_image(config, PHOTO, model=model).image.convert("RGB")
        print(f"{name}: done", flush=True)
    total = 0
    for name, image in thumbs.items():
        image.thumbnail((args.size, args.size), Image.LANCZOS)
        path = OUT / f"{name}.jpg"
        image.save(path, quality=82, optimize=True)
        total += path.stat().st_size
    if args.part == "all":
        total += visualisations(model, args.seed)
    print(f"wrote {len(thumbs)} preset thumbnails{' and the visualisations' if args.part == 'all' else ''} "
          f"to {OUT} ({total / 1024:.0f} KB)")


# the visualisation defaults before they were chosen by benchmarks/readable.py: Lucid's
OLD = dict(robustness="lucid", decay=1.0)
COMPARED = ["goldfish", "dumbbell", "volcano", "tarantula", "flamingo", "strawberry"]


def visualisations(model, seed: int) -> int:
    """The dumbbell (512 steps) with the defaults before and now, at 224 and 112 px; 6 classes
    with both; and 4 classes after 32 steps in three settings (Lucid's transforms), labelled
    with the probability the model gives each class. Returns the bytes written."""
    written = []
    dumbbells = {"now": dd.visualize("class:dumbbell", model=model, seed=seed)[0],
                 "before": dd.visualize("class:dumbbell", model=model, seed=seed, **OLD)[0]}
    dumbbells["now"].save(OUT / "dumbbell.jpg", quality=85, optimize=True)
    dumbbells["before"].save(OUT / "dumbbell-before.jpg", quality=85, optimize=True)
    small = [im.resize((112, 112), Image.BOX) for im in (dumbbells["before"], dumbbells["now"])]
    labelled_grid(small, ["before, 112 px", "now, 112 px"], columns=2).save(OUT / "dumbbell-112.jpg", quality=88)
    written += ["dumbbell.jpg", "dumbbell-before.jpg", "dumbbell-112.jpg"]

    tiles, labels = [], []
    for name, settings in (("before", OLD), ("now", {})):
        images = [dd.visualize(f"class:{c}", model=model, seed=seed, **settings)[0] for c in COMPARED]
        tiles += [im.resize((112, 112), Image.BOX) for im in images]
        labels += [f"{name} {c[:10]}" for c in COMPARED]
        print(f"visualisations {name}: done", flush=True)
    labelled_grid(tiles, labels, columns=len(COMPARED)).save(OUT / "before-vs-now.jpg", quality=85, optimize=True)
    written.append("before-vs-now.jpg")

    classes = ["goldfish", "dumbbell", "volcano", "tarantula"]
    objective = per_item([class_logit(model, c) for c in classes])
    tiles, labels = [], []
    for kind, robust in (("fourier", True), ("pixel", True), ("fourier", False)):
        param = make_param(kind, len(classes), 224, 224, seed)
        out = render(model, objective, param, steps=32, lr=0.05, seed=seed,
                     transforms=RobustnessTransforms() if robust else None).images
        with torch.no_grad():
            p = F.softmax(model.net(model.normalize(out)), dim=1)
        for i, c in enumerate(classes):
            tiles.append(to_pil(out[i : i + 1]).resize((128, 128), Image.LANCZOS))
            name = kind if robust else "no transf."
            labels.append(f"{name} {c[:9]} p={float(p[i, class_index(c)]):.2f}")
    sheet = labelled_grid(tiles, labels, columns=len(classes))
    sheet.save(OUT / "fourier-vs-pixel.jpg", quality=85, optimize=True)
    written.append("fourier-vs-pixel.jpg")
    return sum((OUT / name).stat().st_size for name in written)


if __name__ == "__main__":
    main()
