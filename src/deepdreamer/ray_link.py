"""Starting or joining a Ray cluster, for every backend that runs on Ray (a batch's items, a
video's chunks): the settings Ray must have before it starts, the one-line errors, and the
quick check that an address is reachable at all.

Ray is optional (`pip install 'deepdreamer[ray]'`) and imported only when a backend uses it."""

from __future__ import annotations

import logging
import os
import socket

from .errors import DeepDreamerError, failure_line

__all__ = ["NEEDS_RAY", "RAY_DEFAULTS", "connect", "import_ray", "ray_error"]

NEEDS_RAY = "the ray backend needs Ray: pip install 'deepdreamer[ray]'"
REACH_SECONDS = 5.0  # to open a TCP connection to the cluster's address before joining it

# Ray settings a driver sets unless the environment already does (Ray reads them at init).
RAY_DEFAULTS = {
    "RAY_USAGE_STATS_ENABLED": "0",  # a run reports nothing to Ray's usage statistics
    # Ray notices a dead node only after ~15 s of missed health checks; until then each call to
    # an actor there fails as "unavailable" and is retried after 0.1 s, 0.2 s, ... by default,
    # so two retries would be used up long before Ray restarted the actor elsewhere. Retried
    # after 8 s then 16 s, two retries span ~24 s. (A worker that dies on a live node is
    # reported at once and its calls wait for the restart: no delay there.)
    "RAY_task_actor_unavailable_retry_delay_base_ms": "8000",
    "RAY_task_actor_unavailable_retry_max_delay_ms": "30000",
    # no multi-line "will be retried" report on the driver's stderr: a retried call that then
    # succeeds is no news, one that fails is reported in one line
    "RAY_enable_output_error_log_if_still_retry": "0",
}


def import_ray():
    try:
        import ray
    except ImportError:
        raise DeepDreamerError(NEEDS_RAY) from None
    return ray


def ray_error(exc: BaseException) -> str:
    """One short line for a Ray error (their str is a traceback or a multi-line report)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return failure_line(cause)
    if isinstance(exc, import_ray().exceptions.RayActorError):
        return type(exc).__name__  # the rest is actor ids and RPC codes
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:200]}" if lines else type(exc).__name__


def connect(ray, address: str | None, cpus: int | None = None) -> bool:
    """Join the cluster at `address`, or start a local one (with `cpus` CPUs, or all of this
    machine's); False if Ray was already initialised in this process (the caller's: used as it
    is, and left running)."""
    if ray.is_initialized():
        return False
    for name, value in RAY_DEFAULTS.items():
        os.environ.setdefault(name, value)
    options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    # a new local cluster turns Ray's token authentication on and says so on stderr each time:
    # it lives for this run only, so that notice is noise here
    auth_log = logging.getLogger("ray._private.authentication.authentication_token_setup")
    level = auth_log.level
    try:
        if address is None:
            auth_log.setLevel(logging.ERROR)
            # "local": a new cluster even when `ray start` left one running on this machine
            ray.init(address="local", num_cpus=cpus, **options)
        else:
            _reachable(address)
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise DeepDreamerError(f"cannot start or join {where}: {ray_error(exc)}") from None
    finally:
        auth_log.setLevel(level)
    return True


def _reachable(address: str) -> None:
    """Fail at once on a HOST:PORT nothing listens on: ray.init would try for ~12 minutes."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return  # "auto", ray://...: Ray's own resolution
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_SECONDS).close()
    except OSError as exc:
        raise DeepDreamerError(f"cannot reach the Ray cluster at {address}: "
                               f"{exc.strerror or type(exc).__name__}") from None
