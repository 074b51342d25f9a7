"""The DeepDream loop over the octave pyramid (google/deepdream's `deepdream`)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from ..errors import ConfigError, InputImageError
from ..models import DreamModel, capture
from ..objectives import Objective
from .octaves import plan_octaves, resize
from .precision import resolve_precision
from .progress import Notice, Progress, ProgressCallback, report
from .memory import check_memory, release_freed_memory
from .controls import StepControls, apply_mask, keep_colors
from .step import plan_step
from .tiling import layer_stride, tile_for

__all__ = ["DreamResult", "run_dream", "evaluate_objective"]


@dataclass
class DreamResult:
    image: torch.Tensor  # (1, 3, H, W) in [0, 1], the input's size
    objective_history: list[float] = field(default_factory=list)
    octave_sizes: list[tuple[int, int]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def run_dream(
    model: DreamModel,
    image: torch.Tensor,
    objective: Objective,
    *,
    octaves: int,
    octave_scale: float,
    steps: int,
    step_size: float,
    jitter: int,
    seed: int,
    progress: ProgressCallback | None = None,
    precision: str = "fp32",
    tile_size: int | None = None,
    controls: StepControls | None = None,
) -> DreamResult:
    """Dream `image` ((1,3,H,W) in [0,1]) to maximise `objective`. Never prints or saves.

    Runs the model's fast net (BN folded, fused, channels_last) on the model's device; the
    result is there too. `precision` ('fp32', 'bf16' or 'auto') is the forward pass's, the
    image and its gradient stay fp32. `tile_size`: None tiles the gradient of octaves above
    1600x1600 (when the objective allows), 0 never, N in N px tiles. A dream that will not fit
    in memory raises InsufficientMemoryError before it starts. `controls`: Laplacian
    normalisation, rotation/scale jitter, a mask, keeping the colours."""
    if image.ndim != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"expected an image tensor of shape (1, 3, H, W), got {tuple(image.shape)}")
    height, width = image.shape[-2:]
    min_size = model.entry.min_size
    if min(height, width) < min_size:
        raise InputImageError(
            f"the image is {width}x{height} pixels; {model.name} needs at least "
            f"{min_size}x{min_size}"
        )
    sizes, notice = plan_octaves(height, width, octaves, octave_scale, min_size)
    result = DreamResult(image=image, octave_sizes=sizes)
    if notice:
        result.notices.append(notice)
        report(progress, Notice(notice))
    rng = random.Random(seed)
    base = image.detach().to(model.device, torch.float32)
    full_mask = None
    if controls is not None and controls.mask is not None:
        full_mask = controls.mask.to(model.device, torch.float32)
    total, done = len(sizes) * steps, 0
    resolved = resolve_precision(precision, model.device)
    stride = layer_stride(model, objective)
    if model.input_size is not None:
        # a net that takes one size sees every input resized to it: a tile would be too
        if tile_size:
            h, w = model.input_size
            raise ConfigError(f"{model.name} takes {w}x{h} inputs only, so it cannot tile; use --tile-size 0 (or auto)")
        tiles = [0 for _ in sizes]
    else:
        tiles = [tile_for(tile_size, h, w, objective) for h, w in sizes]
    if controls is not None and controls.transforms and any(tiles):
        # a tile's gradient must line up with its neighbours', which a rotation would break
        message = "rotation/scale jitter is skipped on tiled octaves (roll jitter still applies)"
        result.notices.append(message)
        report(progress, Notice(message))
    value = float("nan")
    with capture(model, objective.layers, fast=True, precision=resolved) as cap:
        check_memory(cap, objective, *sizes[-1], tiles[-1], stride)
        detail = None
        for index, size in enumerate(sizes):
            # One octave's base at a time (not the whole pyramid): big images hold less.
            octave_base = resize(base, size)
            if detail is None:
                current = octave_base.clone()
            else:
                current = resize(detail, size).add_(octave_base).clamp_(0.0, 1.0)
                detail = None  # freed before the steps allocate theirs
            mask = None if full_mask is None else resize(full_mask, size).clamp(0.0, 1.0)
            step = plan_step(cap, objective, size, step_size=step_size, jitter=jitter,
                             tile=tiles[index], stride=stride, controls=controls, mask=mask)
            event = dict(octave=index + 1, octaves=len(sizes), steps=steps, total=total)
            event["size"] = (size[1], size[0])
            tiles_seen = len(step.tiles) or 1
            for number in range(1, steps + 1):

                def on_tile(i: int, n: int) -> None:
                    release_freed_memory()
                    if i < n:  # the last tile is reported with the finished step below
                        report(progress, Progress(step=number, done=done, objective=value,
                                                  tile=i, tiles=n, **event))

                current, value = step(current, rng, on_tile)
                result.objective_history.append(value)
                done += 1
                report(progress, Progress(step=number, done=done, objective=value,
                                          tile=tiles_seen, tiles=tiles_seen, image=current, **event))
            if index + 1 < len(sizes):  # the detail carried up to the next octave
                detail = current - octave_base
            del octave_base
    current = current.detach()
    if controls is not None and controls.keep_colors:
        current = keep_colors(base, current)
    if full_mask is not None:
        current = apply_mask(base, current, full_mask)
    result.image = current
    return result


def evaluate_objective(model: DreamModel, objective: Objective, image: torch.Tensor) -> float:
    """The objective's value for an image, without changing anything: the dream's (fast) net,
    always in fp32, so values compare across precisions."""
    with capture(model, objective.layers, fast=True) as cap, torch.no_grad():
        return float(objective(cap.run(image.to(model.device, torch.float32))))
