"""Progress events the engine reports; a callback that returns False cancels the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from dataclasses import dataclass, field

from ..errors import DreamCancelled

if TYPE_CHECKING:
    import torch

__all__ = ["Progress", "Notice", "ProgressCallback", "report"]


@dataclass(frozen=True)
class Progress:
    octave: int  # 1-based
    octaves: int
    step: int  # 1-based within the octave
    steps: int
    done: int  # steps done over the whole run
    total: int
    objective: float
    size: tuple[int, int]  # (width, height) of this octave
    # Tiled steps also report each tile: events with tile < tiles are mid-step (done and
    # objective are still the previous step's); the event with tile == tiles ends the step.
    tile: int = 1
    tiles: int = 1
    # The image as it stands after this step ((N,3,h,w) in [0,1], this octave's size), for a
    # live preview. Not a copy: the run changes it on its next step, so a callback that keeps
    # it must copy it. None on mid-step tile events.
    image: "torch.Tensor | None" = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Notice:
    """Something the user should be told (e.g. fewer octaves than asked)."""

    message: str


ProgressCallback = Callable[[Progress | Notice], object]


def report(callback: ProgressCallback | None, event: Progress | Notice) -> None:
    if callback is not None and callback(event) is False:
        raise DreamCancelled("cancelled by the progress callback")
