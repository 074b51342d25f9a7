"""The chunks of a video dreamed by Ray actors, each holding the model loaded once.

Frames travel as PNG bytes (lossless, a fraction of raw frames on the network) through Ray's
object store, both ways; the actors read and write no file, so a node needs no shared disk,
and a chunk whose actor died is simply run again (Ray restarts the actor and retries the call:
the chunk function is pure). Ray is imported only when this backend is used."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..config import ChunkConfig, DreamConfig
from ..engine import Notice, ProgressCallback
from ..engine.progress import report
from ..errors import DeepDreamerError, InputImageError, failure_line
from ..ray_link import connect, import_ray, ray_error
from .chunks import Chunk, dream_chunk
from .frames import png_bytes, png_frame

__all__ = ["ChunkActor", "RayChunks"]

RETRIES = 2  # times Ray runs a chunk again after its actor's worker or node was lost
QUEUED = 2  # chunks handed to each actor at a time: the next is waiting while one is dreamed
WAIT_SECONDS = 1.0  # ray.wait returns at least this often, so Ctrl-C is seen between waits


class ChunkActor:
    """A worker's state (wrapped by ray.remote). Made empty, as Ray remakes it after a crash;
    set up on first use (or by `setup`, which the driver calls first to hear of a bad setting
    at once): its torch threads are its node's cores shared by the run's actors there."""

    prepared = None

    def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()

    def setup(self, shared: tuple, threads: int) -> str | None:
        """Load the model and check the settings; the error as one line, or None."""
        config, flow_blend, companions = shared
        try:
            import torch

            from ..cli._common import tune_malloc
            from ..io.images import decode_image
            from ..pipeline import prepare_dream

            torch.set_num_threads(threads)  # before any torch work
            tune_malloc()
            # a mask or guide comes as bytes (a node shares no disk with the driver); the
            # settings still name the files, as a one-process run's do
            in_memory = {key: decode_image(data, name) for key, (name, data) in companions.items()}
            self.prepared = replace(prepare_dream(replace(config, **in_memory)), config=config)
            self.flow_blend = flow_blend
        except Exception as exc:  # noqa: BLE001 - reported to the driver in one line
            return failure_line(exc)
        return None

    def settings(self, seed: int, extra: dict) -> dict:
        return self.prepared.settings(seed, **extra)

    def dream(self, shared: tuple, threads: int, frames: list[bytes], first: int, warmup: int,
              seed: int) -> list[bytes]:
        """The warm-up's dreams then the chunk's, as PNG bytes."""
        if self.prepared is None:  # a restarted actor
            error = self.setup(shared, threads)
            if error is not None:
                raise DeepDreamerError(error)
        sources = [png_frame(b) for b in frames]
        warm, kept = dream_chunk(self.prepared, self.flow_blend, sources, seed, first, warmup)
        return [png_bytes(f) for f in warm + kept]


def _companions(config: DreamConfig) -> dict[str, tuple[str, bytes]]:
    out = {}
    for key in ("mask", "guide"):
        value = getattr(config, key)
        if isinstance(value, (str, os.PathLike)):
            try:
                out[key] = (os.fspath(value), Path(value).read_bytes())
            except OSError as exc:
                raise InputImageError(f"cannot read the {key} {os.fspath(value)}: {exc.strerror or exc}") from None
    return out


class RayChunks:
    """`chunking.workers` actors on the Ray cluster at `chunking.ray_address` (a new local one
    when none is given or running); `close()` ends them, and Ray if this started it."""

    def __init__(self, config: DreamConfig, flow_blend: float, chunking: ChunkConfig,
                 progress: ProgressCallback | None = None) -> None:
        ray = self.ray = import_ray()
        companions = _companions(config)
        self.started = connect(ray, chunking.ray_address)
        self.actors = []
        try:
            self._start(config, flow_blend, chunking, companions, progress)
        except BaseException:
            self.close()
            raise

    def _start(self, config, flow_blend, chunking, companions, progress) -> None:
        ray = self.ray
        cpus = int(ray.cluster_resources().get("CPU", 0))
        workers = min(chunking.workers, max(1, cpus))
        if workers < chunking.workers:
            report(progress, Notice(f"the Ray cluster has {cpus} CPUs: {workers} workers, not {chunking.workers}"))
        # one CPU each to be placed (never more actors than CPUs, so none waits for ever),
        # spread over the nodes; then each takes its node's cores shared with the run's others
        remote = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=RETRIES,
                            scheduling_strategy="SPREAD")(ChunkActor)
        self.actors = [remote.remote() for _ in range(workers)]
        try:
            nodes = ray.get([a.node.remote() for a in self.actors])
            node_cpus = {n["NodeID"]: int(n["Resources"].get("CPU", 1)) for n in ray.nodes() if n.get("Alive")}
            sharing = Counter(nodes)
            self.threads = [max(1, node_cpus.get(n, 1) // sharing[n]) for n in nodes]
            self.shared = ray.put((config, flow_blend, companions))
            errors = ray.get([a.setup.remote(self.shared, t) for a, t in zip(self.actors, self.threads)])
        except ray.exceptions.RayError as exc:
            raise DeepDreamerError(f"a Ray worker could not start ({ray_error(exc)})") from None
        error = next((e for e in errors if e is not None), None)
        if error is not None:
            raise DeepDreamerError(error)

    def settings(self, seed: int, **extra) -> dict:
        return self.ray.get(self.actors[0].settings.remote(seed, extra))

    def run(self, jobs: Iterable, seed: int) -> Iterator[tuple[Chunk, list[np.ndarray], list[np.ndarray]]]:
        """Each job's chunk with its warm-up's dreams and its own, in the order chunks finish."""
        ray = self.ray
        jobs = iter(jobs)
        pending: dict = {}  # call -> (chunk, actor)
        load = [0] * len(self.actors)
        more = True  # jobs not yet handed out
        while True:
            # the next job is decoded (and its cuts found) while the actors dream
            while more and len(pending) < QUEUED * len(self.actors):
                job = next(jobs, None)
                if job is None:
                    more = False
                    break
                actor = min(range(len(self.actors)), key=load.__getitem__)
                frames = ray.put([png_bytes(f) for f in job.frames])
                call = self.actors[actor].dream.remote(self.shared, self.threads[actor], frames, job.first,
                                                       job.chunk.warmup, seed)
                pending[call] = (job.chunk, actor)
                load[actor] += 1
            if not pending:
                return
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_SECONDS)
            if not ready:
                continue
            chunk, actor = pending.pop(ready[0])
            load[actor] -= 1
            dreams = [png_frame(b) for b in self._get(ready[0], chunk)]
            yield chunk, dreams[:chunk.warmup], dreams[chunk.warmup:]

    def _get(self, call, chunk: Chunk) -> list[bytes]:
        ray = self.ray
        frames = f"frames {chunk.start}-{chunk.end - 1}"
        try:
            return ray.get(call)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, DeepDreamerError):
                raise cause from None
            raise DeepDreamerError(f"dreaming {frames} failed on a Ray worker ({ray_error(exc)})") from None
        except ray.exceptions.RayError as exc:
            # Ray gave up: the actor's worker or node was lost more than RETRIES times
            raise DeepDreamerError(f"the Ray worker dreaming {frames} was lost and Ray gave up after "
                                   f"{RETRIES} retries ({ray_error(exc)})") from None

    def close(self) -> None:
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.actors = []
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
