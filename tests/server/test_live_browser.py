"""Live mode in a real browser: Debian's Chromium with a fake camera that plays a Y4M file made
from the sample photo, against a real `deepdreamer serve` subprocess (docs/live-protocol.md).

The WebSocket's frames are read off the wire (Playwright's `framesent` / `framereceived`) and
parsed here, so the checks are on what the page really sent and got: camera frames out, one in
flight; dreams back, each the size of its frame and visibly not that frame; readouts; a layer
changed while it runs; a recording offered as a download; a second page told the server is busy
until the first leaves the Live tab. After each test, as in test_browser.py: no host but
127.0.0.1 (the WebSocket included), no error status, nothing logged as an error."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, WebSocket, expect, sync_playwright

from .browser_kit import UI_SECONDS, Server, Watched, launch_chromium, serving, watching

PHOTO_SOURCE = Path(__file__).resolve().parents[2] / "src" / "deepdreamer" / "data" / "chelsea.jpg"
CAMERA_SIZE = (320, 240)  # the fake camera's picture; the page's default frame box is the same
CAMERA_FRAMES = 8  # the photo sliding 2 px a frame, looped by Chromium: a camera that moves a little
DREAMS_SECONDS = 60  # the bound for the first ten dreams (~2 s here, ~8 s with both cores busy elsewhere)
# A dream must differ from its frame (mean absolute difference, 0..255) by more than this many
# times what the way there does to a picture with no dreaming at all: the fake camera's YUV 4:2:0
# and the page's JPEG, measured per frame as the sent frame against the camera picture it shows.
# That measure is ~2.5 here; a dream's is ~9 with the one step per frame a slow machine gives.
# (The sent frame against its own re-encode at the dreams' quality is no measure: re-encoding a
# JPEG at its own quality changes almost nothing, ~0.02, so any echo would pass it.)
NOISE_FACTOR = 2.0


# ---------------------------------------------------------------- the fake camera


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 30) -> None:
    """YUV4MPEG2, 4:2:0: a one-line header, then each frame as "FRAME\\n" and its planar I420
    bytes (Y at full size, then U and V at half the width and height)."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())


def camera_frames() -> list[np.ndarray]:
    width, height = CAMERA_SIZE
    shift = 2
    wide = width + shift * (CAMERA_FRAMES - 1)
    with Image.open(PHOTO_SOURCE) as im:
        photo = im.convert("RGB")
        # cover wide x height, cropped to the middle
        k = max(wide / photo.width, height / photo.height)
        photo = photo.resize((round(photo.width * k), round(photo.height * k)), Image.LANCZOS)
        left, top = (photo.width - wide) // 2, (photo.height - height) // 2
        strip = np.asarray(photo.crop((left, top, left + wide, top + height)))
    return [np.ascontiguousarray(strip[:, i * shift:i * shift + width]) for i in range(CAMERA_FRAMES)]


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("camera") / "camera.y4m"
    write_y4m(path, camera_frames())
    return path


# ---------------------------------------------------------------- server, browser, page


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("live-serve")) as running:  # the embedded model, 1 live session
        yield running


@pytest.fixture(scope="module")
def browser(camera_file) -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = launch_chromium(p, ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                                       f"--use-file-for-fake-video-capture={camera_file}"])
        try:
            yield chromium
        finally:
            chromium.close()


def unpack(payload: bytes) -> tuple[dict, bytes]:
    """The protocol's binary message: 4-byte big-endian header length, JSON header, image."""
    assert len(payload) >= 4, "a binary message shorter than its header length"
    size = int.from_bytes(payload[:4], "big")
    assert 4 + size <= len(payload), f"a header of {size} bytes does not fit a {len(payload)}-byte message"
    return json.loads(payload[4:4 + size]), payload[4 + size:]


@dataclass
class Message:
    seq: int  # its place among all the page's messages, sent or received (LivePage.seen)
    text: dict | None = None  # a text message, parsed
    header: dict | None = None  # a binary message's header and image
    image: bytes = b""


@dataclass
class LivePage(Watched):
    """The page, and every WebSocket message it sent and received (all its sockets), numbered
    in the order the browser reported them."""

    sockets: list[WebSocket] = field(default_factory=list)
    sent: list[Message] = field(default_factory=list)
    received: list[Message] = field(default_factory=list)
    seen: int = 0  # messages so far: the next one's seq

    def __post_init__(self) -> None:
        self.page.on("websocket", self._socket)

    def _socket(self, socket: WebSocket) -> None:
        self.sockets.append(socket)
        socket.on("framesent", lambda payload: self.sent.append(self._message(payload)))
        socket.on("framereceived", lambda payload: self.received.append(self._message(payload)))

    def _message(self, payload: str | bytes) -> Message:
        self.seen += 1
        if isinstance(payload, str):
            return Message(self.seen, text=json.loads(payload))
        header, image = unpack(payload)
        return Message(self.seen, header=header, image=image)

    def start_live(self, running: bool = True) -> None:
        page = self.page
        page.get_by_test_id("mode-live").click()
        expect(page.get_by_test_id("mode-live")).to_have_attribute("aria-selected", "true")
        expect(page.get_by_test_id("drop-zone")).to_be_hidden()  # the photo modes' stage
        page.get_by_test_id("live-source-camera").click()
        expect(page.get_by_test_id("live-source-camera")).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_test_id("live-video")).to_be_visible(timeout=UI_SECONDS * 1000)
        page.get_by_test_id("live-start").click()
        if running:
            expect(page.get_by_test_id("live-stop")).to_be_visible()

    def frames(self) -> dict[int, Message]:
        return {m.header["id"]: m for m in self.sent if m.header is not None}

    def dreams(self, after: int = 0) -> list[Message]:
        return [m for m in self.received if m.header is not None and m.seq > after]

    def texts(self, kind: str, messages: list[Message]) -> list[dict]:
        return [m.text for m in messages if m.text is not None and m.text.get("type") == kind]

    def wait_until(self, done, seconds: float, what: str) -> None:
        """Let the page run (Playwright delivers its events while it waits) until done()."""
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() > deadline:
                pytest.fail(f"{what} within {seconds} s; received {len(self.dreams())} dreams, "
                            f"status {self.page.get_by_test_id('live-status-text').text_content()!r}")
            self.page.wait_for_timeout(100)


@pytest.fixture
def live(browser: Browser, server: Server) -> Iterator[LivePage]:
    with watching(browser, server, kind=LivePage) as w:
        yield w


def _pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(jpeg)).convert("RGB"), dtype=np.int16)


def _codec_noise(sent: np.ndarray, camera: list[np.ndarray]) -> float:
    """What the camera and the JPEG did to a frame: its mean absolute difference from the camera
    picture it was captured from (the closest of the Y4M's frames)."""
    return min(float(np.abs(sent - picture.astype(np.int16)).mean()) for picture in camera)


# ---------------------------------------------------------------- the tests


def test_the_camera_is_dreamed_live_with_readouts_a_layer_change_and_a_recording(live: LivePage, tmp_path):
    w, page = live, live.page
    w.open()
    w.start_live()
    w.wait_until(lambda: len(w.dreams()) >= 10, DREAMS_SECONDS, "ten dreams did not come back")

    socket = w.sockets[0]
    assert socket.url == w.server.url.replace("http://", "ws://") + "/api/live"
    ready = w.texts("ready", w.received)
    assert ready and ready[0]["max_side"] >= max(CAMERA_SIZE), ready
    # the page's controls go out as the first message, before any frame
    first = w.sent[0].text
    assert first is not None and first["type"] == "settings", first
    assert first["strength"] == 0.5 and first["fps"] == 10 and first["layer"] is None, first

    frames = w.frames()
    ids = list(frames)
    assert ids == sorted(ids) and len(set(ids)) == len(ids), f"frame ids not increasing: {ids}"
    # one frame in flight: a frame is sent only after the dream of the one before came back, or
    # captured a second or more after it without one (`t`: the page's clock at capture)
    dreams = w.dreams()
    camera = camera_frames()
    for earlier, later in zip(ids, ids[1:]):
        answered = any(d.header["id"] >= earlier and d.seq < frames[later].seq for d in dreams)
        waited = frames[later].header["t"] - frames[earlier].header["t"] >= 999  # timer clock rounding
        assert answered or waited, f"frame {later} was sent while frame {earlier} was in flight"

    for dream in dreams[:10]:
        header = dream.header
        frame = frames[header["id"]]
        assert header["t"] == frame.header["t"], "the dream does not echo its frame's time"
        assert isinstance(header["steps"], int) and header["steps"] >= 1, header
        sent, got = _pixels(frame.image), _pixels(dream.image)
        assert sent.shape == (CAMERA_SIZE[1], CAMERA_SIZE[0], 3), f"the page sent {sent.shape}"
        assert got.shape == sent.shape, f"dream {header['id']} is {got.shape}, its frame {sent.shape}"
        noise = _codec_noise(sent, camera)
        difference = float(np.abs(got - sent).mean())
        assert difference > NOISE_FACTOR * noise, (
            f"dream {header['id']} differs from its frame by {difference:.2f} (mean abs); "
            f"the camera and JPEG alone make {noise:.2f}")

    expect(page.get_by_test_id("live-canvas")).to_be_visible()
    assert page.evaluate("[document.getElementById('live-canvas').width,"
                         " document.getElementById('live-canvas').height]") == list(CAMERA_SIZE)
    expect(page.get_by_test_id("live-fps-text")).to_have_text(re.compile(r"^\d+\.\d fps$"))
    expect(page.get_by_test_id("live-latency-text")).to_have_text(re.compile(r"^\d+ ms$"))
    expect(page.get_by_test_id("live-steps-text")).to_have_text(re.compile(r"^\d+ steps/frame$"))
    fps = float(page.get_by_test_id("live-fps-text").text_content().split()[0])
    assert fps > 0, fps

    # a layer changed while it runs: a settings message goes out, the server confirms, dreams go on
    layers = page.locator("#live-layer-select option").evaluate_all("os => os.map(o => o.value)")
    assert layers[0] == "" and len(layers) > 3, layers
    default = ready[0]["settings"]["layers"][0][0]
    layer = next(name for name in layers[1:] if name != default)
    page.get_by_test_id("live-layer-select").select_option(layer)
    w.wait_until(lambda: any(s.text and s.text.get("layer") == layer for s in w.sent), UI_SECONDS,
                 "no settings message with the new layer was sent")
    sent = next(s.text for s in w.sent if s.text and s.text.get("layer") == layer)
    assert sent["type"] == "settings" and set(sent) == {"type", "layer"}, sent
    w.wait_until(lambda: any(s.get("layer") == layer for s in (m["settings"] for m in w.texts("settings", w.received))),
                 UI_SECONDS, "the server did not confirm the new layer")
    confirmed = next(m for m in w.received if m.text and m.text.get("type") == "settings"
                     and m.text["settings"]["layer"] == layer)
    assert confirmed.text["settings"]["layers"] == [[layer, 1.0]], confirmed.text
    w.wait_until(lambda: len(w.dreams(after=confirmed.seq)) >= 3, DREAMS_SECONDS,
                 "dreams stopped after the layer changed")
    expect(page.get_by_test_id("live-layer-select")).to_have_value(layer)
    expect(page.get_by_test_id("live-layers-text")).to_contain_text(layer)
    assert not w.texts("error", w.received), w.texts("error", w.received)

    # a recording of the dreamed canvas, offered as a download
    record = page.get_by_test_id("live-record")
    expect(page.get_by_test_id("live-download")).to_be_hidden()
    record.click()
    expect(record).to_have_attribute("aria-pressed", "true")
    recording_from = w.seen
    w.wait_until(lambda: len(w.dreams(after=recording_from)) >= 6, DREAMS_SECONDS, "dreams stopped while recording")
    record.click()
    expect(record).to_have_attribute("aria-pressed", "false")
    download = page.get_by_test_id("live-download")
    expect(download).to_be_visible(timeout=UI_SECONDS * 1000)
    expect(download).to_have_attribute("href", re.compile(r"^blob:http://127\.0\.0\.1:\d+/"))
    expect(download).to_have_attribute("download", "deepdreamer-live.webm")
    # the page's CSP (connect-src 'self') keeps fetch() off blob: URLs, so the blob is read as a
    # user gets it, through the download; and played in a <video> (media-src allows blob:)
    with page.expect_download(timeout=UI_SECONDS * 1000) as downloading:
        download.click()
    saved = tmp_path / "live.webm"
    downloading.value.save_as(saved)
    data = saved.read_bytes()
    assert len(data) > 1000 and data[:4] == b"\x1a\x45\xdf\xa3", f"not a WebM: {len(data)} bytes, {data[:8]!r}"
    played = page.evaluate("""(url) => new Promise((resolve) => {
        const video = document.createElement('video');
        video.muted = true;
        video.addEventListener('loadeddata', () => resolve([video.videoWidth, video.videoHeight]));
        video.addEventListener('error', () => resolve(String(video.error && video.error.message)));
        video.src = url;
    })""", download.get_attribute("href"))
    assert played == list(CAMERA_SIZE), played

    # Stop: the socket closes, the camera goes off, the status says so
    page.get_by_test_id("live-stop").click()
    expect(page.get_by_test_id("live-status-text")).to_have_text("stopped", timeout=UI_SECONDS * 1000)
    expect(page.get_by_test_id("live-start")).to_be_enabled()
    expect(page.get_by_test_id("live-stop")).to_be_hidden()
    page.wait_for_function("document.getElementById('live-video').srcObject === null", timeout=UI_SECONDS * 1000)
    deadline = time.monotonic() + UI_SECONDS
    while not socket.is_closed():
        assert time.monotonic() < deadline, "the socket is still open after Stop"
        page.wait_for_timeout(100)


def test_a_second_page_is_told_busy_until_the_first_leaves_live(browser: Browser, server: Server):
    with watching(browser, server, kind=LivePage) as first, watching(browser, server, kind=LivePage) as second:
        first.open()
        first.start_live()
        first.wait_until(lambda: len(first.dreams()) >= 1, DREAMS_SECONDS, "no dream came back")

        second.open()
        second.start_live(running=False)  # it is told busy at once
        status = second.page.get_by_test_id("live-status-text")
        expect(status).to_contain_text("another live session", timeout=UI_SECONDS * 1000)
        busy = second.texts("busy", second.received)
        assert len(busy) == 1 and busy[0]["detail"] in status.text_content(), busy
        # the page stopped: no frame went out, Start is offered again, the camera is off
        assert not second.frames()
        expect(second.page.get_by_test_id("live-start")).to_be_enabled()
        expect(second.page.get_by_test_id("live-stop")).to_be_hidden()
        second.page.wait_for_function("document.getElementById('live-video').srcObject === null",
                                      timeout=UI_SECONDS * 1000)

        # leaving the Live tab ends the first page's session (and its camera) ...
        first.page.get_by_test_id("mode-dream").click()
        first.wait_until(lambda: first.sockets[0].is_closed(), UI_SECONDS, "the first page's socket stayed open")
        first.page.wait_for_function("document.getElementById('live-video').srcObject === null",
                                     timeout=UI_SECONDS * 1000)
        expect(first.page.get_by_test_id("drop-zone")).to_be_visible()
        # ... so the second page now gets dreams
        _start_again(second)
        second.wait_until(lambda: len(second.dreams()) >= 2, DREAMS_SECONDS, "the second page got no dreams")
        second.page.get_by_test_id("live-stop").click()
        expect(status).to_have_text("stopped", timeout=UI_SECONDS * 1000)


def _start_again(w: LivePage) -> None:
    """Start until the server says ready: it lets the first session go a moment after the close."""
    deadline = time.monotonic() + UI_SECONDS
    while True:
        clicked = w.seen
        w.page.get_by_test_id("live-start").click()

        def answers() -> list[dict]:
            return [m.text for m in w.received if m.seq > clicked and m.text and m.text["type"] in ("ready", "busy")]

        w.wait_until(lambda: bool(answers()), UI_SECONDS, "the server answered neither ready nor busy")
        if answers()[0]["type"] == "ready":
            return
        assert time.monotonic() < deadline, "the server still says busy after the first page left"
        w.page.wait_for_timeout(300)
