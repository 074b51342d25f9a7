"""The DeepDream loop over the octave pyramid (google/deepdream's `deepdream`)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from ..errors import InputImageError
from ..models import DreamModel, capture
from ..objectives import Objective
from .octaves import plan_octaves, resize
from .precision import resolve_precision
from .progress import Notice, Progress, ProgressCallback, report
from .step import ascent_step

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
) -> DreamResult:
    """Dream `image` ((1,3,H,W) in [0,1]) to maximise `objective`. Never prints or saves.

    Runs `model.fast_net` (BN folded, channels_last); `precision` ('fp32', 'bf16' or 'auto')
    is the forward pass's, the image and its gradient stay fp32."""
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
    bases = [resize(base, size) for size in sizes]
    detail = torch.zeros_like(bases[0])
    total, done = len(sizes) * steps, 0
    resolved = resolve_precision(precision, model.device)
    with capture(model, objective.layers, fast=True, precision=resolved) as cap:
        for index, octave_base in enumerate(bases):
            detail = resize(detail, tuple(octave_base.shape[-2:]))
            current = (octave_base + detail).clamp_(0.0, 1.0)
            for step in range(steps):
                current, value = ascent_step(cap, objective, current, step_size, jitter, rng)
                result.objective_history.append(value)
                done += 1
                report(
                    progress,
                    Progress(
                        octave=index + 1,
                        octaves=len(sizes),
                        step=step + 1,
                        steps=steps,
                        done=done,
                        total=total,
                        objective=value,
                        size=(octave_base.shape[-1], octave_base.shape[-2]),
                    ),
                )
            detail = current - octave_base
    result.image = current.detach()
    return result


def evaluate_objective(model: DreamModel, objective: Objective, image: torch.Tensor) -> float:
    """The objective's value for an image, without changing anything: the dream's (fast) net,
    always in fp32, so values compare across precisions."""
    with capture(model, objective.layers, fast=True) as cap, torch.no_grad():
        return float(objective(cap.run(image.to(model.device, torch.float32))))
