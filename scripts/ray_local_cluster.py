"""A real Ray cluster of several nodes on this one machine, each on its own loopback address
(127.0.0.2, 127.0.0.3, ...: `ray start` would rewrite 127.0.0.1 to the machine's routable
address), for the tests (tests/ray/conftest.py) and benchmarks/batch.py.

Every node is started with the venv's `ray start` (deepdreamer, installed in that venv, is
importable on each: no runtime_env). Nothing leaves loopback: usage statistics off (and their
report sent to a closed local port), HOME a scratch folder holding `ray_bootstrap_config.yaml`
with `provider: {type: local}` (without it the head asks cloud-metadata addresses what cloud
this is), token authentication on (Ray binds its ports on every interface). Its processes are
found by the cluster's address or scratch folder in their command lines (and their children)
and killed by pid, never by name, so another cluster on this machine is left alone. Every wait
is bounded; a cluster that does not come up raises ClusterError with the end of its logs.

    cluster = LocalCluster.start(nodes=2, cpus=2)   # .address, .env for drivers
    cluster.kill_node(1)                            # SIGKILL the second node, as a power loss
    cluster.stop()

The nodes notice a dead peer in ~3 s (health checks every second, three missed) instead of
Ray's ~15 s, so a lost node is handled quickly."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NODE_IPS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
START_SECONDS = 120  # for one `ray start`
JOIN_SECONDS = 90  # for every node to be seen alive by a driver
STOP_SECONDS = 15  # for killed processes to be gone
OBJECT_STORE_BYTES = 200 * 1024 * 1024  # per node: batches send photos, a few MB each


class ClusterError(RuntimeError):
    """The cluster did not come up (the message ends with its logs)."""


def _ray_command() -> list[str]:
    ray = Path(sys.executable).with_name("ray")
    return [str(ray)] if ray.exists() else [sys.executable, "-m", "ray.scripts.scripts"]


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every process, from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) "
        found[int(entry)] = (int(fields[1]), fields[0], command)
    return found


def _tree(*markers: str, every: bool = False) -> dict[int, str]:
    """pid -> command line of the live processes whose command line holds any of `markers`
    (all of them with `every`): a node's raylet, GCS, monitors; and of their descendants
    (workers and agents, whose titles are `ray::...`)."""
    table = {pid: info for pid, info in _processes().items() if info[1] != "Z"}
    test = all if every else any
    found = {pid for pid, (_, _, command) in table.items() if test(m in command for m in markers)}
    while True:
        children = {pid for pid, (parent, _, _) in table.items() if parent in found} - found
        if not children:
            return {pid: table[pid][2] for pid in found}
        found |= children


def _kill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class LocalCluster:
    address: str  # HEAD:PORT, for --ray-address or ray.init(address=...)
    env: dict  # the environment a driver needs (the cluster's token, no usage statistics)
    root: Path  # scratch: the nodes' HOME and temp dirs
    node_env: dict = field(repr=False, default_factory=dict)
    nodes: int = 0

    @classmethod
    def start(cls, nodes: int = 2, cpus: int = 2) -> "LocalCluster":
        """`nodes` nodes of `cpus` CPUs each, the head on 127.0.0.2, the others on .3, .4, ..."""
        if not 1 <= nodes <= len(NODE_IPS):
            raise ValueError(f"1 to {len(NODE_IPS)} nodes")
        # short: Ray's unix sockets live under the temp dirs, and a socket path has 107 bytes at most
        root = Path(tempfile.mkdtemp(prefix="ddray-", dir="/tmp"))
        home = root / "home"
        home.mkdir()
        (home / "ray_bootstrap_config.yaml").write_text("provider: {type: local}\n")
        driver_env = dict(os.environ)
        for name in ("RAY_ADDRESS", "RAY_AUTH_TOKEN_PATH"):
            driver_env.pop(name, None)
        driver_env.update({
            "RAY_USAGE_STATS_ENABLED": "0",
            # `ray start` reports "usage stats disabled" to Ray's server even so: here, to nothing
            "RAY_USAGE_STATS_REPORT_URL": "http://127.0.0.1:9/",
            "RAY_AUTH_MODE": "token",  # the nodes' ports are bound on every interface
            "RAY_AUTH_TOKEN": secrets.token_hex(32),
        })
        node_env = dict(driver_env, HOME=str(home),
                        RAY_health_check_period_ms="1000", RAY_health_check_failure_threshold="3")
        port = _free_port(NODE_IPS[0])
        cluster = cls(f"{NODE_IPS[0]}:{port}", driver_env, root, node_env, nodes)
        common = [f"--num-cpus={cpus}", f"--object-store-memory={OBJECT_STORE_BYTES}", "--disable-usage-stats"]
        try:
            cluster._ray_start(["--head", f"--node-ip-address={NODE_IPS[0]}", f"--port={port}",
                                "--include-dashboard=false", f"--temp-dir={root / 'n0'}", *common])
            for i in range(1, nodes):
                cluster._ray_start([f"--address={cluster.address}", f"--node-ip-address={NODE_IPS[i]}",
                                    f"--temp-dir={root / f'n{i}'}", *common])
            cluster._wait_for_nodes()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def node_processes(self, index: int) -> dict[int, str]:
        """pid -> command line (or `ray::...` title) of a node's live processes (not the head:
        index >= 1): its raylet and log monitor name this cluster's GCS and the node's address."""
        return _tree(f"--gcs-address={self.address}", f"--node-ip-address={NODE_IPS[index]}", every=True)

    def kill_node(self, index: int) -> dict[int, str]:
        """SIGKILL every process of a node (raylet, object store, workers, agents) at once, as a
        machine that loses power; returns what was killed (pid -> title)."""
        victims = self.node_processes(index)
        _kill(victims)
        return victims

    def stop(self) -> None:
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline:
            left = _tree(f"--gcs-address={self.address}", str(self.root))  # the GCS: by its log paths
            if not left:
                break
            _kill(left)
            time.sleep(0.2)
        shutil.rmtree(self.root, ignore_errors=True)

    def logs(self, lines: int = 20) -> str:
        """The end of the nodes' error logs, for a failure message."""
        out = []
        for path in sorted(self.root.glob("*/session_*/logs/*.err")) + sorted(self.root.glob("*/session_*/logs/raylet.out")):
            text = path.read_text(errors="replace").strip().splitlines()[-lines:]
            if text:
                out.append(f"--- {path.relative_to(self.root)}\n" + "\n".join(text))
        return "\n".join(out)

    def _ray_start(self, args: list[str]) -> None:
        try:
            done = subprocess.run(_ray_command() + ["start", *args], env=self.node_env, capture_output=True,
                                  text=True, timeout=START_SECONDS, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ClusterError(f"ray start {args[0]} took over {START_SECONDS} s\n{self.logs()}") from None
        if done.returncode != 0:
            raise ClusterError(f"ray start {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}\n{self.logs()}")

    def _wait_for_nodes(self) -> None:
        """Until a driver sees every node alive (a node is in the cluster's tables a moment
        after its `ray start` returns). In a subprocess: no Ray state in the caller."""
        script = (
            "import sys, time, ray\n"
            "ray.init(address=sys.argv[1], include_dashboard=False, log_to_driver=False, logging_level='ERROR')\n"
            "deadline = time.monotonic() + float(sys.argv[3])\n"
            "while sum(n['Alive'] for n in ray.nodes()) < int(sys.argv[2]) and time.monotonic() < deadline:\n"
            "    time.sleep(0.3)\n"
            "print(sum(n['Alive'] for n in ray.nodes()))\n"
        )
        try:
            done = subprocess.run([sys.executable, "-c", script, self.address, str(self.nodes), str(JOIN_SECONDS - 30)],
                                  env=self.env, capture_output=True, text=True, timeout=JOIN_SECONDS,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ClusterError(f"no driver could join {self.address} in {JOIN_SECONDS} s\n{self.logs()}") from None
        alive = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
        if alive != [str(self.nodes)]:
            raise ClusterError(f"the cluster has {alive or '?'} live nodes, not {self.nodes}:\n"
                               f"{done.stderr[-3000:]}\n{self.logs()}")
