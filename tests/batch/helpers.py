"""Shared by the batch tests: small real photos in a folder tree, and reading a manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

# cheap dreams: ~0.2-0.5 s an item on two cores
CHEAP = ["--max-size", "112", "--octaves", "2", "--steps", "4", "--seed", "11"]


def photo(name: str, size: tuple[int, int] = (128, 96)) -> Image.Image:
    """A real photo from scikit-image, resized: each name picks its own picture."""
    import skimage.data as data

    pictures = [data.chelsea, data.coffee, data.astronaut, data.rocket, data.hubble_deep_field]
    pick = pictures[sum(map(ord, name)) % len(pictures)]
    return Image.fromarray(np.asarray(pick())).convert("RGB").resize(size)


def make_tree(root: Path, names: list[str]) -> list[Path]:
    paths = []
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fmt = {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP"}[path.suffix]
        photo(name).save(path, format=fmt)
        paths.append(path)
    return paths


def manifest(outdir: Path) -> list[dict]:
    return [json.loads(line) for line in (outdir / "deepdreamer-batch.jsonl").read_text().splitlines() if line.strip()]


def runs(outdir: Path) -> list[list[dict]]:
    """The manifest split by run: each run's item lines."""
    found: list[list[dict]] = []
    for line in manifest(outdir):
        if "run" in line:
            found.append([])
        elif found:
            found[-1].append(line)
    return found


def files(root: Path, suffix: str = ".png") -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob(f"*{suffix}"))}
