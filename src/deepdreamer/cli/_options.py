"""The dream flags shared by every command that dreams (dream, zoom, video): declared once,
turned into a DreamConfig once."""

from __future__ import annotations

import click
from click.core import ParameterSource

from ..config import PRECISIONS, DreamConfig, parse_layer_spec
from ..presets import PRESETS
from ..settings_file import build_config, read_settings_file, settings_from_image

__all__ = ["dream_options", "config_from_options", "typed_on_command_line"]

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


MODEL_HELP = "Model: a name from `deepdreamer models`, torchvision:NAME, timm:NAME or FILE.py:FACTORY."
WEIGHTS_HELP = "Local state dict or checkpoint for the model's architecture (another class count rebuilds the head)."
LABELS_HELP = "Class names, one per line in logit order (for class:NAME with your own weights)."

# Each entry: (param_decls, click kwargs). New dream settings are added here and in
# config_from_options, so every dreaming command gets them.
_DREAM_OPTIONS = [
    (("-m", "--model"), dict(default=_D.model, show_default=True, help=MODEL_HELP)),
    (("--weights",), dict(type=click.Path(), default=None, help=WEIGHTS_HELP)),
    (("--labels",), dict(type=click.Path(dir_okay=False), default=None, help=LABELS_HELP)),
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
    (("--channels",), dict(default=None, metavar="SPEC", help="Dream only these channels of the layer: 3,7,12-15 | top:8 | bottom:8 | blocks.5:3,7.")),
    (("--guide",), dict(type=click.Path(dir_okay=False), default=None, help="Dream toward the features of this image (google's objective_guide).")),
    (("--mask",), dict(type=click.Path(dir_okay=False), default=None, help="Dream only where this image is white (grey blends, black keeps the input).")),
    (("--lap-levels",), dict(type=int, default=_D.lap_levels, show_default=True, help="Laplacian bands the gradient is normalised in (0 = off; 4 is smooth).")),
    (("--rotate-jitter",), dict(type=float, default=_D.rotate_jitter, show_default=True, help="Max random rotation per step, degrees.")),
    (("--scale-jitter",), dict(type=float, default=_D.scale_jitter, show_default=True, help="Max random zoom per step (0.1 = 0.9x-1.1x).")),
    (("--keep-colors",), dict(is_flag=True, default=_D.keep_colors, help="Dream the luminance only; keep the input's colours.")),
    (("--preset",), dict(default=None, metavar="NAME", help=f"Start from a named look: {', '.join(PRESETS)} (see `deepdreamer presets`).")),
    (("--config", "config_file"), dict(type=click.Path(dir_okay=False), default=None, help="TOML file with the same keys as these flags.")),
    (("--from-image",), dict(type=click.Path(dir_okay=False), default=None, help="Reuse the settings (and seed) embedded in an earlier output.")),
]


def dream_options(fn):
    """Add every dream flag to a click command (in declaration order)."""
    for decls, kwargs in reversed(_DREAM_OPTIONS):
        fn = click.option(*decls, **kwargs)(fn)
    return fn


def typed_on_command_line(options: dict) -> dict:
    """The options the user typed (not click's defaults): what beats presets and files.
    Outside a click context (a direct call) every option counts as typed."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return dict(options)
    return {k: v for k, v in options.items()
            if ctx.get_parameter_source(k) not in (ParameterSource.DEFAULT, None)}


def config_from_options(options: dict) -> DreamConfig:
    """Build the DreamConfig from the parsed flags; pops the flags it used from `options`.
    Flags typed on the command line beat --config/--from-image, which beat --preset, which
    beats the defaults."""
    raw = {key: options.pop(key) for key in _FLAG_KEYS}
    preset, config_file, from_image = raw.pop("preset"), raw.pop("config_file"), raw.pop("from_image")
    explicit = typed_on_command_line(raw)
    if "layers" in explicit:
        explicit["layers"] = tuple(parse_layer_spec(s) for s in explicit["layers"])
    files = []
    if from_image:
        not_used: list[tuple[str, object]] = []
        files.append(settings_from_image(from_image, not_used))
        for name, value in not_used:
            click.echo(f"note: {from_image} names a {name} {value}: not opened (an image's settings never "
                       f"open files); give --{name} to use it", err=True)
    if config_file:
        files.append(read_settings_file(config_file))
    return build_config(explicit, preset=preset, files=files)


_FLAG_KEYS = (
    "model", "weights", "labels", "layers", "objective", "octaves", "octave_scale", "steps", "step_size",
    "jitter", "seed", "max_size", "precision", "tile_size", "channels", "guide", "mask",
    "lap_levels", "rotate_jitter", "scale_jitter", "keep_colors", "preset", "config_file", "from_image",
)

