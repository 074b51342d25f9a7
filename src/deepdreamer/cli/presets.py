"""`deepdreamer presets`: the named looks and what each does."""

from __future__ import annotations

import click

from ..presets import PRESETS, VISUALIZE_PRESETS


def _value(v) -> str:
    if isinstance(v, tuple):  # layers
        return " ".join(f"{n}:{w:g}" if w != 1.0 else n for n, w in v)
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _show(table) -> None:
    for p in table.values():
        click.echo(f"{p.name:<10} {p.description}")
        click.echo(" " * 11 + ", ".join(f"{k.replace('_', '-')}={_value(v)}" for k, v in p.settings.items()))


@click.command()
def presets():
    """List the presets (use with --preset NAME; any flag overrides them)."""
    click.echo("dream, zoom, video (--preset NAME):")
    _show(PRESETS)
    click.echo("\nvisualize (--preset NAME):")
    _show(VISUALIZE_PRESETS)
