"""Typed settings: every default lives here once; the CLI and the API only fill these in."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .errors import ConfigError
from .models.catalogue import EMBEDDED_MODEL

__all__ = ["DreamConfig", "PRECISIONS", "parse_layer_spec"]

PRECISIONS = ("auto", "fp32", "bf16")  # forward-pass precisions a user may ask for


@dataclass(frozen=True)
class DreamConfig:
    model: str = EMBEDDED_MODEL  # the embedded model is the one that works offline
    weights: str | None = None  # a local state dict for the model's architecture
    # (layer, weight) pairs; empty means the model entry's default layer
    layers: tuple[tuple[str, float], ...] = ()
    # an objective spec ("blocks.5:37", "class:goldfish", ...) used instead of `layers`
    objective: str | None = None
    octaves: int = 4  # google/deepdream's octave_n
    octave_scale: float = 1.4  # google/deepdream's octave_scale
    steps: int = 10  # gradient steps per octave (google/deepdream's iter_n)
    step_size: float = 0.015  # per step, in [0,1] pixel units, after gradient normalisation
    jitter: int = 32  # max random roll in pixels, as google/deepdream
    seed: int | None = None  # None draws one; the seed used is saved with the output
    max_size: int = 1024  # long side the CLI downscales inputs to; 0 keeps full size
    device: str = "cpu"
    precision: str = "auto"  # forward pass: fp32, bf16, or auto (bf16 where the CPU has it)
    # gradient tiles' side in px: None = auto (tile octaves above 1600x1600), 0 = never
    tile_size: int | None = None

    def __post_init__(self) -> None:
        _check(self.octaves >= 1, f"octaves must be at least 1, got {self.octaves}")
        _check(
            math.isfinite(self.octave_scale) and self.octave_scale > 1.0,
            f"octave scale must be greater than 1, got {self.octave_scale}",
        )
        _check(self.steps >= 0, f"steps must be 0 or more, got {self.steps}")
        _check(
            math.isfinite(self.step_size) and self.step_size > 0,
            f"step size must be positive, got {self.step_size}",
        )
        _check(self.jitter >= 0, f"jitter must be 0 or more, got {self.jitter}")
        _check(
            self.precision in PRECISIONS,
            f"precision must be auto, fp32 or bf16, got {self.precision!r}",
        )
        _check(
            self.tile_size is None or self.tile_size == 0 or self.tile_size >= 128,
            f"tile size must be auto, 0 (never tile) or at least 128, got {self.tile_size}",
        )
        _check(self.max_size >= 0, f"max size must be 0 or more, got {self.max_size}")
        _check(
            not (self.objective and self.layers), "give either layers or an objective, not both"
        )
        for name, weight in self.layers:
            _check(math.isfinite(weight), f"layer weight for {name!r} must be a number")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["layers"] = [[n, w] for n, w in self.layers]
        return d


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def parse_layer_spec(spec: str) -> tuple[str, float]:
    """'blocks.5' -> ('blocks.5', 1.0); 'blocks.5:0.5' -> ('blocks.5', 0.5)."""
    name, sep, weight = spec.rpartition(":")
    if not sep:
        return spec, 1.0
    try:
        return name, float(weight)
    except ValueError:
        raise ConfigError(f"layer spec {spec!r} should be NAME or NAME:WEIGHT") from None
