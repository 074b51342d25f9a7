"""Admission to live mode: at most `--live-sessions` at once, and what the latest sessions did."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

__all__ = ["LiveSessions", "LiveStats"]


@dataclass
class LiveStats:
    """What a session did, for GET /api/live (and the tests that hold the server to its word)."""

    received: int = 0  # frames that arrived
    dreamed: int = 0
    dropped: int = 0  # frames replaced by a newer one before they were dreamed
    unsent: int = 0  # dreams replaced by a newer one before the client took them
    held_max: int = 0  # most frames ever waiting at once (the design says 1)
    unsent_max: int = 0  # most dreams ever waiting to be sent at once (the design says 1)
    errors: int = 0
    running: bool = True


class LiveSessions:
    """Admission: at most `limit` live sessions at once, and the stats of the latest ones."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0
        self.recent: deque[LiveStats] = deque(maxlen=8)
        self._lock = threading.Lock()

    def enter(self) -> LiveStats | None:
        with self._lock:
            if self.running >= self.limit:
                return None
            self.running += 1
            stats = LiveStats()
            self.recent.append(stats)
            return stats

    def leave(self, stats: LiveStats) -> None:
        with self._lock:
            self.running -= 1
            stats.running = False
