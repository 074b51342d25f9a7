"""The exceptions deepdreamer raises for problems a user can fix.

Every message is one line that says what was expected and what was found, so the CLI can print
it as-is and exit non-zero without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "DeepDreamerError",
    "UnknownNameError",
    "ModelUnavailableError",
    "InputImageError",
    "NotAnImageError",
    "ImageTooLargeError",
    "InputVideoError",
    "OutputError",
    "ConfigError",
    "DreamCancelled",
    "InsufficientMemoryError",
    "suggest",
    "failure_line",
]


class DeepDreamerError(Exception):
    """Base class: a problem with what the user asked for, reported in one line."""


class UnknownNameError(DeepDreamerError, KeyError):
    """A model, layer, class or preset name that does not exist."""

    def __init__(self, kind: str, name: str, choices: Iterable[str], where: str = "") -> None:
        self.kind, self.name = kind, name
        self.choices = sorted(set(choices))
        close = suggest(name, self.choices)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}{where}{hint}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class ModelUnavailableError(DeepDreamerError):
    """The model's weights cannot be had (offline, missing file, wrong state dict)."""


class InputImageError(DeepDreamerError):
    """An input image that cannot be read or used."""


class NotAnImageError(InputImageError):
    """Data that is no image format deepdreamer reads (a web server answers 415)."""


class ImageTooLargeError(InputImageError):
    """An image past the pixel safety limit: a decompression bomb (a web server answers 413)."""


class InputVideoError(DeepDreamerError):
    """An input video that cannot be read or used (no video stream, corrupt, no frames)."""


class OutputError(DeepDreamerError):
    """An output that cannot be written, or would overwrite something without --force."""


class ConfigError(DeepDreamerError, ValueError):
    """A setting outside its valid range, or settings that do not go together."""


class DreamCancelled(DeepDreamerError):
    """The progress callback asked to stop the run."""


class InsufficientMemoryError(DeepDreamerError, MemoryError):
    """A dream that would not fit in the memory available, found before it starts."""


def suggest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The closest valid names, as click does for a mistyped option."""
    choices = list(choices)
    close = difflib.get_close_matches(name, choices, n=n, cutoff=0.5)
    if not close:  # a prefix such as 'blocks' for 'blocks.5' still deserves a hint
        close = [c for c in choices if c.startswith(name) or name.startswith(c)][:n]
    return close


def failure_line(exc: BaseException) -> str:
    """One line for an error caught where a traceback must not reach the user (a worker's):
    a DeepDreamerError's own message, anything else named as the internal error it is."""
    if isinstance(exc, DeepDreamerError):
        return str(exc)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"internal error ({type(exc).__name__}: {text})"
