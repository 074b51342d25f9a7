"""A labelled grid of equally sized tiles: contact sheets and activation maps share it."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["labelled_grid", "colorize", "LABEL_HEIGHT"]

LABEL_HEIGHT = 14  # px of caption under each tile (PIL's built-in bitmap font)
_GAP = 4

# A few anchors of matplotlib's 'viridis' (perceptually uniform, readable in greyscale too).
_VIRIDIS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float32
)


def colorize(values: np.ndarray) -> Image.Image:
    """A 2-D array scaled to its own min..max, mapped through viridis."""
    v = values.astype(np.float32)
    span = float(v.max() - v.min())
    v = (v - v.min()) / span if span > 0 else np.zeros_like(v)
    pos = v * (len(_VIRIDIS) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(_VIRIDIS) - 2)
    frac = (pos - lo)[..., None]
    rgb = _VIRIDIS[lo] * (1 - frac) + _VIRIDIS[lo + 1] * frac
    return Image.fromarray(rgb.round().astype(np.uint8), mode="RGB")


def labelled_grid(tiles: Sequence[Image.Image], labels: Sequence[str], columns: int | None = None,
                  background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Tiles (all the size of the first) in rows of `columns` (default: about square), each
    with its label underneath."""
    if not tiles or len(tiles) != len(labels):
        raise ValueError("need one label per tile and at least one tile")
    w, h = tiles[0].size
    cols = columns or math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / cols)
    cell_w, cell_h = w + _GAP, h + LABEL_HEIGHT + _GAP
    sheet = Image.new("RGB", (cols * cell_w + _GAP, rows * cell_h + _GAP), background)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (tile, label) in enumerate(zip(tiles, labels)):
        x, y = _GAP + (i % cols) * cell_w, _GAP + (i // cols) * cell_h
        sheet.paste(tile.convert("RGB").resize((w, h)), (x, y))
        draw.text((x + 1, y + h + 1), label, fill=(0, 0, 0), font=font)
    return sheet
