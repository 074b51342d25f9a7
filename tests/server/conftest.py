"""The server in-process (FastAPI's TestClient), sharing the session's model, with its results
in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from deepdreamer.server import ServeConfig, create_app


@pytest.fixture
def serve(tmp_path, lite0):
    """serve(**ServeConfig fields) -> a context manager yielding a started TestClient."""

    @contextmanager
    def start(**options) -> Iterator[TestClient]:
        options.setdefault("results", tmp_path / "results")
        with TestClient(create_app(ServeConfig(**options), model=lite0)) as client:
            yield client

    return start


@pytest.fixture
def client(serve):
    with serve() as c:
        yield c
