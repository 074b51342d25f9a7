"""`deepdreamer models`, `layers MODEL`, `info FILE`: look before you dream."""

from __future__ import annotations

import json

import click

from ..io import read_settings
from ..models import get_entry, list_models
from ._common import friendly_errors


@click.command()
def models():
    """List the registered models and which run offline."""
    for entry in list_models():
        where = "offline" if entry.offline else "download"
        click.echo(f"{entry.name:20} {where:9} {entry.description}")


@click.command()
@click.argument("model")
@friendly_errors
def layers(model):
    """List MODEL's dreamable layers with channels and stride."""
    entry = get_entry(model)
    click.echo(f"{'layer':16} {'channels':>8} {'stride':>6}")
    for info in entry.layers:
        mark = "  (default)" if info.name == entry.default_layer else ""
        click.echo(f"{info.name:16} {info.channels:8d} {info.stride:6d}{mark}")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@friendly_errors
def info(file):
    """Print the settings embedded in a deepdreamer output."""
    settings = read_settings(file)
    if settings is None:
        raise click.ClickException(f"{file} holds no deepdreamer settings")
    click.echo(json.dumps(settings, indent=2, sort_keys=True))
