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

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..config import DreamConfig
from ..errors import DeepDreamerError, failure_line
from ..ray_link import NEEDS_RAY, connect, import_ray, ray_error
from .item import ItemDreamer, ItemInput, ItemOutput
from .outcome import Done, Failed, ItemProgress, Outcome

__all__ = ["RayPool", "NEEDS_RAY"]

CALLS_PER_ACTOR = 2  # in flight per actor: one dreaming, one waiting on its node with its bytes
WAIT_SECONDS = 1.0  # ray.wait returns at least this often, so Ctrl-C is seen between waits


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
        ray = import_ray()
        started = connect(ray, self.address, self.workers * self.threads)
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
                raise DeepDreamerError(f"no Ray actor could start ({ray_error(exc)})") from None
            return False
        if error is not None:
            raise DeepDreamerError(error)
        return True

    def _outcome(self, ray, ref, rel: str) -> Outcome:
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as exc:
            # Ray gave up: the item's worker or node was lost more than `retries` times
            return Failed(rel, f"its Ray worker was lost {self.retries + 1} times ({ray_error(exc)})",
                          self.retries + 1)
        if isinstance(result, _ItemFailed):
            return Failed(result.rel, result.error, 1)
        # Ray does not say how many tries a call took: a retried item counts as one attempt
        return Done(result.rel, result, 1)
