"""The channel-list syntax every spec shares: `3,7,12-15` (ranges inclusive, duplicates dropped,
order kept). Objective specs (`blocks.5:3,7`), `--channels` and `--sheet` all read it here."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError

__all__ = ["CHANNEL_LIST", "parse_channel_numbers"]

CHANNEL_LIST = r"\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*"  # a regex fragment for the grammars using it
# No layer has this many channels; a bigger number or range is a typo, refused before a list
# of that length is made (found by fuzzing: '54770-5555...' raised OverflowError)
MAX_CHANNEL = 1 << 20


def parse_channel_numbers(text: str, fail: Callable[[str], Exception] | None = None) -> list[int]:
    """'3,7,12-15' -> [3, 7, 12, 13, 14, 15]. `text` must already match CHANNEL_LIST; `fail`
    turns what is wrong ("range 15-12 runs backwards") into the caller's own error."""
    out: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        lo, hi = int(first), int(last or first)
        why = None
        if hi < lo:
            why = f"range {part} runs backwards"
        elif hi >= MAX_CHANNEL or len(out) + hi - lo >= MAX_CHANNEL:
            why = f"{part} is more channels than any layer has"
        if why:
            raise fail(why) if fail else ConfigError(f"channel {why}")
        out.extend(range(lo, hi + 1))
    return list(dict.fromkeys(out))
