"""Where the server runs torch: on its job workers, and anywhere else only on a thread that ends
with the work.

PyTorch on Linux parallelises with libgomp, which gives every thread that ever runs a parallel
op its own team of helper threads, kept until that thread exits. Once libgomp manages more
threads than there are CPUs it stops spinning at its barriers and sleeps on a futex instead, at
every op. A dream on the worker thread then ran 1.6x slower here (1.19 s -> 1.95 s at 600x450,
about 15,500 sleeps a dream against none) as soon as any other long-lived thread (the event
loop, a request thread of the pool) had touched torch once. A team dies with its thread, so
loading a model, checking a request or drawing a layer guide on a fresh thread leaves the
worker's team the only one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["on_own_thread"]

T = TypeVar("T")


def on_own_thread(fn: Callable[..., T], *args, **kwargs) -> T:
    """`fn(*args, **kwargs)` on a new thread, waited for: its result, or its exception raised
    here. Blocks the caller (from async code, call it through run_in_threadpool)."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller, who re-raises it
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="deepdreamer-torch", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
