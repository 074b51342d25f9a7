"""`deepdreamer dream INPUT -o OUTPUT`: parse, build a DreamConfig, call the library, save."""

from __future__ import annotations

import click

from ..api import dream_image
from ..config import PRECISIONS, DreamConfig, parse_layer_spec
from ..io import check_output_path, save_image
from ._common import friendly_errors, progress_reporter

_D = DreamConfig()

EXAMPLES = """
\b
Examples:
  deepdreamer dream examples/chelsea.jpg -o dream.png
  deepdreamer dream photo.jpg -o strokes.png --layer blocks.1
  deepdreamer dream photo.jpg -o mix.png --layer blocks.3:0.5 --layer blocks.5:1.0 --seed 7
  deepdreamer dream photo.jpg -o fish.png --objective class:goldfish --steps 20
  deepdreamer dream big.tif -o big.png --max-size 0 --octaves 6
"""


@click.command(epilog=EXAMPLES)
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output image (png, jpg, webp, tiff, bmp).")
@click.option("-m", "--model", default=_D.model, show_default=True, help="Model name (see `deepdreamer models`).")
@click.option("--weights", type=click.Path(), default=None, help="Local state dict for the model's architecture.")
@click.option("-l", "--layer", "layers", multiple=True, metavar="NAME[:WEIGHT]", help="Layer to dream (repeatable); default: the model's.")
@click.option("--objective", default=None, metavar="SPEC", help="Objective instead of --layer: 'blocks.5:37', 'blocks.5:3,7', 'class:goldfish', 'blocks.4 - 0.5*blocks.5:12'.")
@click.option("--octaves", type=int, default=_D.octaves, show_default=True)
@click.option("--octave-scale", type=float, default=_D.octave_scale, show_default=True)
@click.option("--steps", type=int, default=_D.steps, show_default=True, help="Gradient steps per octave.")
@click.option("--step-size", type=float, default=_D.step_size, show_default=True)
@click.option("--jitter", type=int, default=_D.jitter, show_default=True, help="Max random shift in pixels.")
@click.option("--seed", type=int, default=None, help="Seed for a reproducible run.")
@click.option("--max-size", type=int, default=_D.max_size, show_default=True, help="Downscale the long side to this; 0 keeps full size.")
@click.option("--precision", type=click.Choice(PRECISIONS), default=_D.precision, show_default=True, help="Forward-pass precision; auto uses bf16 where the CPU supports it.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or notes.")
@friendly_errors
def dream(input_path, output, model, weights, layers, objective, octaves, octave_scale, steps,
          step_size, jitter, seed, max_size, precision, force, quiet):
    """Dream INPUT and write the result to OUTPUT."""
    config = DreamConfig(
        model=model,
        weights=weights,
        layers=tuple(parse_layer_spec(s) for s in layers),
        objective=objective,
        octaves=octaves,
        octave_scale=octave_scale,
        steps=steps,
        step_size=step_size,
        jitter=jitter,
        seed=seed,
        max_size=max_size,
        precision=precision,
    )
    check_output_path(output, force=force, protect=[input_path])  # fail before dreaming
    with progress_reporter(quiet) as progress:
        result = dream_image(config, input_path, progress=progress)
    path = save_image(result.image, output, settings=result.settings, force=force, protect=[input_path])
    if not quiet:
        click.echo(f"wrote {path}", err=True)
