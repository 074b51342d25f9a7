"""`deepdreamer serve` against the Python API: how soon the first preview comes, and what the
server adds to a whole dream.

    PYTHONPATH=src python benchmarks/server.py
    PYTHONPATH=src python benchmarks/server.py --rounds 5 --repeats 5 --settings '{"seed": 0, "steps": 5}'

The work: the sample photo (src/deepdreamer/data/chelsea.jpg) resized to 600x450 with Pillow
and sent as a PNG upload (lossless, so both sides dream the very same pixels), the default dream
settings with seed 0.

1. First preview: the real server (`python -m deepdreamer serve` on a free loopback port, a
   temporary results folder) gets the upload; the time from before the POST to the first
   `preview` event on the job's SSE stream (read with httpx). After one cold job, `--repeats`
   warm ones, each cancelled once its preview came. Goal: under 1 s.
2. Overhead: one whole dream through the server (before the POST to the `done` event: upload,
   decoding, checks, queue, dream, previews, the result stored in the gallery, the stream; the
   client takes every preview the stream announces, as the page would at most: inline when
   the event carries it, else fetched from its url)
   against the same dream through the Python API in a worker process, from the same PNG file to
   a result file: decode the photo, `dd.dream(photo, model, **settings)`, write the result with
   the writer the server uses (settings embedded, fast PNG, atomic). Like for like: both sides
   start from the photo's bytes and end with the result on disk. The dd.dream call alone is
   timed and reported too. (tune_malloc() first in the worker, as the CLI that runs the server
   does; same torch threads, same settings and seed.) Each side warmed up once; then
   `--repeats` pairs, the order alternating within a pair; medians over `--rounds` rounds,
   each with a fresh server and API worker (one process runs the same dream a few per cent
   faster or slower than another for its whole life). Goal: under 5%.

Prints the numbers and a verdict per goal; exits 0 either way (a measurement, not a test).
Writes nothing outside a temporary folder.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "src" / "deepdreamer" / "data" / "chelsea.jpg"
HOST = "127.0.0.1"
SIZE = (600, 450)
PREVIEW_GOAL = 1.0  # seconds, submit to first preview
OVERHEAD_GOAL = 5.0  # per cent, server over the Python API for the whole dream
TIMEOUT = 300.0  # any one HTTP exchange or dream; a hung server ends the benchmark, not waits


def environment() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    return env


def make_photo(path: Path) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(PHOTO).convert("RGB").resize(SIZE, Image.LANCZOS).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# The Python API side: a worker process that dreams on request (one JSON line in, one out)


def api_worker(photo_path: str) -> None:
    from deepdreamer.cli._common import tune_malloc

    tune_malloc()  # what the CLI does at start, and so the server process too

    import torch
    from PIL import Image

    import deepdreamer as dd
    from deepdreamer.io import save_image

    model = dd.load_model()
    print(json.dumps({"ready": True, "threads": torch.get_num_threads()}), flush=True)
    with tempfile.TemporaryDirectory(prefix="deepdreamer-bench-api-") as scratch:
        for number, line in enumerate(sys.stdin):
            job = json.loads(line)
            cpu, start = time.process_time(), time.perf_counter()
            photo = Image.open(photo_path)
            photo.load()
            begun = time.perf_counter()
            out = dd.dream(photo, model, **job["settings"])
            dreamt = time.perf_counter()
            # the server's writer for its result (settings embedded, fast PNG, atomic)
            save_image(out, job.get("out") or Path(scratch) / f"{number}.png",
                       settings=out.info["deepdreamer"], fast=True, force=True)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            print(json.dumps({"seconds": seconds, "dream": dreamt - begun, "cpu": cpu}), flush=True)


class ApiWorker:
    def __init__(self, photo_path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--api-worker", str(photo_path)], env=environment(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT),
        )
        self.info = self._answer()

    def _answer(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the API worker stopped (exit code {self.proc.wait()})")
        return json.loads(line)

    def dream(self, settings: dict, out: Path | None = None) -> dict:
        """{"seconds", "dream", "cpu"}: the wall seconds from the photo's file to the result's
        file, of the dd.dream call alone, and the CPU seconds (every thread) of the whole."""
        self.proc.stdin.write(json.dumps({"settings": settings, "out": str(out) if out else None}) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---------------------------------------------------------------------------------------------
# The server side


def take_preview(client, data: dict) -> bytes:
    """A preview's JPEG as the page takes it: inline (a batch's newest preview carries it as a
    data: URL), else fetched from its url."""
    import base64

    if data.get("image"):
        return base64.b64decode(data["image"].partition(",")[2])
    answer = client.get(data["url"])
    answer.raise_for_status()
    return answer.content


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far, every thread (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_pressure() -> str:
    """The share of the last minute some runnable task waited for a CPU (Linux PSI)."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return dict(kv.split("=") for kv in line.split()[1:])["avg60"] + "%"
    except (OSError, KeyError, IndexError, ValueError):
        return "n/a"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, results: Path, log: Path) -> None:
        import httpx

        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self._log = open(log, "wb")
        self.log_path = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deepdreamer", "serve", "--host", HOST, "--port", str(self.port),
             "--results", str(results), "--queue", "8"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment(), cwd=str(ROOT),
        )
        # trust_env=False: straight to loopback, never through a proxy from the environment
        self.client = httpx.Client(base_url=self.base, timeout=httpx.Timeout(TIMEOUT, connect=10.0), trust_env=False)

    def wait_up(self, seconds: float) -> float:
        import httpx

        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode}): {self.log_path.read_text()[-2000:]}")
            try:
                if self.client.get("/", timeout=2.0).status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the server did not answer within {seconds:.0f} s: {self.log_path.read_text()[-2000:]}")

    def run(self, photo: bytes, settings: dict, until: str) -> dict:
        """Submit and read the event stream until `until` (preview or done); the seconds from
        before the POST to the 202 and to that event. A job stopped at its preview is
        cancelled, and its stream read to the end, before this returns."""
        cpu, start = cpu_seconds(self.proc.pid), time.perf_counter()
        answer = self.client.post("/api/jobs", files={"image": ("photo.png", photo, "image/png")},
                                  data={"mode": "dream", "settings": json.dumps(settings)})
        accepted = time.perf_counter() - start
        if answer.status_code != 202:
            raise SystemExit(f"POST /api/jobs -> {answer.status_code} {answer.text}")
        job_id = answer.json()["id"]
        reached = last = dreaming = None
        preview_due = False
        with self.client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and last == "progress":
                    dreaming = json.loads(line[len("data:"):])["elapsed"]  # the job's own clock
                if line.startswith("data:") and preview_due:
                    preview_due = False
                    take_preview(self.client, json.loads(line[len("data:"):]))
                if not line.startswith("event:"):
                    continue
                last = line[len("event:"):].strip()
                if last == "preview" and until == "done":
                    preview_due = True  # its data line (next) names it: fetched as the page does
                if last == until and reached is None:
                    reached = time.perf_counter() - start
                    if until != "done":
                        self.client.post(f"/api/jobs/{job_id}/cancel")
                if last in ("done", "cancelled", "error"):
                    break
        if reached is None:
            status = self.client.get(f"/api/jobs/{job_id}").json()
            raise SystemExit(f"job {job_id} ended with {last!r} before any {until!r}: {status.get('error')}")
        return {"id": job_id, "accepted": accepted, "seconds": reached, "dreaming": dreaming,
                "cpu": cpu_seconds(self.proc.pid) - cpu}

    def result_file(self, job_id: str) -> bytes:
        return self.client.get(f"/api/results/{job_id}/file").content

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


# ---------------------------------------------------------------------------------------------
# The driver


def same_pixels(a: bytes, b_path: Path) -> str:
    import numpy as np
    from PIL import Image

    x = np.asarray(Image.open(io.BytesIO(a)).convert("RGB"), dtype=np.int16)
    y = np.asarray(Image.open(b_path).convert("RGB"), dtype=np.int16)
    if x.shape != y.shape:
        return f"no: sizes differ ({x.shape[1]}x{x.shape[0]} vs {y.shape[1]}x{y.shape[0]})"
    diff = int(np.abs(x - y).max())
    return "yes, identical" if diff == 0 else f"no: max difference {diff}/255"


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--settings", default='{"seed": 0}', help="the dream's settings, JSON (the API's keywords)")
    p.add_argument("--repeats", type=int, default=7, help="warm first-preview runs, and server/API pairs a round")
    p.add_argument("--rounds", type=int, default=3, help="rounds, each with a fresh server and API process")
    p.add_argument("--startup", type=float, default=120.0, help="seconds to wait for the server to answer")
    p.add_argument("--api-worker", metavar="PHOTO", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.api_worker:
        return api_worker(args.api_worker)

    settings = json.loads(args.settings)
    load_before, pressure_before = os.getloadavg(), cpu_pressure()
    served, direct, dream_only, loop, served_cpu, direct_cpu, rounds = [], [], [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="deepdreamer-bench-server-") as tmp:
        tmp = Path(tmp)
        photo = make_photo(tmp / "photo.png")
        for number in range(1, args.rounds + 1):
            # Fresh processes each round: one process runs the same dream up to ~3% faster or
            # slower than another for its whole life (measured here), more than the goal's margin.
            server = Server(tmp / f"results-{number}", tmp / "server.log")
            worker = None
            try:
                startup = server.wait_up(args.startup)
                print(f"round {number}: server up in {startup:.1f} s on {server.base}", flush=True)
                if number == 1:
                    # 1. Submit to first preview: one cold job, then warm ones.
                    cold = server.run(photo, settings, "preview")
                    previews = []
                    for i in range(args.repeats):
                        previews.append(server.run(photo, settings, "preview"))
                        print(f"preview {i + 1}: {previews[-1]['seconds']:.3f} s", flush=True)

                # 2. The whole dream: server vs the Python API, both warmed up once, order alternating.
                worker = ApiWorker(tmp / "photo.png")
                server_warm = server.run(photo, settings, "done")
                api_warm = worker.dream(settings, tmp / "api.png")
                if number == 1:
                    identical = same_pixels(server.result_file(server_warm["id"]), tmp / "api.png")
                print(f"warm-up: server {server_warm['seconds']:.2f} s, API {api_warm['seconds']:.2f} s", flush=True)
                this_round = []
                for i in range(args.repeats):
                    for side in (("server", "api") if i % 2 == 0 else ("api", "server")):
                        if side == "server":
                            run = server.run(photo, settings, "done")
                            served.append(run["seconds"])
                            loop.append(run["dreaming"])
                            served_cpu.append(run["cpu"])
                        else:
                            run = worker.dream(settings)
                            direct.append(run["seconds"])
                            dream_only.append(run["dream"])
                            direct_cpu.append(run["cpu"])
                    this_round.append(served[-1] / direct[-1])
                    print(f"pair {i + 1}: server {served[-1]:.2f} s, API {direct[-1]:.2f} s", flush=True)
                rounds.append((median(this_round) - 1) * 100)
            finally:
                if worker is not None:
                    worker.close()
                server.stop()
    load_after, pressure_after = os.getloadavg(), cpu_pressure()

    times = [r["seconds"] for r in previews]
    posts = [r["accepted"] for r in previews]
    overhead = (median(served) / median(direct) - 1) * 100
    paired = median([(s / d - 1) * 100 for s, d in zip(served, direct)])
    shown = json.dumps(settings)
    lines = [
        "",
        f"Work: {PHOTO.name} resized to {SIZE[0]}x{SIZE[1]} (PNG upload), dream settings {shown} "
        f"(the rest default); {worker.info['threads']} torch threads on each side. "
        f"Load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after; CPU pressure "
        f"(tasks waiting for a CPU, last minute) {pressure_before} before, {pressure_after} after.",
        "",
        "| measure | median s | worst s | best s | runs |",
        "|---|---|---|---|---|",
        f"| submit -> 202 (upload, decode, checks) | {median(posts):.3f} | {max(posts):.3f} | {min(posts):.3f} | {len(posts)} |",
        f"| submit -> first preview | {median(times):.3f} | {max(times):.3f} | {min(times):.3f} | {len(times)} |",
        f"| submit -> first preview, cold (first job) | {cold['seconds']:.3f} | - | - | 1 |",
        f"| whole dream, server (POST -> done) | {median(served):.2f} | {max(served):.2f} | {min(served):.2f} | {len(served)} |",
        f"| of which the dream loop on the server's worker (its last progress `elapsed`) | {median(loop):.2f} | {max(loop):.2f} | {min(loop):.2f} | {len(loop)} |",
        f"| whole dream, Python API (PNG file -> dd.dream -> PNG file) | {median(direct):.2f} | {max(direct):.2f} | {min(direct):.2f} | {len(direct)} |",
        f"| of which the dd.dream call | {median(dream_only):.2f} | {max(dream_only):.2f} | {min(dream_only):.2f} | {len(dream_only)} |",
        "",
        f"CPU time per dream (every thread of the process; less sensitive to a busy machine than wall "
        f"time): server {median(served_cpu):.2f} s, API {median(direct_cpu):.2f} s "
        f"({(median(served_cpu) / median(direct_cpu) - 1) * 100:+.1f}%).",
        f"Server overhead: {overhead:+.1f}% (medians); {paired:+.1f}% (median of the {len(served)} pairs); "
        f"by round (a fresh pair of processes each): {', '.join(f'{r:+.1f}%' for r in rounds)}. "
        f"Against the dd.dream call alone (no decoding, no file written): "
        f"{(median(served) / median(dream_only) - 1) * 100:+.1f}%. "
        f"The server's dream loop against the dd.dream call: {(median(loop) / median(dream_only) - 1) * 100:+.1f}%; "
        f"the rest of the server's time (upload, checks, queue, storing the result, the stream): "
        f"{median([s - d for s, d in zip(served, loop)]):.3f} s; of the API's (decoding, writing): "
        f"{median([s - d for s, d in zip(direct, dream_only)]):.3f} s. "
        f"Same pixels from both: {identical}.",
        "",
        f"goal first preview < {PREVIEW_GOAL:g} s: {'met' if max(times) < PREVIEW_GOAL else 'NOT met'} "
        f"(median {median(times):.3f} s, worst {max(times):.3f} s over {len(times)} warm runs; cold {cold['seconds']:.3f} s)",
        f"goal server overhead < {OVERHEAD_GOAL:g}%: {'met' if overhead < OVERHEAD_GOAL else 'NOT met'} "
        f"({overhead:+.1f}%: {median(served):.2f} s vs {median(direct):.2f} s)",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
