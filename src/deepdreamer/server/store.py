"""The gallery on disk: one folder per result under --results, named by its job id, holding
item.json, the result file, a thumbnail and the source photo. A folder is filled under a
temporary name and renamed into place, so a crash never leaves half an item; items survive a
restart; the oldest are pruned beyond `keep`. Paths are made from ids only, never from
anything else a client sends."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from ..errors import OutputError
from ..io.atomic import AtomicTarget
from .jobs import is_job_id

__all__ = ["ResultsStore", "THUMB_SIZE"]

log = logging.getLogger("deepdreamer.server")

THUMB_SIZE = 256  # px, the long side of a gallery thumbnail
_ITEM = "item.json"


class ResultsStore:
    def __init__(self, root: Path, keep: int) -> None:
        self.root, self.keep = Path(root), keep
        self._lock = threading.Lock()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot use {self.root} for results: {exc.strerror or exc}") from None
        for leftover in self.root.glob(".*.tmp"):  # an item a crash left unfinished
            shutil.rmtree(leftover, ignore_errors=True)

    def folder(self, item_id: str) -> Path | None:
        """The item's folder, or None for an id that is not one (or not stored)."""
        if not is_job_id(item_id):
            return None
        path = self.root / item_id
        return path if (path / _ITEM).is_file() else None

    def add(self, item_id: str, item: dict, write: Callable[[Path], dict]) -> dict:
        """Store a new item: `write(folder)` writes its files into a scratch folder and returns
        the fields it adds to the item; the folder is renamed into place once complete."""
        if not is_job_id(item_id):
            raise ValueError(f"not an item id: {item_id!r}")
        with AtomicTarget(self.root / item_id, directory=True) as target:
            item = dict(item, **write(target.tmp))
            (target.tmp / _ITEM).write_text(json.dumps(item, sort_keys=True), encoding="utf-8")
            target.commit(replace=False)
        self.prune()
        return item

    def get(self, item_id: str) -> dict | None:
        folder = self.folder(item_id)
        if folder is None:
            return None
        try:
            return json.loads((folder / _ITEM).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def items(self) -> list[dict]:
        """Every stored item, newest first."""
        found = []
        for child in self.root.iterdir():
            item = self.get(child.name) if child.is_dir() else None
            if item is not None:
                found.append(item)
        return sorted(found, key=lambda item: item.get("created", ""), reverse=True)

    def delete(self, item_id: str) -> bool:
        folder = self.folder(item_id)
        if folder is None:
            return False
        with self._lock:
            # renamed first so a reader never sees a half-deleted item
            doomed = self.root / f".{item_id}.deleted.tmp"
            try:
                os.replace(folder, doomed)
            except OSError:
                return False
            shutil.rmtree(doomed, ignore_errors=True)
        return True

    def prune(self) -> None:
        # counting folders is cheap; reading every item.json (6 ms at 200 items) only when
        # there may be more than `keep`
        with os.scandir(self.root) as entries:
            if sum(1 for entry in entries if entry.is_dir() and is_job_id(entry.name)) <= self.keep:
                return
        for item in self.items()[self.keep:]:
            log.info("pruning result %s (more than %d kept)", item["id"], self.keep)
            self.delete(item["id"])


def save_thumbnail(image: Image.Image, path: Path) -> None:
    thumb = image.convert("RGB")
    thumb.thumbnail((THUMB_SIZE, THUMB_SIZE))
    thumb.save(path, format="JPEG", quality=85)
