"""`deepdreamer models`, `layers MODEL`, `info FILE`: look before you dream."""

from __future__ import annotations

import fnmatch
import json

import click

from ..io import read_settings
from ..models import get_entry, list_models
from ..models._registry import fit_weights
from ..models.sources import timm_names, torchvision_names
from ._common import friendly_errors


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Also every torchvision classification model and every timm model.")
@click.argument("pattern", required=False, default="")
def models(show_all, pattern):
    """List the curated models (tuned defaults; which run offline). With --all, every
    torchvision:NAME and timm:NAME as well, filtered by PATTERN (a substring, or a glob)."""
    pattern = pattern.lower()
    if pattern and not show_all:
        raise click.UsageError("PATTERN filters the --all listing; add --all")
    for entry in list_models():
        if _matches(entry.name, pattern):
            where = "offline" if entry.offline else "download"
            click.echo(f"{entry.name:20} {where:9} {entry.description}")
    if not show_all:
        click.echo("(and every torchvision and timm model: deepdreamer models --all [PATTERN])")
        return
    for source, names in (("torchvision", torchvision_names()), ("timm", timm_names())):
        for name in names:  # the pattern may name the source too: 'timm:convnext*'
            if _matches(name, pattern) or _matches(f"{source}:{name}", pattern):
                click.echo(f"{source}:{name}")


def _matches(name: str, pattern: str) -> bool:
    if not pattern:
        return True
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatch(name.lower(), pattern)
    return pattern in name.lower()


@click.command()
@click.argument("model")
@click.option("--all", "show_all", is_flag=True, help="Every measured module, not only the blocks.")
@click.option("--weights", type=click.Path(), default=None, help="A checkpoint (its class count changes the logits layer).")
@friendly_errors
def layers(model, show_all, weights):
    """List MODEL's dreamable layers with channels and stride (measured by a probe forward).
    MODEL is a curated name, torchvision:NAME, timm:NAME or FILE.py:FACTORY."""
    entry = get_entry(model)
    if weights is not None:
        entry = fit_weights(entry, weights)
    infos = list(entry.catalogue.layers.values()) if show_all else entry.layers
    width = max([16] + [len(i.name) for i in infos])
    click.echo(f"{'layer':{width}} {'channels':>8} {'stride':>6}  layout")
    for info in infos:
        mark = "  (default)" if info.name == entry.default_layer else ""
        mark += "  (class logits)" if info.name == entry.logits_layer else ""
        click.echo(f"{info.name:{width}} {info.channels:8d} {info.stride:6d}  {info.layout}{mark}")
    if entry.input_size is not None:
        h, w = entry.input_size
        click.echo(f"(takes {w}x{h} inputs only: images are resized to that for the network)")
    if not show_all and len(entry.catalogue.layers) > len(infos):
        click.echo(f"({len(entry.catalogue.layers) - len(infos)} more inside these: --all)")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@friendly_errors
def info(file):
    """Print the settings embedded in a deepdreamer output."""
    settings = read_settings(file)
    if settings is None:
        raise click.ClickException(f"{file} holds no deepdreamer settings")
    click.echo(json.dumps(settings, indent=2, sort_keys=True))
