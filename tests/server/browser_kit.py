"""What the real-browser tests share: a real `deepdreamer serve` subprocess, Debian's Chromium
through Playwright (never `playwright install`), and a page whose every request, answer and
console error is recorded and checked when the test ends (no host but 127.0.0.1, no error
status, no error logged)."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Response, expect

HOST = "127.0.0.1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

STARTUP_SECONDS = 120  # importing torch and loading the model takes ~10 s here; CI may be slower
UI_SECONDS = 10  # the page reacting to a click or an answer


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    results: Path

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            return answer.read()

    def json(self, path: str):
        return json.loads(self.get(path))


@contextmanager
def serving(root: Path, *args: str) -> Iterator[Server]:
    """`deepdreamer serve` on a free port with its results under `root` (and `args` added),
    once it answers /api/info; stopped as by Ctrl-C afterwards. Its log is root/server.log."""
    results = root / "results"
    port = _free_port()
    log_path = root / "server.log"
    command = [sys.executable, "-m", "deepdreamer", "serve", "--host", HOST, "--port", str(port),
               "--results", str(results), *args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://{HOST}:{port}"

    def log_tail() -> str:
        return log_path.read_text(errors="replace")[-3000:]

    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"deepdreamer serve exited with {proc.returncode} before listening:\n{log_tail()}")
            try:
                with urllib.request.urlopen(f"{url}/api/info", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"deepdreamer serve did not answer within {STARTUP_SECONDS} s:\n{log_tail()}")
            time.sleep(0.2)
        yield Server(url, results)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # as Ctrl-C: cancels a running job, then exits
            try:
                proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=8)


def launch_chromium(playwright, extra_args: Sequence[str] = ()) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])


@dataclass
class Watched:
    """A fresh page and everything it did."""

    page: Page
    server: Server
    requests: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions

    def open(self, reload: bool = False) -> None:
        """Load (or reload) the page and wait until it has booted: looks, the model's layers,
        the gallery."""
        with self.page.expect_response(lambda r: urlsplit(r.url).path == "/api/results", timeout=30_000):
            if reload:
                self.page.reload()
            else:
                self.page.goto(self.server.url + "/")
        expect(self.page.get_by_test_id("version-text")).to_have_text(re.compile(r"deepdreamer \S+"), timeout=UI_SECONDS * 1000)
        # the model's layers arrive last in boot (its final, synchronous part follows them)
        self.page.wait_for_function(
            "document.querySelectorAll('#activations-layer-select option').length > 0"
            " && document.querySelectorAll('#layer-list .layer-row').length > 0"
            " && document.getElementById('settings-summary').textContent.startsWith('Sends')",
            timeout=UI_SECONDS * 1000,
        )
        self.page.wait_for_function(
            "document.querySelectorAll('#gallery li').length > 0 || !document.getElementById('gallery-empty').hidden",
            timeout=UI_SECONDS * 1000,
        )

    def body_of(self, path: str) -> bytes:
        """The bytes the server sent the page for `path` (the page's own request), or those a
        data: URL from the event stream holds."""
        if path.startswith("data:"):
            return base64.b64decode(path.partition(",")[2])
        for response in self.responses:
            if urlsplit(response.url).path == path and response.ok:
                return response.body()
        raise AssertionError(f"the page never loaded {path}")


W = TypeVar("W", bound=Watched)


@contextmanager
def watching(browser: Browser, server: Server, kind: type[W] = Watched, **context_options) -> Iterator[W]:
    """A page (a `kind` of Watched) in a fresh browser context, recorded; when the block ends
    without an error, checks that it asked no other host (WebSockets included), got no error
    status and logged no error."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, "accept_downloads": True,
                                     **context_options})
    page = context.new_page()
    w = kind(page, server)
    page.on("request", lambda request: w.requests.append(request.url))
    page.on("websocket", lambda socket: w.requests.append(socket.url))
    page.on("response", lambda response: w.responses.append(response))
    page.on("console", lambda message: w.errors.append(f"console {message.type}: {message.text} "
                                                       f"({message.location})")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: w.errors.append(f"page error: {error}"))
    try:
        yield w
        foreign = []
        for url in w.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if parts.scheme not in ("http", "https", "ws", "wss") or parts.hostname != HOST:
                foreign.append(url)
        assert not foreign, f"the page asked other hosts: {foreign}"
        failed = [f"{r.status} {r.request.method} {r.url}" for r in w.responses if r.status >= 400]
        assert not failed, f"requests answered with an error: {failed}"
        assert not w.errors, "the page logged errors:\n" + "\n".join(w.errors)
    finally:
        context.close()
