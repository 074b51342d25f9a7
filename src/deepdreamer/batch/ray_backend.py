"""The Ray backend: the items dreamed by Ray actors on the nodes of a cluster (or of a local
one started here), with Ray doing all of the distributed work.

Each actor builds one ItemDreamer (the model loaded once per actor) and dreams the items it is
called with; an item's bytes go to it through Ray's object store as the call's argument and the
encoded dream comes back as the call's result, so the nodes share no disk. Ray restarts an
actor lost with its worker or node (`max_restarts=-1`) and retries the calls that were in flight
on it (`max_task_retries=retries`); a bad item is caught inside the actor and returned as a
failure, so Ray never retries it. The driver only hands out items, a few per actor at a time so
that a large batch is not all in the object store at once, and takes the results as they come
(`ray.wait`), never waiting on one slow item.

The driver must run on a node of the cluster (Ray connects it through that node's raylet); it
alone reads the photos and writes the outputs.

Ray is optional (`pip install 'deepdreamer[ray]'`) and imported only when a batch uses it."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..config import DreamConfig
from ..errors import DeepDreamerError
from .item import ItemDreamer, ItemInput, ItemOutput
from .local import failure_line
from .outcome import Done, Failed, ItemProgress, Outcome

__all__ = ["RayPool", "NEEDS_RAY"]

CALLS_PER_ACTOR = 2  # in flight per actor: one dreaming, one waiting on its node with its bytes
WAIT_SECONDS = 1.0  # ray.wait returns at least this often, so Ctrl-C is seen between waits
REACH_SECONDS = 5.0  # to open a TCP connection to the cluster's address before joining it
NEEDS_RAY = "the ray backend needs Ray: pip install 'deepdreamer[ray]'"

# Ray settings this driver sets unless the environment already does (Ray reads them at init).
RAY_DEFAULTS = {
    "RAY_USAGE_STATS_ENABLED": "0",  # a batch reports nothing to Ray's usage statistics
    # Ray notices a dead node only after ~15 s of missed health checks; until then each call to
    # an actor there fails as "unavailable" and is retried after 0.1 s, 0.2 s, ... by default,
    # so `--retries 2` would be used up long before Ray restarted the actor elsewhere. Retried
    # after 8 s then 16 s, two retries span ~24 s. (A worker that dies on a live node is
    # reported at once and its calls wait for the restart: no delay there.)
    "RAY_task_actor_unavailable_retry_delay_base_ms": "8000",
    "RAY_task_actor_unavailable_retry_max_delay_ms": "30000",
    # no multi-line "will be retried" report on the driver's stderr: a retried item that then
    # succeeds is no news, one that fails is reported in one line
    "RAY_enable_output_error_log_if_still_retry": "0",
}


def _ray():
    try:
        import ray
    except ImportError:
        raise DeepDreamerError(NEEDS_RAY) from None
    return ray


@dataclass(frozen=True)
class _ItemFailed:
    """A bad item, returned (not raised) by the actor: a raised error would be Ray's to retry."""

    rel: str
    error: str  # one line


class _Dreamer:
    """The actor (made a Ray actor class in RayPool.run, where Ray is imported). Ray ships it
    to the workers by reference, as deepdreamer.batch.ray_backend._Dreamer: deepdreamer must
    be installed on every node, in the environment `ray start` runs from (it is: the same venv
    here), so no runtime_env is needed to carry the code."""

    def __init__(self, config: DreamConfig, threads: int) -> None:
        from ..cli._common import tune_malloc

        tune_malloc()  # as a local worker: the same speed
        self._dreamer: ItemDreamer | None = None
        self._error: str | None = None
        try:
            self._dreamer = ItemDreamer(config, threads=threads)
        except Exception as exc:  # noqa: BLE001 - kept for ready(): one line, not Ray's traceback
            self._error = failure_line(exc)

    def ready(self) -> str | None:
        """None once the dreamer is made, else why it could not be (the batch stops)."""
        return self._error

    def dream(self, item: ItemInput) -> ItemOutput | _ItemFailed:
        try:
            if self._dreamer is None:
                return _ItemFailed(item.rel, self._error or "the dreamer could not be made")
            return self._dreamer(item)
        except Exception as exc:  # noqa: BLE001 - a bad item: one line, never retried
            return _ItemFailed(item.rel, failure_line(exc))


class RayPool:
    """`workers` Ray actors, spread over the nodes, `threads` CPUs (and torch threads) each; a
    call lost with its actor's worker or node is retried by Ray up to `retries` times. `address`
    joins that cluster; None starts a local one for this batch (unless Ray is already
    initialised in this process, which is then used as it is)."""

    def __init__(self, config: DreamConfig, workers: int, threads: int, retries: int,
                 address: str | None = None) -> None:
        self.config, self.workers, self.threads = config, workers, threads
        self.retries, self.address = retries, address

    def run(self, items: Iterable[ItemInput], progress: Callable[[ItemProgress], None] | None = None) -> Iterator[Outcome]:
        # progress: the driver reports each item as it finishes; steps inside an item are not
        # forwarded from the actors (a message per step across the cluster for a bar)
        ray = _ray()
        started = _connect(ray, self.address, self.workers * self.threads)
        actors: list = []
        try:
            actor_class = ray.remote(num_cpus=self.threads, max_restarts=-1,
                                     max_task_retries=self.retries)(_Dreamer)
            actors = [actor_class.options(scheduling_strategy="SPREAD").remote(self.config, self.threads)
                      for _ in range(self.workers)]
            yield from self._dispatch(ray, actors, iter(items))
        finally:
            for actor in actors:
                ray.kill(actor)  # no restart: a joined cluster keeps no idle model in memory
            if started:
                ray.shutdown()

    def _dispatch(self, ray, actors: list, source: Iterator[ItemInput]) -> Iterator[Outcome]:
        # an actor gets items once its dreamer is made: one that Ray cannot place yet (no free
        # CPUs) holds none back, and a wrong setting stops the batch before any item is dreamed
        starting = {actor.ready.remote(): index for index, actor in enumerate(actors)}
        ready: list[int] = []
        calls: dict = {}  # ObjectRef -> (rel, actor index)
        load = [0] * len(actors)
        exhausted = False
        while True:
            for index in ready:
                while not exhausted and load[index] < CALLS_PER_ACTOR:
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                        break
                    calls[actors[index].dream.remote(item)] = (item.rel, index)
                    load[index] += 1
            if exhausted and not calls:
                return
            finished, _ = ray.wait(list(calls) + list(starting), num_returns=1, timeout=WAIT_SECONDS)
            for ref in finished:
                if ref in starting:
                    index = starting.pop(ref)
                    if self._started(ray, ref, lost_all=not (ready or starting)):
                        ready.append(index)
                    continue
                rel, index = calls.pop(ref)
                load[index] -= 1
                yield self._outcome(ray, ref, rel)

    def _started(self, ray, ref, lost_all: bool) -> bool:
        """Whether the actor is ready; its settings' error stops the batch, and so does Ray
        losing it for good when it was the last one left."""
        try:
            error = ray.get(ref)
        except ray.exceptions.RayError as exc:
            if lost_all:
                raise DeepDreamerError(f"no Ray actor could start ({_ray_error(exc)})") from None
            return False
        if error is not None:
            raise DeepDreamerError(error)
        return True

    def _outcome(self, ray, ref, rel: str) -> Outcome:
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as exc:
            # Ray gave up: the item's worker or node was lost more than `retries` times
            return Failed(rel, f"its Ray worker was lost {self.retries + 1} times ({_ray_error(exc)})",
                          self.retries + 1)
        if isinstance(result, _ItemFailed):
            return Failed(result.rel, result.error, 1)
        # Ray does not say how many tries a call took: a retried item counts as one attempt
        return Done(result.rel, result, 1)


def _ray_error(exc: BaseException) -> str:
    """One short line for a Ray error (their str is a traceback or a multi-line report)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return failure_line(cause)
    if isinstance(exc, _ray().exceptions.RayActorError):
        return type(exc).__name__  # the rest is actor ids and RPC codes
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:200]}" if lines else type(exc).__name__


def _connect(ray, address: str | None, cpus: int) -> bool:
    """Join the cluster at `address`, or start a local one with `cpus` CPUs; False if Ray was
    already initialised in this process (the caller's: used as it is, and left running)."""
    if ray.is_initialized():
        return False
    for name, value in RAY_DEFAULTS.items():
        os.environ.setdefault(name, value)
    options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    # a new local cluster turns Ray's token authentication on and says so on stderr each time:
    # it lives for this batch only, so that notice is noise here
    auth_log = logging.getLogger("ray._private.authentication.authentication_token_setup")
    level = auth_log.level
    try:
        if address is None:
            auth_log.setLevel(logging.ERROR)
            # "local": a new cluster even when `ray start` left one running on this machine
            ray.init(address="local", num_cpus=cpus, **options)
        else:
            _reachable(address)
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise DeepDreamerError(f"cannot start or join {where}: {_ray_error(exc)}") from None
    finally:
        auth_log.setLevel(level)
    return True


def _reachable(address: str) -> None:
    """Fail at once on a HOST:PORT nothing listens on: ray.init would try for ~12 minutes."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return  # "auto", ray://...: Ray's own resolution
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_SECONDS).close()
    except OSError as exc:
        raise DeepDreamerError(f"cannot reach the Ray cluster at {address}: "
                               f"{exc.strerror or type(exc).__name__}") from None
