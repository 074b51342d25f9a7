"""The `deepdreamer` command: thin subcommands that build a config and call the library."""

from __future__ import annotations

import click

from ..pipeline import package_version
from ._common import tune_malloc
from .batch import batch
from .dream import dream
from .inspect import info, layers, models
from .motion import video, zoom
from .presets import presets
from .serve import serve
from .visualize import activations, visualize

__all__ = ["main", "cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_version(), prog_name="deepdreamer")
def cli():
    """DeepDream images offline on a CPU. Start with: deepdreamer dream examples/chelsea.jpg -o dream.png"""


for command in (dream, batch, models, layers, info, zoom, video, visualize, activations, presets, serve):
    cli.add_command(command)


def main() -> None:
    tune_malloc()
    cli()
