"""`deepdreamer serve`: a local web page and JSON API that dream while you watch.

Needs FastAPI and uvicorn (installed with deepdreamer). `create_app(ServeConfig(...))` makes
the app; the CLI runs it with uvicorn."""

from .options import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def create_app(*args, **kwargs):
    from .app import create_app as make

    return make(*args, **kwargs)
