"""Batch jobs: a folder (or files, or globs) of photos dreamed with one set of settings, on
worker processes here or on a Ray cluster, resumable, each output written once and atomically.
See run.py for the flow, item.py for the item function every backend runs."""

from .items import BatchItem, collect_items, item_seed
from .outcome import Done, Failed, ItemProgress
from .run import BatchStarted, BatchSummary, ItemFinished, run_batch

__all__ = [
    "BatchItem",
    "BatchStarted",
    "BatchSummary",
    "Done",
    "Failed",
    "ItemFinished",
    "ItemProgress",
    "collect_items",
    "item_seed",
    "run_batch",
]
