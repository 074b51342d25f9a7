"""The server's state, made once in the app's lifespan: its settings, the models (each loaded
once and shared by every job), the job queue, the gallery and the layer guide."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ..errors import UnknownNameError
from ..models import REGISTRY, DreamModel, ModelEntry, load_model
from .compute import on_own_thread
from .jobs import Job, JobQueue
from .layer_guide import LayerGuide
from .live_sessions import LiveSessions
from .options import ServeConfig
from .store import ResultsStore
from .work import run_job

__all__ = ["ModelCache", "ServerState", "SHUTDOWN_SECONDS", "load_served_models"]

SHUTDOWN_SECONDS = 2.0  # how long Ctrl-C waits for a running job to stop (it stops within a step)


class ModelCache:
    """The models this server serves, by name, each loaded once and then shared (DreamModel is
    thread-safe), loaded on a thread of its own whoever asks (see compute.py): the curated ones
    (loaded on first use) and the ones it was started with (`deepdreamer serve --model SPEC`,
    `create_app(models=...)`, loaded before it serves).

    Nothing else, ever: a name a request gives is looked up here, never handed to `load_model`.
    That accepts `torchvision:NAME`, `timm:NAME` and `path/file.py:factory`, so a web client
    naming one could make the server download and hold any model (memory) or import a Python
    file on its disk (run code). Only `add`, called before the server answers anyone, takes a
    spec."""

    def __init__(self, loaded: Iterable[DreamModel] = ()) -> None:
        self.models: dict[str, DreamModel] = {}
        self._extra: list[str] = []  # served beyond the curated ones, in the order given
        self._lock = threading.Lock()
        for model in loaded:
            self._keep(model)

    def _keep(self, model: DreamModel) -> None:
        self.models[model.name] = model
        if model.name not in REGISTRY and model.name not in self._extra:
            self._extra.append(model.name)

    def add(self, spec: str) -> DreamModel:
        """Serve a model by any spec the library accepts (at start only: never for a request)."""
        with self._lock:
            found = self.models.get(spec)
            if found is None:
                found = on_own_thread(load_model, spec)  # named by its spec (models/sources.py)
                self._keep(found)
            return found

    def names(self) -> list[str]:
        """Every name served: the curated ones, then the others."""
        return [*REGISTRY, *self._extra]

    def entry(self, name: str) -> ModelEntry:
        """A served model's entry, without loading it (a curated catalogue needs no weights);
        an unknown name: UnknownNameError with the closest served names."""
        found = self.models.get(name)  # a plain dict read: no lock, a load may be under way
        if found is not None:
            return found.entry
        if name in REGISTRY:
            return REGISTRY[name]
        raise UnknownNameError("model", name, self.names(), where=_NOT_SERVED)

    def get(self, name: str) -> DreamModel:
        """A served model, loaded (a curated one on its first use)."""
        entry = self.entry(name)  # an unknown name stops here, before anything is loaded
        found = self.models.get(entry.name)
        if found is not None:
            return found
        with self._lock:
            if entry.name not in self.models:
                self.models[entry.name] = on_own_thread(load_model, entry.name)
            return self.models[entry.name]


_NOT_SERVED = " on this server (`deepdreamer serve --model NAME` serves more)"


def load_served_models(specs: Iterable[str]) -> list[DreamModel]:
    """The models `deepdreamer serve --model SPEC` names, loaded before the server starts, so a
    bad spec stops it with one line (each loaded on a thread of its own: compute.py)."""
    cache = ModelCache()
    return [cache.add(spec) for spec in specs]


class ServerState:
    def __init__(self, config: ServeConfig, model: DreamModel | None = None,
                 models: Iterable[DreamModel] = ()) -> None:
        """`model`: the default one (else DreamConfig's); `models`: more served beside the
        curated ones; `config.models`: specs loaded now unless `models` has them already."""
        self.config = config
        given = [model] if model is not None else []
        self.models = ModelCache([*models, *given])  # `model` wins a shared name
        for spec in config.models:
            self.models.add(spec)
        self.default_model = self.models.get(model.name if model is not None else _default_model_name())
        self.store = ResultsStore(config.results, keep=config.keep)
        self.guide = LayerGuide(config.results / ".layer-guide")
        self.closing = threading.Event()
        self.queue = JobQueue(config.queue, config.workers, self._run)
        self.live = LiveSessions(config.live_sessions)

    def _run(self, job: Job) -> dict:
        net = self.models.get(job.request.config.model)
        return run_job(job, net, self.store)

    def begin_shutdown(self) -> None:
        """Ctrl-C: streams end and the running jobs stop at their next step."""
        self.closing.set()
        self.queue.cancel_running()

    def close(self) -> None:
        """Cancel every job (a running one stops within a step) and stop the workers."""
        self.closing.set()
        self.queue.close(timeout=SHUTDOWN_SECONDS)


def _default_model_name() -> str:
    from ..config import DreamConfig

    return DreamConfig.model
