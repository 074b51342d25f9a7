"""`deepdreamer batch INPUT... -o OUTDIR`: build a BatchConfig and a DreamConfig, call the
library, show the progress, and exit 0 (all done), 1 (some items failed) or 2 (usage)."""

from __future__ import annotations

import sys

import click

from ..batch import BatchStarted, ItemFinished, ItemProgress, run_batch
from ..config import BATCH_BACKENDS, BATCH_FORMATS, BatchConfig
from ._common import duration, friendly_errors
from ._options import config_from_options, dream_options

EXAMPLES = """
\b
Examples:
  deepdreamer batch photos/ -o dreams/ --recursive
  deepdreamer batch 'shots/*.jpg' -o out/ --preset deep --seed 7 --format jpg
  deepdreamer batch photos/ -o out/ --mask-dir masks/ --workers 2
  deepdreamer batch photos/ -o out/ --backend ray --ray-address 10.0.0.5:6379
Run the same command again to resume: items already done are skipped.
"""

_B = BatchConfig(inputs=("-",), outdir="-")


@click.command(epilog=EXAMPLES)
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False), help="Output folder (the inputs' tree is mirrored).")
@dream_options
@click.option("--recursive", is_flag=True, help="Walk subfolders too, mirroring them under OUTDIR.")
@click.option("--format", "fmt", type=click.Choice(BATCH_FORMATS), default=_B.format, show_default=True)
@click.option("--mask-dir", type=click.Path(file_okay=False), default=None, help="Masks matched to photos by relative path (any image suffix).")
@click.option("--guide-dir", type=click.Path(file_okay=False), default=None, help="Guide images matched the same way.")
@click.option("--workers", type=int, default=_B.workers, show_default=True, help="Worker processes (or Ray actors); one already uses every core.")
@click.option("--backend", type=click.Choice(BATCH_BACKENDS), default=_B.backend, show_default=True)
@click.option("--ray-address", default=None, metavar="HOST:PORT", help="Join this Ray cluster (default: start a local one).")
@click.option("--retries", type=int, default=_B.retries, show_default=True, help="Tries again for an item whose worker died.")
@click.option("--threads", type=int, default=None, help="Torch threads per item (default: cores / workers, or what this batch used before).")
@click.option("--force", is_flag=True, help="Replace outputs made with other settings.")
@click.option("-q", "--quiet", is_flag=True, help="No progress; failures and the summary only.")
@friendly_errors(usage_exit=2, interrupted="interrupted (run the same command again to resume)")
def batch(inputs, outdir, recursive, fmt, mask_dir, guide_dir, workers, backend, ray_address, retries,
          threads, force, quiet, **options):
    """Dream every photo of INPUT... (files, folders, globs) into OUTDIR, resumably."""
    dream = config_from_options(options)
    config = BatchConfig(inputs=inputs, outdir=outdir, recursive=recursive, format=fmt, mask_dir=mask_dir,
                         guide_dir=guide_dir, workers=workers, backend=backend, ray_address=ray_address,
                         retries=retries, threads=threads)
    with BatchReporter(quiet) as report:
        summary = run_batch(config, dream, force=force, progress=report)
    done = (f"done {summary.done}, skipped {summary.skipped}, failed {len(summary.failed)} of {summary.items} "
            f"in {duration(summary.seconds)} ({summary.images_per_minute:.1f} images/min)")
    click.echo(done, err=True)
    if summary.failed:
        click.echo(f"error: {len(summary.failed)} of {summary.items} items failed; see {summary.manifest}", err=True)
        sys.exit(1)


class BatchReporter:
    """Progress on stderr: on a terminal a bar over the items (with ETA) and one line per item
    being dreamed; when piped, a line per finished item; with quiet, failures only."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.tty = quiet, sys.stderr.isatty()
        self._bar = self._items = None
        self._current: dict[str, object] = {}

    def __enter__(self) -> "BatchReporter":
        if not self.quiet and self.tty:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                                 TimeRemainingColumn(), transient=True)
            self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def _say(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, highlight=False, markup=False)
        else:
            click.echo(text, err=True)

    def __call__(self, event) -> None:
        if isinstance(event, BatchStarted):
            if not self.quiet:
                extra = f", {event.skipped} done before" if event.skipped else ""
                self._say(f"{event.todo} of {event.items} items to dream{extra}; {event.workers} worker(s), "
                          f"{event.threads} thread(s) each, seed {event.seed}")
            if self._bar is not None:
                self._items = self._bar.add_task("items", total=event.todo)
        elif isinstance(event, ItemProgress) and self._bar is not None:
            task = self._current.get(event.rel)
            if task is None:
                task = self._current[event.rel] = self._bar.add_task(f"  {event.rel}", total=event.total)
            self._bar.update(task, completed=event.done, total=event.total)
        elif isinstance(event, ItemFinished):
            self._finished(event)

    def _finished(self, event: ItemFinished) -> None:
        if self._bar is not None:
            task = self._current.pop(event.rel, None)
            if task is not None:
                self._bar.remove_task(task)
            self._bar.update(self._items, completed=event.finished)
        count = f"[{event.finished}/{event.todo}]" if event.finished else "[refused]"
        if event.status == "failed":
            self._say(f"{count} {event.rel} failed: {event.error}")
        elif not self.quiet and self._bar is None:
            self._say(f"{count} {event.rel} done in {event.seconds:.1f}s")
