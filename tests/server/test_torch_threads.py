"""The server runs torch only on its job workers (and on threads that end with the work), so the
worker's OpenMP team is the only one: see server/compute.py for why a second, long-lived team
made every dream ~1.6x slower.

It runs in a fresh interpreter: pytest's own thread has run torch already (other tests' models),
and that thread's team lives as long as the process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, threading
    import torch
    from fastapi.testclient import TestClient
    sys.path.insert(0, sys.argv[2])
    from helpers import QUICK, run_to_end
    from deepdreamer import DreamConfig
    from deepdreamer.server import ServeConfig, create_app

    MODEL = DreamConfig.model

    def foreign_threads():
        # OS threads that Python did not start: OpenMP helpers, and what libraries start on import
        return len(os.listdir("/proc/self/task")) - len(threading.enumerate())

    before = foreign_threads()

    # no model passed in: the server loads its own, as `deepdreamer serve` does
    with TestClient(create_app(ServeConfig(results=sys.argv[1]))) as client:
        _, log = run_to_end(client, QUICK)                      # a dream: checked, then run
        layer = client.get(f"/api/models/{MODEL}/layers").json()["layers"][0]["name"]
        picture = client.get(f"/api/models/{MODEL}/layers/{layer}/guide.jpg")  # drawn: torch
        bad = client.post("/api/jobs", data={"sample": "true",                  # checked: torch
                                             "settings": json.dumps(dict(QUICK, layers=[["blocks.9", 1.0]]))})
        _, again = run_to_end(client, QUICK)                    # a second job on the same worker
        report = {
            "kinds": [log[-1][1], again[-1][1]], "guide": picture.status_code, "bad": bad.status_code,
            "foreign": foreign_threads() - before,  # the OpenMP helpers, whichever team they serve
            "torch_threads": torch.get_num_threads(),
        }
    print(json.dumps(report))
    """
)


def test_only_the_worker_keeps_an_openmp_team(tmp_path):
    helpers = str(Path(__file__).parent)
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "results"), helpers],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["kinds"] == ["done", "done"] and report["guide"] == 200 and report["bad"] == 400
    # One team: the worker's thread plus torch_threads - 1 helpers. A model loaded, a request
    # checked or a layer guide drawn on a long-lived thread would add one more helper team.
    assert report["foreign"] == report["torch_threads"] - 1, report
