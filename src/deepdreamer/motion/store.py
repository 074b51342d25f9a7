"""The frames of a long run kept on disk (`OUT.frames/`), so an interrupted run resumes where it
stopped. manifest.json records the settings and seed; each frame is a PNG written atomically, so
a kill mid-write leaves the previous frames intact and no half frame. The folder itself appears
with its manifest already inside (made as a temporary folder and renamed), so a kill while it
is created never leaves a folder the next run would not recognise."""

from __future__ import annotations

import json
import os
import pathlib
import shutil

import numpy as np

from ..errors import ConfigError, OutputError
from ..io.atomic import AtomicTarget, write_atomic, write_failed
from .frames import png_bytes, png_frame

__all__ = ["FrameStore", "work_dir_for"]

_MANIFEST = "manifest.json"
_IGNORED = ("deepdreamer",)  # a newer deepdreamer may resume an older run's frames


def work_dir_for(output: str | os.PathLike) -> pathlib.Path:
    return pathlib.Path(os.fspath(output).rstrip("/" + os.sep) + ".frames")


def read_manifest(output: str | os.PathLike) -> dict | None:
    """The settings an unfinished run of `output` recorded, or None."""
    path = work_dir_for(output) / _MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class FrameStore:
    """`frames` numbered PNGs under `work_dir_for(output)`; `done` counts the consecutive frames
    from the first that are already there."""

    def __init__(self, output: str | os.PathLike, settings: dict, frames: int,
                 resume: bool = False, force: bool = False) -> None:
        self.dir = work_dir_for(output)
        self.frames = frames
        manifest = {"settings": settings, "frames": frames}
        if self.dir.exists():
            old = read_manifest(output)
            if old is None:
                raise OutputError(f"{self.dir} exists and is not a deepdreamer work folder; move it away")
            if resume:
                _check_same(old, manifest, self.dir)
            elif force:
                shutil.rmtree(self.dir)
            else:
                raise OutputError(
                    f"{self.dir} holds the frames of an unfinished run; "
                    "use --resume to continue it or --force to start over"
                )
        if not self.dir.exists():
            _create(self.dir, json.dumps(manifest, indent=1, sort_keys=True).encode())
        self.done = 0
        while self.done < frames and self._path(self.done).exists():
            self.done += 1

    def _path(self, index: int) -> pathlib.Path:
        return self.dir / f"{index:06d}.png"

    def save(self, index: int, frame: np.ndarray) -> None:
        self._save_png(self._path(index), frame)

    def load(self, index: int) -> np.ndarray:
        return self._load_png(self._path(index))

    @staticmethod
    def _save_png(path: pathlib.Path, frame: np.ndarray) -> None:
        write_atomic(path, png_bytes(frame))

    @staticmethod
    def _load_png(path: pathlib.Path) -> np.ndarray:
        try:
            return png_frame(path)
        except OSError as e:
            raise OutputError(f"cannot read the kept frame {path} ({e}); use --force to start over") from None

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _check_same(old: dict, new: dict, where: pathlib.Path) -> None:
    a = {k: v for k, v in old.get("settings", {}).items() if k not in _IGNORED}
    settings = json.loads(json.dumps(new["settings"]))  # tuples read back as lists
    b = {k: v for k, v in settings.items() if k not in _IGNORED}
    a["frames"], b["frames"] = old.get("frames"), new["frames"]
    differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    if differ:
        raise ConfigError(
            f"cannot resume: the frames in {where} were made with different settings "
            f"({', '.join(differ)}); use the same settings, or --force to start over"
        )


def _create(folder: pathlib.Path, manifest: bytes) -> None:
    """The work folder with its manifest, put in place in one rename."""
    with AtomicTarget(folder, directory=True) as target:
        try:
            (target.tmp / _MANIFEST).write_bytes(manifest)
            target.commit(replace=False)  # fsyncs the manifest; never removes another run's folder
        except OSError as e:
            raise write_failed(folder, e) from None
