"""Named looks: documented settings that any flag or keyword overrides. Dream presets hold
DreamConfig fields (dream, zoom, video, batch); visualisation presets hold VisualizeConfig fields."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError, UnknownNameError

__all__ = ["Preset", "PRESETS", "VISUALIZE_PRESETS", "get_preset"]


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    settings: dict = field(default_factory=dict)  # DreamConfig (or VisualizeConfig) fields


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "classic",
            "google/deepdream's defaults: 4 octaves of 1.4, 10 steps, step 1.5 on 0-255, jitter 32, "
            "a mid layer (eyes and whorls)",
            dict(layers=(("blocks.3", 1.0),), octaves=4, octave_scale=1.4, steps=10,
                 step_size=1.5 / 255, jitter=32),
        ),
        Preset(
            "subtle",
            "a light touch: fine texture over the photo, which stays recognisable",
            dict(layers=(("blocks.2", 1.0),), octaves=3, steps=5, step_size=0.006),
        ),
        Preset(
            "deep",
            "high layer, more octaves and steps: eyes, snouts and animal parts everywhere",
            dict(layers=(("blocks.4", 1.0),), octaves=6, octave_scale=1.4, steps=20, step_size=0.015),
        ),
        Preset(
            "nightmare",
            "two high layers, long and strong, rotation jitter: dense creatures, little photo left",
            dict(layers=(("blocks.4", 1.0), ("blocks.5", 0.5)), octaves=5, steps=30,
                 step_size=0.02, rotate_jitter=5.0, lap_levels=4),
        ),
        Preset(
            "strokes",
            "a low layer: brush strokes and hatching, no objects",
            dict(layers=(("blocks.1", 1.0),), octaves=4, steps=15, step_size=0.012),
        ),
        Preset(
            "painterly",
            "Laplacian-normalised mid layer with the photo's own colours: smooth, painted swirls",
            dict(layers=(("blocks.2", 1.0),), octaves=5, steps=15, step_size=0.015, lap_levels=5,
                 keep_colors=True),
        ),
    ]
}


VISUALIZE_PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset("quick", "a first look in a few seconds: 128 steps at 160 px",
               dict(size=160, steps=128)),
        Preset("standard", "the defaults: 512 Adam steps at 224 px, Fourier parameterisation, strong transforms",
               dict(size=224, steps=512, param="fourier")),
        Preset("detailed", "larger and longer: 1024 steps at 320 px, more structure per image",
               dict(size=320, steps=1024)),
        Preset("diverse", "four takes on the objective, pushed apart from each other",
               dict(batch=4, diversity=10.0, steps=256)),
    ]
}

_KINDS = {"dream": PRESETS, "visualize": VISUALIZE_PRESETS}


def get_preset(name: str, kind: str = "dream") -> Preset:
    table = _KINDS[kind]
    if not isinstance(name, str):  # a preset key in a TOML file or an output's settings
        raise ConfigError(f"preset must be a name ({', '.join(table)}), got {name!r}")
    try:
        return table[name]
    except KeyError:
        where = "" if kind == "dream" else " for visualize"
        raise UnknownNameError("preset", name, list(table), where=where) from None
