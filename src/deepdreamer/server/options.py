"""The server's settings: every default once. The CLI (`deepdreamer serve`) only fills these in."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

__all__ = ["LOOPBACK_HOSTS", "ServeConfig"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")  # hosts only this machine can reach


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"  # loopback: nobody else can reach the page unless asked for
    port: int = 8000
    results: Path = Path("deepdreamer-results")  # the gallery; kept across restarts
    queue: int = 8  # jobs accepted and not finished (waiting or running); more get 429
    max_upload_mb: float = 25.0  # a whole request's body; more gets 413
    workers: int = 1  # jobs dreaming at once; torch already uses every core for one
    keep: int = 200  # gallery items kept; older ones are pruned, oldest first
    open_browser: bool = False  # open the page in the default browser once listening
    # models served beside the curated ones, by any spec load_model takes (torchvision:NAME,
    # timm:NAME, path/file.py:factory), all loaded at start; a request can name no others
    models: tuple[str, ...] = ()
    live_sessions: int = 1  # live webcam sessions at once; one already uses every core

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", Path(self.results))
        models = (self.models,) if isinstance(self.models, str) else tuple(self.models)
        object.__setattr__(self, "models", tuple(dict.fromkeys(models)))  # each once, in order
        _check(0 < self.port < 65536, f"port must be between 1 and 65535, got {self.port}")
        _check(1 <= self.queue <= 1000, f"queue must be between 1 and 1000, got {self.queue}")
        _check(
            math.isfinite(self.max_upload_mb) and 0 < self.max_upload_mb <= 1024,
            f"max upload must be more than 0 and at most 1024 MB, got {self.max_upload_mb}",
        )
        _check(1 <= self.workers <= 64, f"workers must be between 1 and 64, got {self.workers}")
        _check(self.workers <= self.queue, f"workers ({self.workers}) cannot exceed the queue ({self.queue})")
        _check(0 <= self.live_sessions <= 64, f"live sessions must be between 0 and 64, got {self.live_sessions}")
        _check(self.keep >= 1, f"keep must be at least 1, got {self.keep}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)
