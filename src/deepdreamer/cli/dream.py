"""`deepdreamer dream INPUT -o OUTPUT`: parse, build a DreamConfig, call the library, save."""

from __future__ import annotations

import click

from ..pipeline import dream_image
from ..io import check_output_path, save_image
from ._common import Reporter, friendly_errors
from ._options import config_from_options, dream_options

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
@dream_options
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or notes.")
@friendly_errors
def dream(input_path, output, force, quiet, **options):
    """Dream INPUT and write the result to OUTPUT."""
    config = config_from_options(options)
    check_output_path(output, force=force, protect=[input_path])  # fail before dreaming
    with Reporter(quiet) as progress:
        result = dream_image(config, input_path, progress=progress)
    path = save_image(result.image, output, settings=result.settings, force=force, protect=[input_path])
    if not quiet:
        click.echo(f"wrote {path}", err=True)
