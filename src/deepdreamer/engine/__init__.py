"""The dream engine: gradient steps, the octave pyramid and progress events."""

from .dream import DreamResult, evaluate_objective, run_dream
from .gradient import objective_gradient
from .octaves import plan_octaves, resize
from .precision import resolve_precision
from .progress import Notice, Progress, ProgressCallback
from .step import OctaveStep, plan_step, sample_jitter

__all__ = [
    "DreamResult",
    "Notice",
    "OctaveStep",
    "Progress",
    "ProgressCallback",
    "evaluate_objective",
    "objective_gradient",
    "plan_octaves",
    "plan_step",
    "resize",
    "resolve_precision",
    "run_dream",
    "sample_jitter",
]
