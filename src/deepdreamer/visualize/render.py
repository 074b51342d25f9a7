"""The feature-visualisation loop (Lucid's `render_vis`): parameterise an image, apply random
transforms, forward, maximise the objective (minus optional penalties) with Adam. Never prints
or saves; progress goes to a callback that can cancel."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..engine.progress import Progress, ProgressCallback, report
from ..models import DreamModel, capture
from ..objectives import Objective
from .param import ImageParam
from .transforms import RobustnessTransforms

__all__ = ["RenderResult", "render", "total_variation", "blur_penalty"]


@dataclass
class RenderResult:
    images: torch.Tensor  # (N, 3, H, W) in [0, 1]
    objective_history: list[float] = field(default_factory=list)


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels: penalises speckle."""
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    return dx + dy


def blur_penalty(images: torch.Tensor) -> torch.Tensor:
    """Mean squared distance to a (fixed) 3x3 box blur of the image: pulls it toward its own
    blurred self, damping the highest frequencies (Lucid's `blur_input_each_step` idea)."""
    blurred = F.avg_pool2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return (images - blurred.detach()).pow(2).mean()


def render(
    model: DreamModel,
    objective: Objective,
    param: ImageParam,
    *,
    steps: int,
    lr: float,
    seed: int,
    transforms: RobustnessTransforms | None = None,
    tv: float = 0.0,
    blur: float = 0.0,
    progress: ProgressCallback | None = None,
) -> RenderResult:
    """Optimise `param` for `steps` Adam steps to maximise `objective`; returns its images."""
    rng = random.Random(seed)
    optimiser = torch.optim.Adam(param.parameters(), lr=lr)
    result = RenderResult(images=param().detach())
    size = (param.width, param.height)
    with capture(model, objective.layers, fast=True) as cap:
        for step in range(steps):
            optimiser.zero_grad(set_to_none=True)
            images = param()
            seen = transforms.apply(images, transforms.sample(rng)) if transforms else images
            value = objective(cap.run(seen))
            loss = -value
            if tv:
                loss = loss + tv * total_variation(images)
            if blur:
                loss = loss + blur * blur_penalty(images)
            loss.backward()
            optimiser.step()
            result.objective_history.append(float(value.detach()))
            report(progress, Progress(octave=1, octaves=1, step=step + 1, steps=steps,
                                      done=step + 1, total=steps,
                                      objective=result.objective_history[-1], size=size,
                                      image=images.detach()))
    with torch.no_grad():
        result.images = param().detach()
    return result
