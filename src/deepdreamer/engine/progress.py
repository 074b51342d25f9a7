"""Progress events the engine reports; a callback that returns False cancels the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import DreamCancelled

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


@dataclass(frozen=True)
class Notice:
    """Something the user should be told (e.g. fewer octaves than asked)."""

    message: str


ProgressCallback = Callable[[Progress | Notice], object]


def report(callback: ProgressCallback | None, event: Progress | Notice) -> None:
    if callback is not None and callback(event) is False:
        raise DreamCancelled("cancelled by the progress callback")
