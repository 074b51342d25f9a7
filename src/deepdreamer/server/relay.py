"""A running job's progress callback: the engine's events become the job's log (progress with an
ETA, previews, notices), and a cancel request stops the run at its next step."""

from __future__ import annotations

import io
import math
import time

import torch
from PIL import Image

from ..engine import Notice, Progress
from ..io import tensor_to_array
from ..motion import FrameProgress
from .jobs import Job

__all__ = ["ProgressRelay", "PREVIEW_AREA", "encode_preview"]

# Octaves up to this many pixels get a preview after every step; a larger one every
# ceil(area / PREVIEW_AREA) steps. The JPEG costs about 1/10 of a dream step of the same size
# here, so this keeps previews a few per cent of the run even at 1024 px.
PREVIEW_AREA = 640 * 480
# ... but never more than one preview per MIN_PREVIEW_GAP seconds but at an octave's end: the
# first octaves' steps take a few ms, faster than a page can fetch and show their pictures.
MIN_PREVIEW_GAP = 0.05
PREVIEW_QUALITY = 80


def encode_preview(image: torch.Tensor) -> tuple[bytes, int, int]:
    """(JPEG bytes, width, height) of the first image of a (N,3,h,w) batch in [0,1]."""
    array = tensor_to_array(image[:1].detach().float().clamp(0.0, 1.0))
    picture = Image.fromarray(array)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=PREVIEW_QUALITY)
    return buffer.getvalue(), picture.width, picture.height


class ProgressRelay:
    """Call it with each engine event. `frames` > 0 for a zoom: progress then counts frames,
    each one a whole dream. `octave_scale` weights the ETA: octave k of n costs about
    scale^(2(k-n)) of the last one, so the small octaves' fast steps do not make it hopeful."""

    def __init__(self, job: Job, octave_scale: float = 1.4, frames: int = 0) -> None:
        self.job, self.scale, self.frames = job, octave_scale, frames
        self.started = time.monotonic()
        self.last_preview = -math.inf
        self.frame = 0

    def __call__(self, event) -> bool:
        if self.job.cancel_requested:
            return False
        if isinstance(event, Notice):
            self.job.emit("notice", message=event.message)
        elif isinstance(event, FrameProgress):
            self.frame = event.frame
        elif isinstance(event, Progress) and event.tile == event.tiles:
            self._progress(event)
        return True

    def _fraction(self, event: Progress) -> float:
        """The share of the work done: octaves weighted by their area, frames equally."""
        weights = [self.scale ** (2 * (k - event.octaves)) for k in range(1, event.octaves + 1)]
        done = sum(weights[: event.octave - 1]) + weights[event.octave - 1] * event.step / max(1, event.steps)
        fraction = done / sum(weights)
        if self.frames:
            fraction = (self.frame + fraction) / self.frames
        return min(1.0, fraction)

    def _progress(self, event: Progress) -> None:
        elapsed = time.monotonic() - self.started
        fraction = self._fraction(event)
        eta = elapsed * (1 - fraction) / fraction if fraction > 0.02 else None
        data = dict(octave=event.octave, octaves=event.octaves, step=event.step, steps=event.steps,
                    done=event.done, total=event.total, objective=_finite(event.objective),
                    elapsed=round(elapsed, 2), eta=None if eta is None else round(eta, 1))
        if self.frames:
            data.update(frame=self.frame + 1, frames=self.frames)
        self.job.emit("progress", **data)
        if event.image is not None and self._wants_preview(event):
            self.last_preview = time.monotonic()
            picture, width, height = encode_preview(event.image)
            number = self.job.add_preview(picture)
            self.job.emit("preview", n=number, url=f"/api/jobs/{self.job.id}/previews/{number}",
                          width=width, height=height)

    def _wants_preview(self, event: Progress) -> bool:
        if event.step == event.steps:
            return True
        width, height = event.size
        every = max(1, math.ceil(width * height / PREVIEW_AREA))
        return event.step % every == 0 and time.monotonic() - self.last_preview >= MIN_PREVIEW_GAP


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None  # JSON has no NaN
