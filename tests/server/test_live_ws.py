"""Live mode's WebSocket against a real uvicorn server (in a thread, sharing the session's model)
and a real WebSocket client: frames in, dreams out, settings while it runs, bad messages as one
line, one session at a time, and a client that reads slowly never makes the server hold a
backlog (TCP backpressure is real here, unlike in TestClient)."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import urllib.request

import numpy as np
import pytest
import uvicorn
from PIL import Image
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from deepdreamer.server import ServeConfig, create_app
from deepdreamer.server.live_frames import pack, unpack

from .browser_kit import _free_port

HOST = "127.0.0.1"
SIZE = (160, 120)  # small frames: cheap dreams, many per second


@pytest.fixture(scope="module")
def server(tmp_path_factory, lite0):
    app = create_app(ServeConfig(results=tmp_path_factory.mktemp("live") / "results"), model=lite0)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning", ws="websockets-sansio",
                                        lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"{HOST}:{port}"
    srv.should_exit = True
    thread.join(15)


def camera_frame(sample_photo, shift: int = 0, size=SIZE) -> bytes:
    with Image.open(sample_photo) as im:
        frame = im.convert("RGB").resize(size)
    pixels = np.roll(np.asarray(frame), shift, axis=1)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def frame_message(i: int, image: bytes) -> bytes:
    return pack({"id": i, "t": time.monotonic() * 1000}, image)


def status(address: str) -> dict:
    with urllib.request.urlopen(f"http://{address}/api/live", timeout=10) as answer:
        return json.loads(answer.read())


def wait_idle(address: str) -> None:
    deadline = time.monotonic() + 20
    while status(address)["running"]:
        assert time.monotonic() < deadline, "the previous live session did not end"
        time.sleep(0.05)


def receive_json(ws, kind: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(message, str):
            data = json.loads(message)
            if data["type"] == kind:
                return data
            assert data["type"] != "error" or kind == "error", data


def receive_dream(ws, timeout: float = 30) -> tuple[dict, np.ndarray]:
    deadline = time.monotonic() + timeout
    while True:
        message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(message, bytes):
            header, image = unpack(message)
            return header, np.asarray(Image.open(io.BytesIO(image)).convert("RGB"))
        assert json.loads(message)["type"] not in ("error", "busy"), message


def test_frames_come_back_dreamed_and_settings_change_while_it_runs(server, sample_photo):
    wait_idle(server)
    with connect(f"ws://{server}/api/live", open_timeout=10) as ws:
        ready = receive_json(ws, "ready")
        assert ready["settings"]["strength"] == 0.5 and ready["max_side"] >= 320
        camera = camera_frame(sample_photo)
        source = np.asarray(Image.open(io.BytesIO(camera)).convert("RGB")).astype(float)
        for i in range(4):  # one frame in flight, as the page does
            ws.send(frame_message(i, camera))
            header, dream = receive_dream(ws)
            assert header["id"] == i and header["steps"] >= 1 and header["ms"] > 0
        assert dream.shape == source.shape
        # the dream builds up over frames: the fourth differs from the camera clearly
        assert np.abs(dream - source).mean() > 4, np.abs(dream - source).mean()
        ws.send(json.dumps({"type": "settings", "layer": "blocks.5", "strength": 1.0, "fps": 5}))
        applied = receive_json(ws, "settings")["settings"]
        assert applied["layers"] == [["blocks.5", 1.0]] and applied["strength"] == 1.0 and applied["fps"] == 5
        ws.send(frame_message(10, camera))
        assert receive_dream(ws)[0]["id"] == 10
        # refused settings keep the old ones and the session goes on
        for bad, words in [({"layer": "blocks.55"}, "blocks.5"), ({"strength": "lots"}, "number"),
                           ({"fps": 1000}, "fps"), ({"colour": "red"}, "unknown live setting"),
                           ({"model": "torchvision:resnet18"}, "model")]:
            ws.send(json.dumps({"type": "settings", **bad}))
            refused = receive_json(ws, "error")
            detail = refused["detail"]
            assert words in detail and "\n" not in detail, (bad, detail)
            # what is still in force comes along
            assert refused["about"] == "settings" and refused["settings"]["layers"] == [["blocks.5", 1.0]]
        ws.send(frame_message(11, camera))
        assert receive_dream(ws)[0]["id"] == 11
        # bad frames: one line each, the session goes on
        for bad, words in [(b"\x00\x00", "shorter"), (pack({"id": 1}, b"not an image"), "not a readable"),
                           (pack({"id": 2}, camera_frame(sample_photo, size=(800, 600))), "at most 640"),
                           (b"\x00\x00\x00\x05[1,2]", "JSON object")]:
            ws.send(bad)
            refused = receive_json(ws, "error")
            detail = refused["detail"]
            assert words in detail and "\n" not in detail and refused["about"] == "frame", (bad[:20], detail)
        ws.send("hello")
        assert "settings" in receive_json(ws, "error")["detail"]
        ws.send(frame_message(12, camera))
        assert receive_dream(ws)[0]["id"] == 12


def test_a_second_session_is_told_the_server_is_busy(server):
    wait_idle(server)
    with connect(f"ws://{server}/api/live", open_timeout=10) as first:
        receive_json(first, "ready")
        with connect(f"ws://{server}/api/live", open_timeout=10) as second:
            busy = json.loads(second.recv(timeout=10))
            assert busy["type"] == "busy" and "another live session" in busy["detail"]
            with pytest.raises(ConnectionClosed) as closed:
                second.recv(timeout=10)
            assert closed.value.rcvd.code == 1013
        assert status(server)["running"] == 1
    wait_idle(server)  # the first one's end frees the server
    with connect(f"ws://{server}/api/live", open_timeout=10) as third:
        assert receive_json(third, "ready")["type"] == "ready"


def noise_frame(seed: int) -> bytes:
    """640x480 of noise: ~300 KB as a JPEG, and so is its dream."""
    pixels = np.random.default_rng(seed).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def test_a_client_that_reads_slowly_never_makes_the_server_hold_a_backlog(server):
    wait_idle(server)
    frames = [noise_frame(seed) for seed in range(4)]
    sent = 0
    # A client that reads slowly: its library stops reading the socket while one message waits
    # unread (max_queue=1) and its socket takes 4 KB at a time (set before connecting, so the
    # window is small from the start). Big dreams (~300 KB) fill the server's kernel send
    # buffer (4 MB at most here) within seconds; after that the server's sends block and only
    # its own one-dream slot stands between the dreamer and a backlog.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = server.split(":")
    sock.connect((host, int(port)))
    with connect(f"ws://{server}/api/live", sock=sock, open_timeout=10, max_queue=1, max_size=2**22) as ws:
        receive_json(ws, "ready")
        began = time.monotonic()
        while time.monotonic() - began < 10.0:  # a camera at ~40 fps and nobody reading
            ws.send(frame_message(sent, frames[sent % len(frames)]))
            sent += 1
            time.sleep(0.02)
        sending_took = time.monotonic() - began
        during = status(server)["sessions"][-1]
        ids = []
        try:
            while True:
                ids.append(receive_dream(ws, timeout=3)[0]["id"])
        except TimeoutError:
            pass
    after = status(server)["sessions"][-1]
    print(f"sent {sent} in {sending_took:.1f} s; server: {after}; client got {len(ids)}: {ids}")
    # the server kept reading while nobody read its answers: the client's sends never stalled
    assert sending_took < 13.0 and during["received"] >= sent - 5
    # never more than one frame waiting in and one dream waiting out
    assert after["held_max"] == 1 and after["unsent_max"] == 1
    # frames were dropped instead of queued, and dreams replaced while the client did not read
    assert after["dropped"] >= sent // 2 and after["unsent"] >= 1
    assert after["dreamed"] + after["dropped"] <= after["received"] <= sent
    # what reached the client is in order and ends with one of the last frames it sent
    assert ids == sorted(ids) and len(ids) <= after["dreamed"] - after["unsent"] and ids[-1] >= sent - 5, ids


def test_live_mode_can_be_turned_off(serve):
    with serve(live_sessions=0) as client, client.websocket_connect("/api/live") as ws:
        busy = ws.receive_json()
        assert busy["type"] == "busy" and "--live-sessions 0" in busy["detail"]
        assert client.get("/api/live").json()["limit"] == 0
