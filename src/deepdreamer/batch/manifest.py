"""The batch's manifest in OUTDIR: JSON lines that grow as items finish, so a crashed or killed
batch leaves a record of what it did, and the next run of the same command knows the seed and
thread count to continue with.

A run starts with a header line ({"run": ..., "seed": ..., "threads": ..., "batch": ...}); each
item that ends adds {"item", "status" (done, skipped, failed), "seconds", "error", "output",
"attempts"}. Lines are appended and fsynced one at a time; a line cut short by a kill is
skipped when read."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from ..errors import OutputError

__all__ = ["Manifest", "MANIFEST_NAME"]

MANIFEST_NAME = "deepdreamer-batch.jsonl"


class Manifest:
    def __init__(self, outdir: Path) -> None:
        self.path = Path(outdir) / MANIFEST_NAME
        self._file = None

    def lines(self) -> list[dict]:
        """Every whole line so far (a torn last line from a kill is left out)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise OutputError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        found = []
        for line in text.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                found.append(value)
        return found

    def last_run(self) -> dict | None:
        """The newest header: the seed and thread count a resumed run continues with."""
        return next((line for line in reversed(self.lines()) if "run" in line), None)

    def begin(self, header: dict) -> None:
        try:
            # a line torn by a kill must not swallow the next one
            torn = self.path.exists() and self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n")
            self._file = open(self.path, "a", encoding="utf-8")
            if torn:
                self._file.write("\n")
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        self.write(dict({"run": now}, **header))

    def write(self, record: dict) -> None:
        try:
            self._file.write(json.dumps(record, sort_keys=True) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
