"""The FastAPI app behind `deepdreamer serve`: the page, the JSON API under /api/, one-line
errors with the right status, and the state made in the lifespan."""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import DeepDreamerError, ImageTooLargeError, NotAnImageError
from ..models import DreamModel
from ..pipeline import package_version
from . import live, routes_catalogue, routes_jobs, routes_results
from .jobs import QueueFull
from .options import ServeConfig
from .state import ServerState

__all__ = ["create_app", "status_for"]

STATIC = files("deepdreamer").joinpath("server", "static")
# The page may load only what this server serves: no other host, ever.
_CSP = ("default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
        "connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'")


def status_for(exc: DeepDreamerError) -> int:
    """The HTTP status of a problem the user can fix."""
    if isinstance(exc, QueueFull):
        return 429
    if isinstance(exc, ImageTooLargeError):
        return 413
    if isinstance(exc, NotAnImageError):
        return 415
    return 400  # a bad setting, an unknown name (with the closest ones), no photo


class _OneLineTooLarge:
    """FastAPI's body limit answers 413 in plain text ('Content Too Large') from a middleware
    outside the exception handlers; this rewrites that one answer into the API's JSON line."""

    def __init__(self, app, detail: str) -> None:
        self.app, self.body = app, json.dumps({"detail": detail}).encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        replacing = False

        async def send_json(message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start" and message["status"] == 413:
                headers = dict(message.get("headers", []))
                replacing = headers.get(b"content-type", b"").startswith(b"text/plain")
                if replacing:
                    message = dict(message, headers=[(b"content-type", b"application/json"),
                                                     (b"content-length", str(len(self.body)).encode())])
            elif message["type"] == "http.response.body" and replacing:
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": self.body}
            await send(message)

        await self.app(scope, receive, send_json)


class _SecurityHeaders:
    """The page's Content-Security-Policy (nothing from any other host) and two companions, on
    every answer that does not set its own. Plain ASGI, not @app.middleware("http"): that one
    passes each chunk of a stream through a task and a queue of its own, which cost a dream
    ~1% (an event stream sends dozens of chunks a second)."""

    HEADERS = ((b"content-security-policy", _CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer"))

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in self.HEADERS if name not in present]
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _App(FastAPI):
    too_large = "the upload is too large"

    def build_middleware_stack(self):
        return _OneLineTooLarge(super().build_middleware_stack(), self.too_large)


def create_app(config: ServeConfig | None = None, model: DreamModel | None = None,
               models: Iterable[DreamModel] = ()) -> FastAPI:
    """The app. `model`: a loaded model to share as the default (tests pass theirs), else the
    default model is loaded when the app starts. `models`: more loaded models to serve beside
    the curated ones (e.g. from `dd.wrap_model`), by their names; `config.models` names more by
    spec, loaded when the app starts. A request can use these and the curated models only."""
    config = config or ServeConfig()
    models = list(models)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.deepdreamer = ServerState(config, model, models)
        try:
            yield
        finally:
            app.state.deepdreamer.close()

    app = _App(
        title="deepdreamer",
        version=package_version(),
        description="DeepDream jobs: submit a photo and settings, stream the dream as it grows, "
        "keep the results in a gallery.",
        lifespan=lifespan,
        max_body_size=config.max_upload_bytes,
    )

    app.too_large = f"the upload is larger than the server's limit of {config.max_upload_mb:g} MB"

    @app.exception_handler(DeepDreamerError)
    async def one_line(request: Request, exc: DeepDreamerError):
        return JSONResponse({"detail": str(exc)}, status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = app.too_large if exc.status_code == 413 else exc.detail
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    app.add_middleware(_SecurityHeaders)

    for module in (routes_catalogue, routes_jobs, routes_results, live):
        app.include_router(module.router, prefix="/api")

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(str(STATIC.joinpath("index.html")), headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
