"""Jobs: submit (an upload plus settings), status, the event stream, cancel, previews.

Status, cancel and previews are `async def`: they only look at memory, and a plain `def` route
runs on a thread of FastAPI's pool, a hop that costs a running dream a turn of the GIL."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable

from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from .compute import on_own_thread
from .deps import get_job, get_state
from .jobs import Job, new_job_id
from .requests import SAMPLE_NAME, check_request, parse_request, sample_bytes, upload_name
from .state import ServerState

router = APIRouter(tags=["jobs"])

# A stream sends at most five batches a second: each wake-up of the event loop takes the GIL and
# a core from the dream for a moment (the loop's CPU per 600x450 dream: 38 ms at 0.05 s, 22 ms
# at 0.2 s with the relay's gaps below; about as many pictures as the page shows, ~7 a second).
BATCH_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0  # a comment line now and then keeps proxies from closing a quiet stream


async def _upload(file: UploadFile | None, fallback: str) -> tuple[bytes, str] | None:
    if file is None:
        return None
    return await file.read(), upload_name(file.filename, fallback)


def _status(job: Job, state: ServerState) -> dict:
    return {"id": job.id, "mode": job.mode, "state": job.state,
            "position": state.queue.position(job), "progress": job.progress,
            "error": job.error, "result": job.result}


@router.post("/jobs", status_code=202, summary="Submit a job: a photo (or sample=true) and settings")
async def submit(
    mode: str = Form("dream", description="dream, visualize, activations or zoom"),
    settings: str = Form("{}", description="a JSON object of the Python API's keywords"),
    sample: bool = Form(False, description="use the sample photo instead of an upload"),
    image: UploadFile | None = File(None, description="the photo"),
    mask: UploadFile | None = File(None, description="white dreams, black keeps the photo"),
    guide: UploadFile | None = File(None, description="dream toward this image's features"),
    state: ServerState = Depends(get_state),
) -> dict:
    state.queue.check_room()  # refuse before decoding anything (submit checks again, locked)
    photo = (sample_bytes(), SAMPLE_NAME) if sample else await _upload(image, "photo.png")
    files = (photo, await _upload(mask, "mask.png"), await _upload(guide, "guide.png"))

    def prepare():
        request = parse_request(mode, settings, *files, default_model=state.default_model.name)
        # a model the server does not serve: 400 (ModelCache never loads what a request names)
        check_request(request, state.models.get(request.config.model))
        return request

    request = await run_in_threadpool(on_own_thread, prepare)  # torch: see compute.py
    job = Job(new_job_id(), mode, request)
    position = state.queue.submit(job)
    return {"id": job.id, "state": job.state, "position": position}


@router.get("/jobs/{job_id}", summary="A job's state, last progress and result")
async def status(job: Job = Depends(get_job), state: ServerState = Depends(get_state)) -> dict:
    return _status(job, state)


@router.post("/jobs/{job_id}/cancel", summary="Cancel a job; a running dream stops within one step")
async def cancel(job: Job = Depends(get_job), state: ServerState = Depends(get_state)) -> dict:
    if not job.finished:
        state.queue.cancel(job)
    return _status(job, state)


@router.get("/jobs/{job_id}/events", response_class=EventSourceResponse,
            summary="The job's events as server-sent events; replays after Last-Event-ID or ?after=")
async def events(request: Request, after: int = 0, job: Job = Depends(get_job),
                 state: ServerState = Depends(get_state),
                 last_event_id: str | None = Header(None)):
    sent = max(0, after, int(last_event_id) if (last_event_id or "").isdigit() else 0)
    wake = _Wake(asyncio.get_running_loop(), job)
    unsubscribe = job.subscribe(wake)
    try:
        while True:
            wake.clear()
            for event in job.events_after(sent):
                data = _with_picture(job, event.data) if event.type == "preview" else event.data
                # raw_data: the log holds plain JSON values, so json.dumps is all they need
                yield ServerSentEvent(raw_data=json.dumps(data), event=event.type, id=str(event.id))
                sent = event.id
            if job.logged_last and not job.events_after(sent):
                return
            if state.closing.is_set() or await request.is_disconnected():
                return
            if not await wake.wait(KEEPALIVE_SECONDS):
                yield ServerSentEvent(comment="keep-alive")
            await wake.gather(BATCH_SECONDS)  # what comes meanwhile goes out together
    finally:
        unsubscribe()


def _with_picture(job: Job, data: dict) -> dict:
    """A preview event carries its JPEG as a data: URL (`image`, ~40 KB at 600x450): the page
    and a script show it without a request of their own. Each such GET cost the dream ~6 ms of
    the event loop's and the client's time on two cores: 4% of a 600x450 dream at ~8 previews.
    A preview no longer kept (a replay of a long job: the latest 32 are) has only its `url`,
    which then answers 404."""
    picture = job.preview(data.get("n", 0))
    if picture is None:
        return data
    return dict(data, image="data:image/jpeg;base64," + base64.b64encode(picture).decode("ascii"))


class _Wake:
    """Set from the worker thread when its job logs an event; at most one wake-up is queued on
    the event loop at a time, however many events come (a small octave logs hundreds a second).
    The job's last event also ends a batch early: `done` goes out at once, not up to
    BATCH_SECONDS later."""

    def __init__(self, loop: asyncio.AbstractEventLoop, job: Job) -> None:
        self.loop, self.job, self.event, self.pending = loop, job, asyncio.Event(), False
        self.ended = asyncio.Event()

    def __call__(self) -> None:
        if self.job.logged_last:  # true for one call only: nothing is logged after the last event
            self._call(self.ended.set)
        if not self.pending:
            self.pending = True
            self._call(self.event.set)

    def _call(self, fn: Callable[[], None]) -> None:
        try:
            self.loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the loop has closed: the server is stopping
            pass

    async def gather(self, seconds: float) -> None:
        """Let events gather for `seconds`, or until the job's last one is logged."""
        await self.wait_for(self.ended, seconds)

    def clear(self) -> None:
        self.pending = False
        self.event.clear()

    async def wait(self, timeout: float) -> bool:
        return await self.wait_for(self.event, timeout)

    @staticmethod
    async def wait_for(event: asyncio.Event, timeout: float) -> bool:
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False


@router.get("/jobs/{job_id}/previews/{number}", summary="A preview JPEG (the latest few are kept)",
            response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
async def preview(number: int, job: Job = Depends(get_job)) -> Response:
    picture = job.preview(number)
    if picture is None:
        raise HTTPException(404, f"preview {number} of job {job.id} is not kept (only the latest are)")
    return Response(picture, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})
