"""Regenerate the README's preset gallery: every preset on the sample photo, as small JPEG
thumbnails in docs/gallery/ (committed; the whole set stays under 300 KB).

    PYTHONPATH=src python scripts/gallery.py [--size 320] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from deepdreamer.api import dream_image
from deepdreamer.models import load_model
from deepdreamer.presets import PRESETS
from deepdreamer.settings_file import build_config

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "chelsea.jpg"
OUT = ROOT / "docs" / "gallery"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=320, help="long side of each thumbnail")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    model = load_model()
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
    print(f"wrote {len(thumbs)} thumbnails to {OUT} ({total / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
