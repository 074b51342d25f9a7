"""May this output be written? Checked before a long dream or run, so a bad output path fails at
once instead of after the work, and checked the same way for images, videos and frame folders.
The kind of output (its suffix, what it may replace) is the caller's: io.images.check_output_path
and motion.output.check_video_output are thin wrappers around check_output_target."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterable
from typing import Union

from deepdreamer.errors import OutputError

__all__ = ["check_output_target", "check_directory_writable", "refuse_directory"]

PathLike = Union[str, "os.PathLike[str]"]


def refuse_directory(path: pathlib.Path) -> None:
    """A file output cannot replace a directory, --force or not."""
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory")


def check_directory_writable(path: pathlib.Path) -> None:
    """The directory an output goes into must exist and be writable (checked before work)."""
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {path}: the directory {parent} is not writable")


def check_output_target(
    path: PathLike,
    force: bool = False,
    protect: Iterable[PathLike] = (),
    *,
    force_overwrites_input: bool = False,
    replaceable: Callable[[pathlib.Path], None] = refuse_directory,
) -> pathlib.Path:
    """Raise OutputError unless `path` can be written; returns it as a Path.

    `protect` are the inputs: never overwritten, unless `force_overwrites_input` and `force`
    (an image is read whole before its dream is written; a video is read while it is written).
    An existing `path` needs `force`, and then `replaceable(path)` raises if this kind of output
    must not replace what is there (default: a file output cannot replace a directory)."""
    path = pathlib.Path(path)
    if not (force and force_overwrites_input) and _is_one_of(path, protect):
        raise OutputError(f"refusing to overwrite the input {path}")
    if path.exists():
        if not force:
            raise OutputError(f"{path} exists; use --force to overwrite it")
        replaceable(path)
    check_directory_writable(path)
    return path


def _is_one_of(path: pathlib.Path, others: Iterable[PathLike]) -> bool:
    """The same file by resolved path (so ./in.png is in.png, and a symlink its target)."""
    return any(path.resolve() == pathlib.Path(p).resolve() for p in others)
