"""The local backend: worker processes on this machine, each loading the model once.

A process, not a thread, per worker, so that a worker that crashes or is killed (out of memory,
SIGKILL) takes nothing else with it: it is replaced and its item tried again, up to `retries`
times. concurrent.futures and multiprocessing.Pool cannot do that (the first breaks every
pending future when one worker dies, the second loses the dead worker's task), so this module
keeps a small supervisor instead: one pipe per worker, one item at a time per worker, and
multiprocessing's `wait` on the pipes and the processes' sentinels.

`InlinePool` runs the items in this process: for a model object the caller loaded (which a
new process cannot be handed) and for tests."""

from __future__ import annotations

import ctypes
import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import wait

from ..config import DreamConfig
from ..engine import Progress
from ..errors import ConfigError, DeepDreamerError, UnknownNameError, failure_line
from ..models import DreamModel
from .item import ItemDreamer, ItemInput
from .outcome import Done, Failed, ItemProgress, Outcome

__all__ = ["LocalPool", "InlinePool"]

PROGRESS_GAP = 0.2  # s between a worker's progress messages (a bar needs no more)
STOP_SECONDS = 5.0  # how long a worker may take to exit when asked before it is killed
MAX_START_DEATHS = 3  # workers dying before they are ready, in a row: something is wrong


class _Relay:
    """The worker's progress callback: at most one message per PROGRESS_GAP to the driver."""

    def __init__(self, conn, rel: str) -> None:
        self.conn, self.rel, self.last = conn, rel, 0.0

    def __call__(self, event) -> None:
        if not isinstance(event, Progress) or event.tile != event.tiles:
            return
        now = time.monotonic()
        if now - self.last >= PROGRESS_GAP or event.done == event.total:
            self.last = now
            self.conn.send(("progress", self.rel, event.done, event.total))


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the driver dies, even by SIGKILL, so a killed
    batch leaves no orphan dreaming on."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker(conn, config: DreamConfig, threads: int) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    from ..cli._common import tune_malloc

    tune_malloc()
    try:
        dreamer = ItemDreamer(config, threads=threads)
    except Exception as exc:  # noqa: BLE001 - reported to the driver in one line
        conn.send(("fatal", failure_line(exc), isinstance(exc, (ConfigError, UnknownNameError))))
        return
    conn.send(("ready",))
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        try:
            conn.send(("done", dreamer(item, _Relay(conn, item.rel))))
        except Exception as exc:  # noqa: BLE001 - a bad item: one line, and on to the next
            conn.send(("failed", item.rel, failure_line(exc)))


class _Slot:
    def __init__(self, ctx, config: DreamConfig, threads: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, config, threads), daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.item: ItemInput | None = None

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(STOP_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _death(process) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class LocalPool:
    """`workers` processes dreaming items one at a time each; a dead worker's item is tried
    again (it goes first) on a new worker, up to `retries` times."""

    def __init__(self, config: DreamConfig, workers: int, threads: int, retries: int) -> None:
        self.config, self.workers, self.threads, self.retries = config, workers, threads, retries

    def run(self, items: Iterable[ItemInput], progress: Callable[[ItemProgress], None] | None = None) -> Iterator[Outcome]:
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs OpenMP
        source = iter(items)
        retry: deque[ItemInput] = deque()
        attempts: dict[str, int] = {}
        slots = [_Slot(ctx, self.config, self.threads) for _ in range(self.workers)]
        start_deaths = 0
        exhausted = False

        def next_item() -> ItemInput | None:
            nonlocal exhausted
            if retry:
                return retry.popleft()
            if not exhausted:
                item = next(source, None)
                if item is not None:
                    return item
                exhausted = True
            return None

        try:
            while True:
                for slot in slots:
                    if slot.ready and slot.item is None:
                        slot.item = next_item()
                        if slot.item is not None:
                            attempts[slot.item.rel] = attempts.get(slot.item.rel, 0) + 1
                            slot.conn.send(slot.item)
                if exhausted and not retry and all(s.item is None for s in slots):
                    return
                by_handle = {}
                for slot in slots:
                    by_handle[slot.conn] = slot
                    by_handle[slot.process.sentinel] = slot
                for handle in wait(list(by_handle)):
                    slot = by_handle[handle]
                    if handle is slot.conn:
                        outcome = self._message(slot, attempts, progress)
                        if outcome is not None:
                            yield outcome
                    elif not slot.process.is_alive() and slot in slots:
                        yield from self._replace(slot, slots, ctx, retry, attempts, more=not exhausted)
                        start_deaths = 0 if slot.ready else start_deaths + 1
                        if start_deaths >= MAX_START_DEATHS:
                            raise DeepDreamerError(
                                f"{MAX_START_DEATHS} workers died before they were ready "
                                f"(the last {_death(slot.process)}); see the messages above")
        finally:
            for slot in slots:
                slot.stop()

    def _message(self, slot: _Slot, attempts: dict, progress) -> Outcome | None:
        try:
            message = slot.conn.recv()
        except (EOFError, OSError):
            return None  # the worker is dying: its sentinel says so next
        kind = message[0]
        if kind == "ready":
            slot.ready = True
        elif kind == "fatal":  # the settings do not fit the model: no item can be dreamed
            raise (ConfigError if message[2] else DeepDreamerError)(message[1])
        elif kind == "progress":
            if progress is not None:
                progress(ItemProgress(message[1], message[2], message[3]))
        elif kind == "done":
            out, slot.item = message[1], None
            return Done(out.rel, out, attempts.get(out.rel, 1))
        elif kind == "failed":
            rel, slot.item = message[1], None
            return Failed(rel, message[2], attempts.get(rel, 1))
        return None

    def _replace(self, slot: _Slot, slots: list, ctx, retry: deque, attempts: dict, more: bool) -> Iterator[Outcome]:
        """A worker died: its item goes first in line again, or fails after `retries`; a new
        worker takes its place while there is work left (`more`: items not yet handed out)."""
        item, why = slot.item, _death(slot.process)
        slot.conn.close()
        if item is not None:
            if attempts[item.rel] <= self.retries:
                retry.appendleft(item)
            else:
                yield Failed(item.rel, f"its worker died {attempts[item.rel]} times (the last {why})",
                             attempts[item.rel])
        if more or retry:
            slots[slots.index(slot)] = _Slot(ctx, self.config, self.threads)
        else:
            slots.remove(slot)


class InlinePool:
    """The items dreamed one after another in this process, with a model already loaded."""

    def __init__(self, config: DreamConfig, model: DreamModel | None, threads: int | None = None) -> None:
        self.dreamer = ItemDreamer(config, model, threads)

    def run(self, items: Iterable[ItemInput], progress: Callable[[ItemProgress], None] | None = None) -> Iterator[Outcome]:
        for item in items:
            try:
                out = self.dreamer(item, _forward(progress, item.rel))
            except Exception as exc:  # noqa: BLE001 - a bad item: one line, and on to the next
                yield Failed(item.rel, failure_line(exc), 1)
            else:
                yield Done(out.rel, out, 1)


def _forward(progress: Callable[[ItemProgress], None] | None, rel: str):
    """The engine's step events of one item as ItemProgress."""
    if progress is None:
        return None

    def relay(event) -> None:
        if isinstance(event, Progress) and event.tile == event.tiles:
            progress(ItemProgress(rel, event.done, event.total))

    return relay
