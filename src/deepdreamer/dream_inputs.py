"""The extra images a dream may read (a guide, a mask) and choices that need the image being
dreamed (the strongest channels): read once, from a path or from memory (a PIL image, an array,
a tensor), and checked with one-line errors."""

from __future__ import annotations

import torch

from .engine.controls import LUMA_WEIGHTS, StepControls
from .engine.octaves import resize
from .errors import InputImageError
from .io.sources import ImageInput, read_pixels
from .models import DreamModel, capture
from .objectives import Objective, guide, parse_channel_selection, selected_l2

__all__ = ["GUIDE_MAX_SIZE", "channel_objective", "controls_for", "guide_objective", "layer_activations",
           "load_mask", "mask_tensor"]

GUIDE_MAX_SIZE = 512  # the guide's long side when its features are taken (any input size works)
_GUIDE_GREY = 128 / 255  # what transparent parts of a guide are laid on (it excites little)


def _in_memory_marker(value: ImageInput, what: str) -> None:
    """A record of an earlier run names an in-memory guide or mask as `<...>`: not a file."""
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        raise InputImageError(
            f"{what}: the earlier run's {what} was an image in memory ({value}); give the {what} again"
        )


def layer_activations(net: DreamModel, layer: str, pixels: torch.Tensor) -> torch.Tensor:
    with capture(net, [layer], fast=True) as cap, torch.no_grad():
        return cap.run(pixels.to(net.device, torch.float32))[layer]


def guide_objective(net: DreamModel, layer: str, value: ImageInput) -> Objective:
    """google/deepdream's objective_guide toward an image (any size, mode or alpha: transparent
    parts are laid on mid-grey), its features taken with the long side at GUIDE_MAX_SIZE."""
    _in_memory_marker(value, "guide")
    pixels = read_pixels(value, max_size=GUIDE_MAX_SIZE, what="guide")
    rgb = pixels.rgb
    if pixels.alpha is not None:
        rgb = rgb * pixels.alpha + _GUIDE_GREY * (1 - pixels.alpha)
    height, width = rgb.shape[-2:]
    min_size = net.entry.min_size
    if min(height, width) < min_size:
        raise InputImageError(
            f"the guide {pixels.source} is {width}x{height}; it needs at least {min_size} px a side"
        )
    return guide(layer, layer_activations(net, layer, rgb))


def channel_objective(net: DreamModel, default_layer: str, spec: str,
                      image: torch.Tensor | None) -> tuple[Objective, tuple[int, ...]]:
    """L2 on the channels `spec` selects, and those channels; 'top:K'/'bottom:K' are chosen
    on `image`."""
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
    channels = selection.resolve(acts, info.channels)
    return selected_l2(layer, channels), channels


def load_mask(value: ImageInput) -> torch.Tensor:
    """The mask as (1, 1, h, w) in [0, 1]: white dreams, black keeps the input; its luminance
    (BT.601, as Pillow's 'L'), and transparent parts count as black."""
    _in_memory_marker(value, "mask")
    pixels = read_pixels(value, what="mask")
    weights = LUMA_WEIGHTS.to(pixels.rgb.device, pixels.rgb.dtype)
    grey = (pixels.rgb * weights).sum(1, keepdim=True).clamp_(0.0, 1.0)
    return grey if pixels.alpha is None else grey * pixels.alpha


def mask_tensor(mask: torch.Tensor, width: int, height: int) -> tuple[torch.Tensor, str | None]:
    """The mask at the image's size; a note when it had to be resized."""
    mh, mw = mask.shape[-2:]
    if (mw, mh) == (width, height):
        return mask, None
    note = f"the mask is {mw}x{mh}; resized to the image's {width}x{height}"
    return resize(mask, (height, width)).clamp_(0.0, 1.0), note


def controls_for(config, mask: torch.Tensor | None) -> StepControls | None:
    if not (config.lap_levels > 1 or config.rotate_jitter or config.scale_jitter or config.keep_colors
            or mask is not None):
        return None
    return StepControls(lap_levels=config.lap_levels, rotate=config.rotate_jitter,
                        scale_jitter=config.scale_jitter, mask=mask, keep_colors=config.keep_colors)
