"""`ray_cluster`: a real two-node Ray cluster on this machine (scripts/ray_local_cluster.py: head
on 127.0.0.2, second node on 127.0.0.3, 2 CPUs each, loopback only), new for each test (a test
may kill the second node) and torn down after it whatever happened.

Use it from a driver in a subprocess (a hung driver is killed by its timeout; Ray's state stays
out of the pytest process):

    def test_x(ray_cluster):
        run([..., "--ray-address", ray_cluster.address], env=ray_cluster.env, timeout=...)
        ray_cluster.kill_node(1)  # SIGKILL the second node's raylet, workers and agents

No tests/ray/__init__.py: with one, pytest would import this folder as a package named `ray`
and shadow the real one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from ray_local_cluster import ClusterError, LocalCluster  # noqa: E402


@pytest.fixture
def ray_cluster():
    """A two-node LocalCluster: `.address`, `.env` for drivers, `.kill_node(1)`,
    `.node_processes(1)`, `.logs()`."""
    try:
        cluster = LocalCluster.start(nodes=2, cpus=2)
    except ClusterError as exc:
        pytest.fail(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()
