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

__all__ = ["ProgressRelay", "PREVIEW_BUDGET", "encode_preview"]

# Previews may take this share of the run's time (making one costs ~2.5 ms at 600x450 here, a
# step there 30-80 ms): so a preview follows every few steps, whatever the size, and the server
# stays within the noise of the Python API (2% measured ~3% slower dreams). An octave's last
# step always has one (but a dream's last: see final_preview).
PREVIEW_BUDGET = 0.01
MIN_PREVIEW_GAP = 0.2  # s; and at most five a second, as many batches as a stream sends
# Progress is logged at most five times a second (and with each preview, and at each octave's
# end): often enough for a bar and an ETA. Each event costs the stream ~0.5 ms of the event
# loop's time, which the dream waits for (the GIL); a small octave's steps take a few ms each.
MIN_PROGRESS_GAP = 0.2  # s
MAX_PREVIEW_SIDE = 640  # px; a larger octave is previewed at half size (every other pixel)
PREVIEW_QUALITY = 80


def encode_preview(image: torch.Tensor) -> tuple[bytes, int, int]:
    """(JPEG bytes, width, height) of the first image of a (N,3,h,w) batch in [0,1]."""
    image = image[:1].detach()
    if max(image.shape[-2:]) > MAX_PREVIEW_SIDE:
        image = image[..., ::2, ::2]
    picture = Image.fromarray(tensor_to_array(image))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=PREVIEW_QUALITY)
    return buffer.getvalue(), picture.width, picture.height


class ProgressRelay:
    """Call it with each engine event. `frames` > 0 for a zoom: progress then counts frames,
    each one a whole dream; `final_preview`: whether the run's very last step gets a preview.
    `octave_scale` weights the ETA: octave k of n costs about
    scale^(2(k-n)) of the last one, so the small octaves' fast steps do not make it hopeful."""

    def __init__(self, job: Job, octave_scale: float = 1.4, frames: int = 0, final_preview: bool = True) -> None:
        self.job, self.scale, self.frames = job, octave_scale, frames
        # False for a dream: its very last step is replaced by the result at once, so making,
        # sending and decoding that preview would only delay the result (a zoom's frames and a
        # short visualisation keep theirs)
        self.final_preview = final_preview
        self.started = time.monotonic()
        self.last_preview = self.last_progress = -math.inf
        self.preview_seconds = 0.0  # spent making previews so far
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
        now = time.monotonic()
        elapsed = now - self.started
        preview = event.image is not None and self._wants_preview(event, elapsed)
        if not (preview or event.step == event.steps or now - self.last_progress >= MIN_PROGRESS_GAP):
            return
        self.last_progress = now
        fraction = self._fraction(event)
        eta = elapsed * (1 - fraction) / fraction if fraction > 0.02 else None
        data = dict(octave=event.octave, octaves=event.octaves, step=event.step, steps=event.steps,
                    done=event.done, total=event.total, objective=_finite(event.objective),
                    elapsed=round(elapsed, 2), eta=None if eta is None else round(eta, 1),
                    fraction=round(fraction, 4))
        if self.frames:
            data.update(frame=self.frame + 1, frames=self.frames)
        self.job.emit("progress", **data)
        if preview:
            self.last_preview = time.monotonic()
            picture, width, height = encode_preview(event.image)
            number = self.job.add_preview(picture)
            self.preview_seconds += time.monotonic() - self.last_preview
            self.job.emit("preview", n=number, url=f"/api/jobs/{self.job.id}/previews/{number}",
                          width=width, height=height)

    def _wants_preview(self, event: Progress, elapsed: float) -> bool:
        if not self.final_preview and event.octave == event.octaves and event.step == event.steps:
            return False
        if event.step == event.steps:
            return True
        return (time.monotonic() - self.last_preview >= MIN_PREVIEW_GAP
                and self.preview_seconds <= PREVIEW_BUDGET * elapsed)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None  # JSON has no NaN
