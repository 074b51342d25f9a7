"""'The state of the image in layers between input and output': a layer's strongest feature
maps for one image, as a labelled grid beside the image."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from ..errors import ConfigError
from ..io.tensors import to_pil
from ..models import DreamModel, capture
from .grid import colorize, labelled_grid

__all__ = ["ActivationMaps", "activation_maps"]


@dataclass
class ActivationMaps:
    image: Image.Image  # the input beside the grid of maps
    channels: list[int]  # the channels shown, strongest first
    means: list[float]  # their mean activation over the image


def activation_maps(model: DreamModel, pixels: torch.Tensor, layer: str, top: int,
                    tile: int = 128) -> ActivationMaps:
    """The `top` channels of `layer` with the highest mean activation on `pixels` ((1,3,H,W)
    in [0,1]), each map coloured on its own scale, labelled 'channel (mean)'."""
    info = model.entry.layer(layer)  # unknown layer -> one line with suggestions
    if top < 1:
        raise ConfigError(f"--top must be at least 1, got {top}")
    with capture(model, [layer], fast=True) as cap, torch.no_grad():
        acts = cap.run(pixels.to(model.device, torch.float32))[layer][0].float().cpu()
    if acts.dim() != 3:
        raise ConfigError(f"{layer} has no spatial maps ({info.channels} values); pick a conv layer")
    means = acts.mean(dim=(1, 2))
    order = torch.argsort(means, descending=True)[: min(top, acts.shape[0])].tolist()
    h, w = acts.shape[1:]
    tile_size = (tile, max(1, round(tile * h / w))) if w >= h else (max(1, round(tile * w / h)), tile)
    tiles = [colorize(acts[c].numpy()).resize(tile_size, Image.NEAREST) for c in order]
    grid = labelled_grid(tiles, [f"{c} ({means[c]:.2f})" for c in order])
    photo = to_pil(pixels)
    side = photo.resize((max(1, round(photo.width * grid.height / photo.height)), grid.height))
    out = Image.new("RGB", (side.width + grid.width, grid.height), (255, 255, 255))
    out.paste(side, (0, 0))
    out.paste(grid, (side.width, 0))
    return ActivationMaps(out, order, [float(means[c]) for c in order])
