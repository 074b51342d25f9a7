"""The dream flags shared by every command that dreams (dream, zoom, video): declared once,
turned into a DreamConfig once."""

from __future__ import annotations

import click

from ..config import PRECISIONS, DreamConfig, parse_layer_spec

__all__ = ["dream_options", "config_from_options"]

_D = DreamConfig()


class _TileSize(click.ParamType):
    """'auto' -> None, else a whole number (DreamConfig checks its range)."""

    name = "auto|N"

    def convert(self, value, param, ctx):
        if value is None or value == "auto":
            return None
        if isinstance(value, int):
            return value
        try:
            return int(value)
        except ValueError:
            self.fail(f"{value!r} is not 'auto' or a whole number of pixels", param, ctx)


# Each entry: (param_decls, click kwargs). New dream settings are added here and in
# config_from_options, so every dreaming command gets them.
_DREAM_OPTIONS = [
    (("-m", "--model"), dict(default=_D.model, show_default=True, help="Model name (see `deepdreamer models`).")),
    (("--weights",), dict(type=click.Path(), default=None, help="Local state dict for the model's architecture.")),
    (("-l", "--layer", "layers"), dict(multiple=True, metavar="NAME[:WEIGHT]", help="Layer to dream (repeatable); default: the model's.")),
    (("--objective",), dict(default=None, metavar="SPEC", help="Objective instead of --layer: 'blocks.5:37', 'blocks.5:3,7', 'class:goldfish', 'blocks.4 - 0.5*blocks.5:12'.")),
    (("--octaves",), dict(type=int, default=_D.octaves, show_default=True)),
    (("--octave-scale",), dict(type=float, default=_D.octave_scale, show_default=True)),
    (("--steps",), dict(type=int, default=_D.steps, show_default=True, help="Gradient steps per octave.")),
    (("--step-size",), dict(type=float, default=_D.step_size, show_default=True)),
    (("--jitter",), dict(type=int, default=_D.jitter, show_default=True, help="Max random shift in pixels.")),
    (("--seed",), dict(type=int, default=None, help="Seed for a reproducible run.")),
    (("--max-size",), dict(type=int, default=_D.max_size, show_default=True, help="Downscale the long side to this; 0 keeps full size.")),
    (("--tile-size",), dict(type=_TileSize(), default="auto", show_default=True, metavar="auto|N", help="Compute gradients in N px tiles (bounded memory for big images); auto tiles above 1600x1600; 0 never.")),
    (("--precision",), dict(type=click.Choice(PRECISIONS), default=_D.precision, show_default=True, help="Forward-pass precision; auto uses bf16 where the CPU supports it.")),
]


def dream_options(fn):
    """Add every dream flag to a click command (in declaration order)."""
    for decls, kwargs in reversed(_DREAM_OPTIONS):
        fn = click.option(*decls, **kwargs)(fn)
    return fn


def config_from_options(options: dict) -> DreamConfig:
    """Build the DreamConfig from the parsed flags; pops the flags it used from `options`."""
    layers = options.pop("layers")
    return DreamConfig(
        model=options.pop("model"),
        weights=options.pop("weights"),
        layers=tuple(parse_layer_spec(s) for s in layers),
        objective=options.pop("objective"),
        octaves=options.pop("octaves"),
        octave_scale=options.pop("octave_scale"),
        steps=options.pop("steps"),
        step_size=options.pop("step_size"),
        jitter=options.pop("jitter"),
        seed=options.pop("seed"),
        max_size=options.pop("max_size"),
        precision=options.pop("precision"),
        tile_size=options.pop("tile_size"),
    )
