"""The dream engine: gradient steps, the octave pyramid and progress events."""

from .dream import DreamResult, evaluate_objective, run_dream
from .octaves import plan_octaves, resize
from .precision import bf16_supported, resolve_precision
from .progress import Notice, Progress, ProgressCallback
from .step import ascent_step, objective_gradient, sample_jitter

__all__ = [
    "DreamResult",
    "Notice",
    "Progress",
    "ProgressCallback",
    "ascent_step",
    "bf16_supported",
    "evaluate_objective",
    "objective_gradient",
    "plan_octaves",
    "resize",
    "resolve_precision",
    "run_dream",
    "sample_jitter",
]
