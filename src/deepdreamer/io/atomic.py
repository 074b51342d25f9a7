"""Writing an output so that a failure or a kill never leaves half of it: the one routine behind
every file deepdreamer writes (images, a run's kept frames, videos, GIFs, folders of frames).

The way SQLite and git do it: write a temporary file (or folder) next to the target, fsync it,
then rename it over the target. A rename within one directory is atomic, so the target is
always either the old output or the complete new one, and the temporary is removed on any
failure. Outputs get mode 0644 (folders 0755) like any image, not mkstemp's private 0600.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
from collections.abc import Callable
from typing import BinaryIO, Union

from deepdreamer.errors import OutputError

__all__ = ["AtomicTarget", "write_atomic", "write_failed"]

PathLike = Union[str, "os.PathLike[str]"]


def write_failed(path: PathLike, exc: BaseException) -> OutputError:
    """The one-line OutputError for a write that failed: an OSError's own reason ('No space
    left on device'), else the exception's text, first line only."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return OutputError(f"cannot write {path}: {reason}".splitlines()[0])


class AtomicTarget:
    """A temporary file (or, with `directory`, folder) `.tmp` beside `path`, named
    '.NAME.XXXX.tmp' so it is hidden and clearly ours. Write into `.tmp`, then `commit()` puts
    it in place; `abort()`, or leaving a `with` block with an exception, removes it.
    An OSError while creating it becomes OutputError 'cannot write PATH: reason'."""

    def __init__(self, path: PathLike, directory: bool = False) -> None:
        self.path = pathlib.Path(path)
        self.directory = directory
        self._done = False
        where = dict(dir=self.path.parent, prefix="." + self.path.name + ".", suffix=".tmp")
        try:
            if directory:
                self.tmp = pathlib.Path(tempfile.mkdtemp(**where))
            else:
                fd, tmp = tempfile.mkstemp(**where)
                os.close(fd)  # writers reopen it by name (PIL, PyAV and plain open alike)
                self.tmp = pathlib.Path(tmp)
        except OSError as e:
            raise write_failed(self.path, e) from None

    def commit(self, replace: bool = True) -> pathlib.Path:
        """fsync the file (a folder: each file in it), set the mode and rename it over `path`.
        A folder cannot be renamed over a non-empty one, so an existing `path` is removed first:
        the caller has checked that it may be (--force, and only a folder of our own frames).
        `replace=False` (folders only; a file is always replaced, as rename does) keeps what is
        there instead, and the rename fails if something was made there meanwhile."""
        if self.directory:
            for entry in os.scandir(self.tmp):
                if entry.is_file(follow_symlinks=False):
                    _fsync(entry.path)
            os.chmod(self.tmp, 0o755)
            if replace and self.path.exists():
                shutil.rmtree(self.path)
        else:
            _fsync(self.tmp)
            os.chmod(self.tmp, 0o644)
        os.replace(self.tmp, self.path)
        self._done = True
        return self.path

    def abort(self) -> None:
        """Remove the temporary; safe to call twice, and a no-op after commit()."""
        if self._done:
            return
        self._done = True
        if self.directory:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass

    def __enter__(self) -> "AtomicTarget":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def _fsync(path: PathLike) -> None:
    """Its data on the disk before the rename makes it visible (fsync is per file, whichever
    descriptor asks, so the writer's own may already be closed)."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def write_atomic(path: PathLike, data: bytes | Callable[[BinaryIO], object]) -> pathlib.Path:
    """Write `data` (bytes, or a function that writes into the open binary file) to `path`
    atomically. Any failure leaves `path` as it was and no temporary behind; an OSError or
    ValueError (PIL's way of refusing an image) becomes a one-line OutputError."""
    path = pathlib.Path(path)
    with AtomicTarget(path) as target:
        try:
            with open(target.tmp, "wb") as f:
                if callable(data):
                    data(f)
                else:
                    f.write(data)
            return target.commit()
        except (OSError, ValueError) as e:
            raise write_failed(path, e) from None
