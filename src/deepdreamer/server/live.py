"""Live mode over a WebSocket (docs/live-protocol.md): the client sends camera frames, the
server sends back their dreams as they are made (motion/live.py does the dreaming).

Latency stays bounded whatever the client does, because nothing queues:
- the receiver reads every message as it comes, and a frame that arrives while another is still
  waiting replaces it (the older one is dropped and counted);
- the dreamer, on a thread of its own (compute.py: the thread ends with the session), always
  takes the newest frame;
- a dream waiting to be sent is replaced by a newer one when the client reads slowly.
So the server holds at most one frame in and one dream out per session, and its receiver never
stops reading (a client's sends never block on a busy server).

Sessions are limited (`--live-sessions`, 1 by default: one live session already uses every core);
a client beyond the limit gets a one-line `busy` message and the close code 1013 (try again
later). A live session and queued jobs share the cores when both run."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import asdict, replace

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect

from ..config import LiveConfig
from ..errors import ConfigError, DeepDreamerError
from ..motion.live import LiveDreamer
from .live_sessions import LiveStats
from .live_frames import decode_frame, encode_frame, pack, unpack
from .state import ServerState

__all__ = ["router", "LIVE_SETTINGS", "live_changes"]

router = APIRouter(tags=["live"])

LIVE_SETTINGS = ("preset", "layer", "strength", "fps", "model")  # what a client may change
_TRY_AGAIN_LATER = 1013  # WebSocket close code
_RATE_WINDOW = 2.0  # seconds over which the dreamed frame rate is counted


def live_changes(message: dict) -> dict:
    """The settings a `settings` message changes, type-checked; ConfigError names what is wrong."""
    unknown = sorted(set(message) - {"type", *LIVE_SETTINGS})
    if unknown:
        raise ConfigError(f"unknown live setting {unknown[0]!r} (live settings: {', '.join(LIVE_SETTINGS)})")
    changes = {}
    for key in LIVE_SETTINGS:
        if key not in message:
            continue
        value = message[key]
        if key in ("strength", "fps"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{key} must be a number, got {value!r}")
            value = float(value)
        elif value is not None and not isinstance(value, str):
            raise ConfigError(f"{key} must be a name or null, got {value!r}")
        else:
            value = value or None  # "" from a form's first option: the default
        changes[key] = value
    return changes


class _Session:
    """One client's session: the receiver and sender run on the event loop, the dreamer on its
    own thread; they meet only in the two one-item slots and the control queue below."""

    def __init__(self, state: ServerState, websocket: WebSocket, stats: LiveStats) -> None:
        self.state, self.websocket, self.stats = state, websocket, stats
        self.loop = asyncio.get_running_loop()
        self.stopping = threading.Event()
        self._wake_dreamer = threading.Condition()
        self._frame: tuple[dict, bytes] | None = None  # the one frame waiting to be dreamed
        self._changes: list[dict] = []  # settings messages, applied in order before the next frame
        self._dream: bytes | None = None  # the one dream waiting to be sent
        self._controls: deque[dict] = deque()  # text messages to send (never dropped)
        self._wake_sender = asyncio.Event()
        self._times: deque[float] = deque()  # when recent dreams were finished

    # ---- the event loop's side

    async def run(self) -> None:
        dreamer = threading.Thread(target=self._dream_loop, name="deepdreamer-live", daemon=True)
        dreamer.start()
        sender = asyncio.create_task(self._send_loop())
        try:
            await self._receive_loop()
        finally:
            self.stopping.set()
            with self._wake_dreamer:
                self._wake_dreamer.notify()
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            # the thread stops within the frame it is on; waiting for it off the event loop
            await asyncio.to_thread(dreamer.join, 10.0)

    async def _receive_loop(self) -> None:
        while not self.stopping.is_set():
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                self._take_frame(message["bytes"])
            elif message.get("text") is not None:
                self._take_text(message["text"])

    def _take_frame(self, data: bytes) -> None:
        try:
            header, image = unpack(data)
        except DeepDreamerError as exc:
            self._control({"type": "error", "about": "frame", "detail": str(exc)})
            return
        with self._wake_dreamer:
            self.stats.received += 1
            if self._frame is not None:  # never dreamed: the newer frame replaces it
                self.stats.dropped += 1
            self._frame = (header, image)
            self.stats.held_max = max(self.stats.held_max, 1)
            self._wake_dreamer.notify()

    def _take_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            message = None
        if not isinstance(message, dict) or message.get("type") != "settings":
            self._control({"type": "error", "about": "settings",
                           "detail": "a text message must be a JSON object with \"type\": \"settings\""})
            return
        with self._wake_dreamer:
            self._changes.append(message)
            self._wake_dreamer.notify()

    def _control(self, message: dict) -> None:
        if message["type"] == "error":
            self.stats.errors += 1
        self._controls.append(message)
        self._wake_sender.set()

    def _offer_dream(self, message: bytes) -> None:
        if self._dream is not None:  # the client has not taken the last one: it is stale now
            self.stats.unsent += 1
        self._dream = message
        self.stats.unsent_max = max(self.stats.unsent_max, 1)
        self._wake_sender.set()

    async def _send_loop(self) -> None:
        while True:
            await self._wake_sender.wait()
            self._wake_sender.clear()
            while self._controls:
                await self.websocket.send_json(self._controls.popleft())
            if self._dream is not None:
                message, self._dream = self._dream, None
                await self.websocket.send_bytes(message)

    # ---- the dreamer's thread

    def _post(self, fn, *args) -> None:
        if not self.stopping.is_set():
            self.loop.call_soon_threadsafe(fn, *args)

    def _dream_loop(self) -> None:
        config = LiveConfig(model=self.state.default_model.name)
        try:
            dreamer = LiveDreamer(self.state.default_model, config)
        except DeepDreamerError as exc:
            self._post(self._control, {"type": "error", "detail": str(exc)})
            return
        dreamer.warm_up()  # the first frame of a session is then as quick as the next ones
        self._post(self._control, {"type": "ready", "settings": _described(dreamer), "max_side": config.max_side})
        while True:
            with self._wake_dreamer:
                while self._frame is None and not self._changes and not self.stopping.is_set() \
                        and not self.state.closing.is_set():
                    self._wake_dreamer.wait(0.5)
                if self.stopping.is_set() or self.state.closing.is_set():
                    return
                changes, self._changes = self._changes, []
                frame, self._frame = self._frame, None
            for message in changes:
                self._apply(dreamer, message)
            if frame is not None:
                self._dream_one(dreamer, *frame)

    def _apply(self, dreamer: LiveDreamer, message: dict) -> None:
        try:
            changes = live_changes(message)
            config = replace(dreamer.config, **changes)
            net = self.state.models.get(config.model or self.state.default_model.name)
            dreamer.configure(net, replace(config, model=net.name))
        except DeepDreamerError as exc:  # the settings in force are sent along: they did not change
            self._post(self._control, {"type": "error", "about": "settings", "detail": str(exc),
                                       "settings": _described(dreamer)})
            return
        self._post(self._control, {"type": "settings", "settings": _described(dreamer)})

    def _dream_one(self, dreamer: LiveDreamer, header: dict, image: bytes) -> None:
        began = time.perf_counter()
        try:
            pixels = decode_frame(image, dreamer.config.max_side, dreamer.net.entry.min_size)
            frame = dreamer.dream(pixels)
        except DeepDreamerError as exc:
            self._post(self._control, {"type": "error", "about": "frame", "id": header.get("id"),
                                       "detail": str(exc)})
            return
        encoded = encode_frame(frame.image)
        now = time.perf_counter()
        self._times.append(now)
        while self._times and self._times[0] < now - _RATE_WINDOW:
            self._times.popleft()
        self.stats.dreamed += 1
        reply = {"id": header.get("id"), "t": header.get("t"), "steps": frame.steps,
                 "ms": round((now - began) * 1000, 1),
                 "objective": None if frame.objective != frame.objective else round(frame.objective, 3),
                 "dropped": self.stats.dropped, "fps": round((len(self._times) - 1) / _RATE_WINDOW, 2)
                 if len(self._times) > 1 else 0.0}
        self._post(self._offer_dream, pack(reply, encoded))


def _described(dreamer: LiveDreamer) -> dict:
    c = dreamer.config
    return {"preset": c.preset, "layer": c.layer, "strength": c.strength, "fps": c.fps, "model": c.model,
            "layers": [list(p) for p in dreamer.prepared.layers], "step_size": c.step_size}


@router.websocket("/live")
async def live(websocket: WebSocket) -> None:
    state: ServerState = websocket.app.state.deepdreamer
    await websocket.accept()
    stats = state.live.enter()
    if stats is None:
        detail = ("live mode is off on this server (it was started with --live-sessions 0)"
                  if state.live.limit == 0 else
                  "another live session is running on this server; try again when it ends")
        await websocket.send_json({"type": "busy", "detail": detail})
        await websocket.close(code=_TRY_AGAIN_LATER)
        return
    try:
        await _Session(state, websocket, stats).run()
    except WebSocketDisconnect:
        pass
    finally:
        state.live.leave(stats)


@router.get("/live", summary="Live sessions: how many run, and what the latest ones did")
async def live_status(request: Request) -> dict:
    state: ServerState = request.app.state.deepdreamer
    return {"running": state.live.running, "limit": state.live.limit,
            "sessions": [asdict(s) for s in state.live.recent]}
