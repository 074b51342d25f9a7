"""Running the app with uvicorn, Ctrl-C included."""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import Callable

import uvicorn

from .app import create_app
from .options import ServeConfig
from .state import load_served_models

__all__ = ["run_server", "page_url"]

GRACEFUL_SECONDS = 1  # open event streams get this long to end after Ctrl-C
# the largest WebSocket message taken (live mode's frames: 640 px at most, ~1.2 MB as a raw PNG;
# uvicorn's default is 16 MiB)
WS_MAX_BYTES = 4 * 1024 * 1024


def page_url(config: ServeConfig) -> str:
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
    return f"http://{'[' + host + ']' if ':' in host else host}:{config.port}/"


class _Server(uvicorn.Server):
    """uvicorn's server, with Ctrl-C first cancelling the running job: the exit then takes at
    most one dream step and the graceful second (finished results are already on disk)."""

    def __init__(self, config: uvicorn.Config, app) -> None:
        super().__init__(config)
        self.app = app

    def handle_exit(self, sig, frame) -> None:
        state = getattr(self.app.state, "deepdreamer", None)  # None before the lifespan ran
        if state is not None:
            state.begin_shutdown()
        super().handle_exit(sig, frame)


def run_server(config: ServeConfig, announce: Callable[[str], None] = print) -> None:
    """Serve until Ctrl-C. The `--model` models are loaded first, before uvicorn starts: a bad
    spec (an unknown name, weights that cannot be had, a file that fails) raises its one line
    here rather than inside uvicorn's lifespan, which would log a traceback."""
    app = create_app(config, models=load_served_models(config.models))
    server = _Server(uvicorn.Config(app, host=config.host, port=config.port, log_level="warning",
                                    timeout_graceful_shutdown=GRACEFUL_SECONDS, lifespan="on",
                                    ws="websockets-sansio", ws_max_size=WS_MAX_BYTES), app)
    url = page_url(config)
    announce(url)
    if config.open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    server.run()
