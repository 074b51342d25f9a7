"""One DeepDream gradient-ascent step: jitter, forward, objective, backward, normalised ascent,
unjitter, clamp. How the gradient is computed (whole image, extended to the net's grid, through
a random rotation/scale, or in tiles) is decided once per octave by `plan_step`; the jitter is
sampled apart from being applied so it can be undone exactly."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..models.hooks import Capture
from ..objectives import Objective
from .controls import StepControls, random_affine
from .gradient import extended_gradient, grid_extension
from .tiling import Tile, plan_tiles, tiled_gradient

__all__ = ["OctaveStep", "plan_step", "sample_jitter"]

OnTile = Callable[[int, int], None]


def sample_jitter(rng: random.Random, jitter: int) -> tuple[int, int]:
    return rng.randint(-jitter, jitter), rng.randint(-jitter, jitter)


@dataclass(frozen=True)
class OctaveStep:
    """The step for one octave's size, its gradient strategy fixed: `tiles` (tiled: the image
    is rolled by a random offset over its whole size, so the grid falls elsewhere every step),
    else the whole image with `extension` rows/columns and, when `transforms`, a random
    rotation/scale that autograd undoes. `mask` ((1,1,H,W), this octave's size, or None)
    scales the step per pixel."""

    cap: Capture
    objective: Objective
    step_size: float
    jitter: int
    controls: StepControls | None
    mask: torch.Tensor | None
    tiles: tuple[Tile, ...] = ()
    extension: tuple[int, int] = (0, 0)
    transforms: bool = False

    @property
    def strategy(self) -> str:
        if self.tiles:
            return "tiled"
        if self.transforms:
            return "transformed"
        return "extended" if any(self.extension) else "plain"

    def __call__(
        self, image: torch.Tensor, rng: random.Random, on_tile: OnTile | None = None
    ) -> tuple[torch.Tensor, float]:
        """One step on `image`; returns the new image (a tiled step updates `image` in place:
        the tiles read the rolled image from `image` itself, so a big image is never copied
        whole) and the objective's value before the step."""
        ox, oy = sample_jitter(rng, self.jitter)
        if self.tiles:  # the tile grid lands somewhere else on the image every step: no fixed seams
            oy, ox = oy + rng.randrange(image.shape[-2]), ox + rng.randrange(image.shape[-1])
            grad, value = tiled_gradient(self.cap, self.objective, image, list(self.tiles), on_tile,
                                         shift=(oy, ox))
            return self._ascend(image, grad, self.mask), value
        shifted = torch.roll(image, shifts=(oy, ox), dims=(2, 3))
        transform = None
        if self.transforms:
            transform = random_affine(rng, self.controls.rotate, self.controls.scale_jitter)
        grad, value = extended_gradient(self.cap, self.objective, shifted, self.extension, transform)
        mask = None if self.mask is None else torch.roll(self.mask, shifts=(oy, ox), dims=(2, 3))
        shifted = self._ascend(shifted, grad, mask)
        return torch.roll(shifted, shifts=(-oy, -ox), dims=(2, 3)), value  # clamped in _ascend

    def _ascend(self, image: torch.Tensor, grad: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """image += step_size * processed gradient / its mean magnitude, in place."""
        if self.controls is not None:
            grad = self.controls.gradient(grad)
        if mask is not None:
            grad.mul_(mask)
        # Dividing by the mean magnitude makes step_size mean the same thing on every layer. In
        # place, and the L1 norm needs no |grad| temporary: big images keep fewer full-size copies.
        mean_magnitude = float(torch.linalg.vector_norm(grad, ord=1)) / grad.numel()
        image.add_(grad, alpha=self.step_size / (mean_magnitude + 1e-12))
        del grad
        return image.clamp_(0.0, 1.0)


def plan_step(
    cap: Capture,
    objective: Objective,
    size: tuple[int, int],
    *,
    step_size: float,
    jitter: int,
    tile: int,
    stride: int,
    controls: StepControls | None = None,
    mask: torch.Tensor | None = None,
) -> OctaveStep:
    """The step for an octave of `size` (h, w): tiles of `tile` px cores (aligned to the layer
    `stride`) when `tile` > 0, else the whole image, extended to the fast net's free-padding
    grid where it has one, through the controls' rotation/scale jitter when they ask for it
    (never on tiles: a tile's gradient must line up with its neighbours')."""
    height, width = size
    if tile:
        tiles = tuple(plan_tiles(height, width, tile, stride))
        return OctaveStep(cap, objective, step_size, jitter, controls, mask, tiles=tiles)
    return OctaveStep(
        cap, objective, step_size, jitter, controls, mask,
        extension=grid_extension(cap, height, width, stride),
        transforms=controls is not None and controls.transforms,
    )
