"""Live mode's engine: frames dreamed one by one as they arrive, each starting from the previous
frame's dream carried along the optical flow (carry.py, the video loop's coherence), with as many
gradient steps as the target frame rate leaves room for. No I/O: a server (or any caller) hands
in uint8 frames and gets dreamed ones back."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..config import LiveConfig
from ..models import DreamModel
from ..pipeline import PreparedDream, prepare_dream
from .carry import carry
from .flow import FlowEstimator
from .frames import from_dream_tensor, to_dream_tensor
from .seeds import frame_seed

__all__ = ["LiveDreamer", "LiveFrame", "StepBudget"]

# How fast the cost estimates follow a change (a new layer, a larger frame): the weight of the
# newest measurement. Higher reacts faster; lower rides out one slow frame (a GC pause, a
# JPEG that took longer).
_SMOOTHING = 0.3


@dataclass(frozen=True)
class LiveFrame:
    image: np.ndarray  # uint8 (H, W, 3): the dream, carried into the next frame
    steps: int  # gradient steps it got
    # the objective's value as the engine saw it before the frame's last step (nan without
    # steps): free to report; it is not comparable across frames of different sizes
    objective: float
    seconds: float  # the time this frame took here: flow, carry and dream


class StepBudget:
    """Steps per frame that hold a frame rate. It learns two costs from what it is told: one
    step, and everything else of a frame's period (flow, decoding, encoding, the round trip to
    the client), and gives the steps that fit into what remains of 1 / fps."""

    def __init__(self, config: LiveConfig, first: int = 2) -> None:
        self.config = config
        self.steps = max(config.min_steps, min(config.max_steps, first))
        self.step_cost: float | None = None  # seconds per step
        self.other_cost: float | None = None  # seconds of a period that are not steps

    def learn(self, steps: int, step_seconds: float, period: float | None) -> None:
        """A frame took `step_seconds` for its `steps` steps; `period` is the time since the
        previous frame began (None for the first)."""
        if steps > 0:
            self.step_cost = _blend(self.step_cost, step_seconds / steps)
        if period is not None:
            self.other_cost = _blend(self.other_cost, max(0.0, period - step_seconds))
        if self.step_cost is not None and self.other_cost is not None:
            room = 1.0 / self.config.fps - self.other_cost
            fitting = math.floor(room / self.step_cost) if room > 0 else 0
            self.steps = max(self.config.min_steps, min(self.config.max_steps, fitting))


def _blend(old: float | None, new: float) -> float:
    return new if old is None else old + _SMOOTHING * (new - old)


class LiveDreamer:
    """Dreams a stream of frames with `config` on `net`. Not thread-safe: one caller's thread."""

    def __init__(self, net: DreamModel, config: LiveConfig | None = None, seed: int = 0,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.seed = seed
        self._clock = clock
        self._previous: tuple[np.ndarray, np.ndarray] | None = None  # (source, dream)
        self._index = 0
        self._started: float | None = None  # when the previous frame began
        self.configure(net, config or LiveConfig())

    def configure(self, net: DreamModel, config: LiveConfig) -> None:
        """New settings (a look, a layer, the strength, the rate, a model), from the next frame
        on. Checked here: a wrong layer raises before anything changes. The dream so far is
        kept and carried on, so a change shows as the dream turning, not starting over."""
        prepared = prepare_dream(config.dream_config(steps=1), net)
        self.net, self.config, self._prepared = net, config, prepared
        self._flow = FlowEstimator(config.flow_scale) if config.flow_blend > 0 else None
        budget = getattr(self, "budget", None)
        self.budget = StepBudget(config, first=budget.steps if budget else 2)
        if budget is not None and budget.config.fps == config.fps and budget.config.model == config.model:
            self.budget.step_cost, self.budget.other_cost = budget.step_cost, budget.other_cost

    @property
    def prepared(self) -> PreparedDream:
        return self._prepared

    def warm_up(self, size: tuple[int, int] = (320, 240)) -> None:
        """Dream one grey frame and forget it: the first real frame then does not pay for the
        fast net's first run (oneDNN picks and caches its kernels per shape: ~3 s here)."""
        w, h = size
        saved = self._index
        self.dream(np.full((h, w, 3), 128, np.uint8))
        self.reset()
        self._index = saved
        # and the budget forgets it too: that frame's ~3 s would otherwise hold the steps at
        # the minimum for the first second of real frames, until the average caught up
        self.budget = StepBudget(self.config)

    def reset(self) -> None:
        """Forget the previous frame: the next one is dreamed from scratch."""
        self._previous, self._started = None, None

    def dream(self, frame: np.ndarray) -> LiveFrame:
        """The dream of `frame` (uint8 RGB), carried on from the frame before."""
        began = self._clock()
        period = None if self._started is None else began - self._started
        self._started = began
        carried = carry(self._flow, self.config.flow_blend, frame, self._previous, self.config.settle)
        dreaming = self._clock()
        prepared = replace(self._prepared, config=self.config.dream_config(self.budget.steps))
        steps = prepared.config.steps  # the budget's, or none at strength 0
        result = prepared.dream_tensor(to_dream_tensor(carried.image), frame_seed(self.seed, self._index))
        step_seconds = self._clock() - dreaming
        out = carried.settle(from_dream_tensor(result.image))
        self.budget.learn(steps, step_seconds, period)
        self._previous = (frame, out)
        self._index += 1
        history = result.objective_history
        return LiveFrame(
            image=out,
            steps=steps,
            objective=history[-1] if history else float("nan"),
            seconds=self._clock() - began,
        )
