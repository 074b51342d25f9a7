"""`deepdreamer presets`: the named looks and what each does."""

from __future__ import annotations

import click

from ..presets import PRESETS


def _value(v) -> str:
    if isinstance(v, tuple):  # layers
        return " ".join(f"{n}:{w:g}" if w != 1.0 else n for n, w in v)
    return f"{v:.4g}" if isinstance(v, float) else str(v)


@click.command()
def presets():
    """List the presets (use with --preset NAME; any flag overrides them)."""
    for p in PRESETS.values():
        click.echo(f"{p.name:<10} {p.description}")
        click.echo(" " * 11 + ", ".join(f"{k.replace('_', '-')}={_value(v)}" for k, v in p.settings.items()))
