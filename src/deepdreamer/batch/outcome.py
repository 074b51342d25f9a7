"""What a backend reports for each item, the same for every backend: the item is done (with its
encoded output) or failed (one line), after how many attempts; and, while it dreams, how far."""

from __future__ import annotations

from dataclasses import dataclass

from .item import ItemOutput

__all__ = ["Done", "Failed", "ItemProgress", "Outcome"]


@dataclass(frozen=True)
class Done:
    rel: str
    output: ItemOutput
    attempts: int


@dataclass(frozen=True)
class Failed:
    rel: str
    error: str  # one line
    attempts: int


@dataclass(frozen=True)
class ItemProgress:
    rel: str
    done: int  # dream steps done
    total: int


Outcome = Done | Failed
