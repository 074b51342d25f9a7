"""Jobs as values (an id, what was asked, a state and an append-only event log) and the queue
that runs them on worker threads sharing one model. Only the job's own worker (and the queue,
for queue positions and cancelling a job that never started) appends to a log."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import DeepDreamerError, DreamCancelled

__all__ = ["Event", "Job", "JobQueue", "QueueFull", "TERMINAL", "new_job_id", "is_job_id"]

log = logging.getLogger("deepdreamer.server")

TERMINAL = ("done", "cancelled", "error")  # states (and event types) that end a job
_ID_BYTES = 16  # 128 random bits: ids cannot be guessed or enumerated
PREVIEWS_KEPT = 32  # the latest previews a job holds (the page shows the newest; 32 spare a slow fetch)
FINISHED_KEPT = 256  # finished jobs kept in memory for status and event replay


def new_job_id() -> str:
    return secrets.token_urlsafe(_ID_BYTES)


def is_job_id(text: str) -> bool:
    """What new_job_id makes: 22 URL-safe characters (so an id can never name a path)."""
    return len(text) == 22 and all(c.isalnum() or c in "-_" for c in text)


@dataclass(frozen=True)
class Event:
    id: int  # 1, 2, 3, ... within the job: the SSE event id a reconnecting client sends back
    type: str
    data: dict


@dataclass
class Job:
    id: str
    mode: str
    request: Any  # what the worker runs (server.requests.JobRequest)
    created: float = field(default_factory=time.time)
    state: str = "queued"
    error: str | None = None
    result: dict | None = None  # the gallery item, once done
    progress: dict | None = None  # the last progress event's data
    events: list[Event] = field(default_factory=list)
    previews: OrderedDict[int, bytes] = field(default_factory=OrderedDict)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _listeners: set = field(default_factory=set, repr=False)

    def emit(self, type: str, **data) -> Event:
        with self._lock:
            event = Event(len(self.events) + 1, type, data)
            self.events.append(event)
            if type == "progress":
                self.progress = data
            listeners = list(self._listeners)
        for wake in listeners:
            wake()
        return event

    def subscribe(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call `wake()` (from the emitting thread) after each new event; returns the
        unsubscribe function. Streams wait on this instead of polling."""
        with self._lock:
            self._listeners.add(wake)
        return lambda: self._listeners.discard(wake)

    def events_after(self, last_id: int) -> list[Event]:
        with self._lock:
            return self.events[max(0, last_id):]

    def add_preview(self, data: bytes) -> int:
        with self._lock:
            number = (next(reversed(self.previews)) + 1) if self.previews else 1
            self.previews[number] = data
            while len(self.previews) > PREVIEWS_KEPT:
                self.previews.popitem(last=False)
            return number

    def preview(self, number: int) -> bytes | None:
        with self._lock:
            return self.previews.get(number)

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL

    @property
    def logged_last(self) -> bool:
        """Whether the job's last event is in its log (`finished` turns true just before)."""
        with self._lock:
            return bool(self.events) and self.events[-1].type in TERMINAL

    def finish(self, state: str, **data) -> None:
        """Set a terminal state and log it; the last event of every job."""
        self.state = state
        if state == "error":
            self.error = data.get("message")
        self.emit(state, **data)


class QueueFull(DeepDreamerError):
    """More jobs than the queue holds."""


class JobQueue:
    """At most `capacity` jobs accepted and not finished; `workers` threads run them in order.
    `run(job)` does the work and returns the result item; it raises DreamCancelled when the
    job's cancel was requested, a DeepDreamerError for a problem the user can fix."""

    def __init__(self, capacity: int, workers: int, run: Callable[[Job], dict]) -> None:
        self.capacity, self._run = capacity, run
        self._jobs: dict[str, Job] = {}
        self._waiting: deque[Job] = deque()
        self._running: set[str] = set()
        self._finished: deque[str] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._threads = [
            threading.Thread(target=self._work, name=f"deepdreamer-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> int:
        """Accept `job` or raise QueueFull; returns its position (0 = about to run)."""
        with self._cond:
            self.check_room()
            self._jobs[job.id] = job
            self._waiting.append(job)
            position = self._position(job)
            job.emit("queued", position=position)
            self._cond.notify()
            return position

    def check_room(self) -> None:
        """Raise QueueFull unless one more job can be accepted now."""
        if self._closing:
            raise QueueFull("the server is shutting down")
        if self.pending >= self.capacity:
            raise QueueFull(
                f"the queue is full ({self.capacity} jobs waiting or running); try again when one finishes"
            )

    @property
    def pending(self) -> int:
        return len(self._waiting) + len(self._running)

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int:
        with self._cond:
            return self._position(job)

    def _position(self, job: Job) -> int:
        if job.state != "queued":
            return 0
        free = max(0, len(self._threads) - len(self._running))
        index = self._waiting.index(job) if job in self._waiting else 0
        return max(0, index + 1 - free)  # 0: a worker is free for it now

    def cancel(self, job: Job) -> None:
        """Stop a running job within one step; drop a waiting one at once."""
        job._cancel.set()
        with self._cond:
            if job in self._waiting:
                self._waiting.remove(job)
                job.finish("cancelled")
                self._retire(job)
                self._announce_positions()

    def cancel_running(self) -> None:
        with self._cond:
            for job_id in self._running:
                self._jobs[job_id]._cancel.set()

    def close(self, timeout: float) -> None:
        """Cancel everything and wait up to `timeout` s for the workers to stop."""
        with self._cond:
            self._closing = True
            waiting, self._waiting = list(self._waiting), deque()
            for job in waiting:
                job._cancel.set()
                job.finish("cancelled")
            for job_id in self._running:
                self._jobs[job_id]._cancel.set()
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _announce_positions(self) -> None:
        for job in self._waiting:
            job.emit("queued", position=self._position(job))

    def _retire(self, job: Job) -> None:
        """Keep a bounded number of finished jobs for status reads and replays."""
        self._finished.append(job.id)
        while len(self._finished) > FINISHED_KEPT:
            self._jobs.pop(self._finished.popleft(), None)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                job = self._waiting.popleft()
                self._running.add(job.id)
                job.state = "running"
                self._announce_positions()
            job.emit("started")
            try:
                result = self._run(job)
            except DreamCancelled:
                job.finish("cancelled")
            except DeepDreamerError as exc:
                job.finish("error", message=str(exc))
            except Exception as exc:  # a bug: the log gets the traceback, the client one line
                log.exception("job %s failed", job.id)
                job.finish("error", message=f"internal error ({type(exc).__name__}); see the server log")
            else:
                job.result = result
                job.finish("done", result=result)
            with self._cond:
                self._running.discard(job.id)
                self._retire(job)
                self._announce_positions()
