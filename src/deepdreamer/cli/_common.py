"""What every subcommand shares: one-line errors, the progress reporter, faster malloc settings."""

from __future__ import annotations

import ctypes
import functools
import sys
import time
from typing import TYPE_CHECKING

import click

from ..engine import Notice, Progress
from ..errors import ConfigError, DeepDreamerError, UnknownNameError

if TYPE_CHECKING:
    from ..motion import FrameProgress

__all__ = ["Reporter", "duration", "friendly_errors", "tune_malloc"]


def tune_malloc() -> None:
    """Stop glibc handing big tensor buffers back to the OS after every step: measured 1.5-1.7x
    faster dreaming on this kind of CPU. A no-op where glibc is not the C library.

    The thresholds hold for the main arena only: a thread's own arena (the server's workers)
    still hands its memory back, about 200,000 page faults per 600x450 dream measured here,
    none with one arena for every thread (so a dream on a worker thread runs as on the main)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
        libc.mallopt(-8, 1)  # M_ARENA_MAX: every thread allocates from the main arena
    except (OSError, AttributeError):
        pass


def friendly_errors(fn=None, *, usage_exit: int = 1, interrupted: str = "interrupted"):
    """A DeepDreamerError becomes `error: <one line>` and exit 1; never a traceback.
    `usage_exit`: the exit code for a setting or name that is wrong (ConfigError,
    UnknownNameError), for commands that tell those apart from failures (batch: 2)."""
    if fn is None:
        return functools.partial(friendly_errors, usage_exit=usage_exit, interrupted=interrupted)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DeepDreamerError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(usage_exit if isinstance(exc, (ConfigError, UnknownNameError)) else 1)
        except KeyboardInterrupt:
            click.echo(f"error: {interrupted}", err=True)
            sys.exit(130)

    return wrapper


class Reporter:
    """What a run tells the user on stderr, for every command: the engine's Progress (octave,
    step, tile), its Notices (each said once: a video's every frame repeats them) and, for zoom
    and video, motion's FrameProgress. A transient rich bar on a terminal; when piped, only the
    notes and, per frame, a line with its ETA (long jobs are often logged); nothing with quiet.

    `frames=False` (dream, visualize): the bar counts the engine's steps. `frames=True` (zoom,
    video): it counts frames and the engine's events only relabel it; the ETA counts this run's
    frames alone, so a resumed run does not look faster than it is."""

    def __init__(self, quiet: bool, frames: bool = False) -> None:
        self.quiet, self.frames = quiet, frames
        self.tty = sys.stderr.isatty()
        self._bar = self._task = None
        self._started: float | None = None  # when the first FrameProgress came
        self._frame = (0, 0)  # (frames done, frames in the run)
        self._told: set[str] = set()

    def __enter__(self) -> "Reporter":
        if not self.quiet and self.tty:
            from rich.progress import BarColumn, Progress as Bar, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            count = "{task.completed}/{task.total}" + (" frames" if self.frames else "")
            self._bar = Bar(TextColumn("{task.description}"), BarColumn(), TextColumn(count),
                            TimeElapsedColumn(), TimeRemainingColumn(), transient=True)
            self._bar.__enter__()
            if not self.frames:  # a frame bar starts with the first frame, knowing the total
                self._task = self._bar.add_task("dreaming", total=None)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def __call__(self, event) -> None:
        if self.quiet:
            return
        if isinstance(event, Notice):
            if event.message not in self._told:
                self._told.add(event.message)
                click.echo(f"note: {event.message}", err=True)
        elif isinstance(event, Progress):
            if self._task is not None:
                self._on_step(event)
        else:
            from ..motion import FrameProgress  # only here: motion imports PyAV and OpenCV

            if isinstance(event, FrameProgress):
                self._on_frame(event)

    def _on_step(self, event: Progress) -> None:
        if self.frames:
            done, total = self._frame
            self._bar.update(self._task, description=f"frame {done + 1}/{total} octave "
                             f"{event.octave}/{event.octaves} step {event.step}/{event.steps}")
            return
        w, h = event.size
        tile = f" tile {event.tile}/{event.tiles}" if event.tiles > 1 else ""
        self._bar.update(self._task, total=event.total, completed=event.done,
                         description=f"octave {event.octave}/{event.octaves} ({w}x{h}) "
                         f"step {event.step}/{event.steps}{tile}")

    def _on_frame(self, event: FrameProgress) -> None:
        self._frame = (event.frame, event.frames)
        now = time.monotonic()
        if self._started is None:
            self._started = now
            if event.resumed:
                click.echo(f"resuming: {event.resumed} of {event.frames} frames already done", err=True)
            if self._bar is not None:
                self._task = self._bar.add_task("dreaming", total=event.frames, completed=event.frame)
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=event.frame, description="dreaming")
            return
        eta = (now - self._started) / (event.frame - event.resumed) * (event.frames - event.frame)
        click.echo(f"frame {event.frame}/{event.frames}  eta {duration(eta)}", err=True)


def duration(seconds: float) -> str:
    """'1h05m', '3m07s' or '42s'."""
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")
