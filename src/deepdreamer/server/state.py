"""The server's state, made once in the app's lifespan: its settings, the models (each loaded
once and shared by every job), the job queue, the gallery and the layer guide."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..models import DreamModel, load_model
from .compute import on_own_thread
from .jobs import Job, JobQueue
from .layer_guide import LayerGuide
from .options import ServeConfig
from .store import ResultsStore
from .work import run_job

__all__ = ["ModelCache", "ServerState", "SHUTDOWN_SECONDS"]

SHUTDOWN_SECONDS = 2.0  # how long Ctrl-C waits for a running job to stop (it stops within a step)


@dataclass
class ModelCache:
    """Models by name, each loaded on first use and then shared (DreamModel is thread-safe);
    loaded on a thread of its own, whoever asks (see compute.py)."""

    models: dict[str, DreamModel] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, name: str) -> DreamModel:
        with self._lock:
            if name not in self.models:
                self.models[name] = on_own_thread(load_model, name)
            return self.models[name]


class ServerState:
    def __init__(self, config: ServeConfig, model: DreamModel | None = None) -> None:
        self.config = config
        self.models = ModelCache()
        if model is not None:
            self.models.models[model.name] = model
        self.default_model = self.models.get(model.name if model is not None else _default_model_name())
        self.store = ResultsStore(config.results, keep=config.keep)
        self.guide = LayerGuide(config.results / ".layer-guide")
        self.closing = threading.Event()
        self.queue = JobQueue(config.queue, config.workers, self._run)

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
