"""`deepdreamer visualize OBJECTIVE` and `deepdreamer activations IMAGE`: build the config, call
the library, save atomically."""

from __future__ import annotations

import re
from pathlib import Path

import click

from ..config import PARAMETERISATIONS, ROBUSTNESS, ActivationsConfig, VisualizeConfig
from ..errors import ConfigError
from ..io import check_output_path, save_image
from ..presets import VISUALIZE_PRESETS
from ..settings_file import build_config
from ..visualize import activations_config, render_config, render_sheet
from ._common import Reporter, friendly_errors
from ._options import LABELS_HELP, MODEL_HELP, WEIGHTS_HELP, typed_on_command_line

__all__ = ["visualize", "activations"]

_V = VisualizeConfig(objective="-")
_A = ActivationsConfig()

VISUALIZE_EXAMPLES = """
\b
Examples:
  deepdreamer visualize class:dumbbell -o dumbbell.png
  deepdreamer visualize blocks.5:37 --steps 256 --param pixel
  deepdreamer visualize "blocks.5:37@3,3" -o neuron.png
  deepdreamer visualize blocks.4:12 --batch 4 --diversity 2 -o diverse.png   # diverse-1..4.png
  deepdreamer visualize blocks.5:0-15 --sheet -o sheet.png --steps 128
"""


def _config(objective: str, options: dict) -> VisualizeConfig:
    """Defaults < --preset < flags typed on the command line."""
    preset = options.pop("preset")
    typed = typed_on_command_line(options)
    return build_config(dict(typed, objective=objective), preset=preset, config_type=VisualizeConfig)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-.") or "visualization"


def _numbered(path: Path, count: int) -> list[Path]:
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, count + 1)]


@click.command(epilog=VISUALIZE_EXAMPLES)
@click.argument("objective", metavar="OBJECTIVE")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output image; default: named after the objective. With --batch N: OUT-1 .. OUT-N.")
@click.option("-m", "--model", default=_V.model, show_default=True, help=MODEL_HELP)
@click.option("--weights", type=click.Path(), default=None, help=WEIGHTS_HELP)
@click.option("--labels", type=click.Path(dir_okay=False), default=None, help=LABELS_HELP)
@click.option("--size", type=int, default=_V.size, show_default=True, help="Side of the square image in px.")
@click.option("--steps", type=int, default=_V.steps, show_default=True, help="Optimisation steps.")
@click.option("--param", type=click.Choice(PARAMETERISATIONS), default=_V.param, show_default=True,
              help="Image parameterisation: Fourier with decorrelated colours, MACO (phase only, a fixed "
              "natural spectrum), or plain pixels.")
@click.option("--lr", type=float, default=_V.lr, show_default=True, help="Adam learning rate.")
@click.option("--batch", type=int, default=_V.batch, show_default=True, help="Images rendered together.")
@click.option("--diversity", type=float, default=_V.diversity, show_default=True,
              help="Weight pushing the batch's images apart (needs --batch 2 or more).")
@click.option("--diversity-layer", default=None, help="Layer the diversity compares; default: the objective's.")
@click.option("--transforms/--no-transforms", default=_V.transforms, show_default=True,
              help="Random pad/jitter/scale/rotate every step (robust, not adversarial, images).")
@click.option("--robustness", type=click.Choice(ROBUSTNESS), default=_V.robustness, show_default=True,
              help="The transforms: strong (wider scales and rotations, shrinking and back: readable at "
              "thumbnail size) or lucid (Lucid's standard set).")
@click.option("--decay", type=float, default=_V.decay, show_default=True,
              help="The spectrum's 1/frequency power (fourier, maco): higher is smoother; Lucid's is 1.")
@click.option("--tv", type=float, default=_V.tv, show_default=True, help="Total-variation penalty weight (a few hundred is visibly smoother).")
@click.option("--blur", type=float, default=_V.blur, show_default=True, help="Blur penalty weight.")
@click.option("--seed", type=int, default=None, help="Seed for a reproducible run.")
@click.option("--preset", default=None, metavar="NAME",
              help=f"Start from named settings: {', '.join(VISUALIZE_PRESETS)} (flags typed here override them).")
@click.option("--sheet", is_flag=True, help="OBJECTIVE is LAYER:CHANNELS (e.g. blocks.5:0-15): one labelled contact sheet.")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def visualize(objective, output, force, quiet, sheet, **options):
    """Grow, from noise, the image that most excites OBJECTIVE: a channel (blocks.5:37), a
    neuron (blocks.5:37@x,y, in the layer's grid, default the centre), a class (class:dumbbell)
    or a sum of these."""
    if sheet and options["batch"] != 1:
        raise ConfigError("--sheet renders one image per channel; leave out --batch")
    config = _config(objective, options)
    default = _slug(objective) + ("-sheet" if sheet else "") + ".png"
    paths = _numbered(Path(output or default), 1 if sheet else config.batch)
    for path in paths:  # fail before rendering, not after
        check_output_path(path, force=force)
    with Reporter(quiet) as progress:
        out = render_sheet(config, progress=progress) if sheet else render_config(config, progress=progress)
    images = [out.sheet] if sheet else out.images
    for i, (image, path) in enumerate(zip(images, paths)):
        settings = dict(out.settings, item=i + 1) if len(paths) > 1 else out.settings
        written = save_image(image, path, settings=settings, force=force)
        if not quiet:
            click.echo(f"wrote {written}", err=True)


ACTIVATIONS_EXAMPLES = """
\b
Examples:
  deepdreamer activations examples/chelsea.jpg --layer blocks.3 -o maps.png
  deepdreamer activations photo.jpg --layer blocks.5 --top 32
"""


@click.command(epilog=ACTIVATIONS_EXAMPLES)
@click.argument("image_path", metavar="IMAGE", type=click.Path(dir_okay=False))
@click.option("-l", "--layer", default=None, help="Layer to show; default: the model's dream layer.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output image; default: IMAGE-LAYER-activations.png here.")
@click.option("--top", type=int, default=_A.top, show_default=True, help="How many of the strongest channels.")
@click.option("-m", "--model", default=_A.model, show_default=True, help=MODEL_HELP)
@click.option("--weights", type=click.Path(), default=None, help=WEIGHTS_HELP)
@click.option("--max-size", type=int, default=_A.max_size, show_default=True, help="Downscale the input's long side to this.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the output path.")
@friendly_errors
def activations(image_path, layer, output, force, quiet, **options):
    """Show LAYER's strongest feature maps for IMAGE, labelled, beside the image."""
    config = ActivationsConfig(layer=layer, **options)
    default = f"{Path(image_path).stem}-{_slug(layer or 'default')}-activations.png"
    path, _ = check_output_path(output or default, force=force, protect=[image_path])
    maps = activations_config(config, image_path)
    settings = dict(vars(config), kind="activations", channels=maps.channels)
    written = save_image(maps.image, path, settings=settings, force=force, protect=[image_path])
    if not quiet:
        click.echo(f"wrote {written}", err=True)
