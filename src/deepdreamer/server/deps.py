"""What route handlers reach through FastAPI's dependencies: the state, a job, a model.

The ones that never block are `async def`: FastAPI runs a plain `def` dependency on a thread
of its pool, a hop (and a turn for the GIL) that every request would pay while a dream runs."""

from __future__ import annotations

from fastapi import HTTPException, Request

from ..errors import UnknownNameError
from ..models import REGISTRY, DreamModel, ModelEntry
from .jobs import Job, is_job_id
from .state import ServerState

__all__ = ["get_state", "get_job", "get_entry", "get_model"]


def _state(request: Request) -> ServerState:
    return request.app.state.deepdreamer


async def get_state(request: Request) -> ServerState:
    return _state(request)


async def get_job(job_id: str, request: Request) -> Job:
    job = _state(request).queue.get(job_id) if is_job_id(job_id) else None
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (finished jobs are kept only for a while)")
    return job


def _entry(model: str) -> ModelEntry:
    if model not in REGISTRY:
        raise UnknownNameError("model", model, REGISTRY)
    return REGISTRY[model]


async def get_entry(model: str) -> ModelEntry:
    """A registered model's entry, without loading it (its catalogue is data, no weights needed);
    an unknown name gets 400 with the closest names."""
    return _entry(model)


def get_model(model: str, request: Request) -> DreamModel:
    """A registered model, loaded once (on a thread of the pool: the first use loads it)."""
    return _state(request).models.get(_entry(model).name)
