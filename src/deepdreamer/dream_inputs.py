"""The extra images a dream may read (a guide, a mask) and choices that need the image being
dreamed (the strongest channels): loaded and checked once, with one-line errors."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .engine.controls import StepControls
from .errors import InputImageError
from .io import load_image, to_tensor
from .models import DreamModel, capture
from .objectives import Objective, guide, parse_channel_selection, selected_l2

__all__ = ["GUIDE_MAX_SIZE", "channel_objective", "controls_for", "guide_objective", "layer_activations",
           "load_mask", "mask_tensor"]

GUIDE_MAX_SIZE = 512  # the guide's long side when its features are taken (any input size works)


def _load(path: str, what: str):
    try:
        return load_image(path, max_size=0)
    except InputImageError as exc:
        raise InputImageError(f"{what}: {exc}") from None


def layer_activations(net: DreamModel, layer: str, pixels: torch.Tensor) -> torch.Tensor:
    with capture(net, [layer], fast=True) as cap, torch.no_grad():
        return cap.run(pixels.to(net.device, torch.float32))[layer]


def guide_objective(net: DreamModel, layer: str, path: str) -> Objective:
    """google/deepdream's objective_guide toward the image at `path` (any size, mode or alpha:
    transparent parts are laid on mid-grey, which excites little)."""
    loaded = _load(path, "guide")
    rgb = loaded.rgb
    if loaded.alpha is not None:
        grey = Image.new("RGB", rgb.size, (128, 128, 128))
        rgb = Image.composite(rgb, grey, loaded.alpha)
    rgb.thumbnail((GUIDE_MAX_SIZE, GUIDE_MAX_SIZE), Image.LANCZOS)
    min_size = net.entry.min_size
    if min(rgb.size) < min_size:
        raise InputImageError(f"the guide {path} is {rgb.width}x{rgb.height}; it needs at least {min_size} px a side")
    return guide(layer, layer_activations(net, layer, to_tensor(rgb)))


def channel_objective(net: DreamModel, default_layer: str, spec: str,
                      image: torch.Tensor | None) -> Objective:
    """L2 on the channels `spec` selects; 'top:K'/'bottom:K' are chosen on `image`."""
    selection = parse_channel_selection(spec)
    layer = selection.layer or default_layer
    info = net.entry.layer(layer)
    acts = None
    if selection.needs_image:
        if image is None:
            raise InputImageError(
                f"--channels {spec} ranks channels on one image; give explicit channels here (e.g. 3,7,12-15)"
            )
        acts = layer_activations(net, layer, image)
    return selected_l2(layer, selection.resolve(acts, info.channels))


def load_mask(path: str) -> Image.Image:
    """The mask as 8-bit grey: white dreams, black keeps the input. Alpha counts as black."""
    loaded = _load(path, "mask")
    grey = loaded.rgb.convert("L")
    if loaded.alpha is not None:
        grey = Image.composite(grey, Image.new("L", grey.size, 0), loaded.alpha)
    return grey


def mask_tensor(mask: Image.Image, width: int, height: int) -> tuple[torch.Tensor, str | None]:
    """(1,1,H,W) in [0,1] at the image's size; a note when the mask had to be resized."""
    note = None
    if mask.size != (width, height):
        note = f"the mask is {mask.width}x{mask.height}; resized to the image's {width}x{height}"
        mask = mask.resize((width, height), Image.BILINEAR)
    t = torch.from_numpy(np.asarray(mask, dtype=np.float32) / 255.0)
    return t.view(1, 1, height, width), note


def controls_for(config, mask: torch.Tensor | None) -> StepControls | None:
    if not (config.lap_levels > 1 or config.rotate_jitter or config.scale_jitter or config.keep_colors
            or mask is not None):
        return None
    return StepControls(lap_levels=config.lap_levels, rotate=config.rotate_jitter,
                        scale_jitter=config.scale_jitter, mask=mask, keep_colors=config.keep_colors)
