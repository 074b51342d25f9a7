"""What every subcommand shares: one-line errors, the progress bar, faster malloc settings."""

from __future__ import annotations

import ctypes
import functools
import sys

import click

from ..engine import Notice, Progress
from ..errors import DeepDreamerError

__all__ = ["friendly_errors", "progress_reporter", "tune_malloc"]


def tune_malloc() -> None:
    """Stop glibc handing big tensor buffers back to the OS after every step: measured 1.5-1.7x
    faster dreaming on this kind of CPU. A no-op where glibc is not the C library."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


def friendly_errors(fn):
    """A DeepDreamerError becomes `error: <one line>` and exit 1; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DeepDreamerError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)

    return wrapper


class progress_reporter:  # noqa: N801 - used as a context manager factory
    """A rich progress bar (octave, step, ETA) on a terminal; silent when quiet or piped."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self.quiet = quiet
        self._bar = None
        self._task = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import (
                BarColumn,
                Progress as Bar,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("dreaming", total=None)
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def __call__(self, event) -> None:
        if isinstance(event, Notice):
            if not self.quiet:
                click.echo(f"note: {event.message}", err=True)
        elif isinstance(event, Progress) and self._bar is not None:
            w, h = event.size
            self._bar.update(
                self._task,
                total=event.total,
                completed=event.done,
                description=f"octave {event.octave}/{event.octaves} ({w}x{h}) "
                f"step {event.step}/{event.steps}"
                + (f" tile {event.tile}/{event.tiles}" if event.tiles > 1 else ""),
            )
