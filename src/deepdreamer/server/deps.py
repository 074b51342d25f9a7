"""What route handlers reach through FastAPI's dependencies: the state, a job, a model.

The ones that never block are `async def`: FastAPI runs a plain `def` dependency on a thread
of its pool, a hop (and a turn for the GIL) that every request would pay while a dream runs."""

from __future__ import annotations

from fastapi import HTTPException, Request

from ..models import DreamModel, ModelEntry
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


async def get_entry(model: str, request: Request) -> ModelEntry:
    """A served model's entry, without loading it (a curated catalogue is data, no weights
    needed); a name the server does not serve gets 400 with the closest served names. Never
    loads a model a request names: see ModelCache."""
    return _state(request).models.entry(model)


def get_model(model: str, request: Request) -> DreamModel:
    """A served model, loaded once (on a thread of the pool: the first use loads a curated one)."""
    return _state(request).models.get(model)
