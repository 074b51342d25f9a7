"""Submitting jobs and reading their event streams, for the server tests."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

# a dream small enough for many tests: 2 octaves of 4 steps at 160 px
QUICK = {"max_size": 160, "octaves": 2, "steps": 4, "seed": 3}
# a dream that outlasts any test that does not wait for it
SLOW = {"max_size": 256, "octaves": 2, "steps": 500, "seed": 1}



def submit(client: TestClient, settings: dict, mode: str = "dream", files: dict | None = None,
           sample: bool = True):
    data = {"mode": mode, "settings": json.dumps(settings)}
    if sample and not files:
        data["sample"] = "true"
    return client.post("/api/jobs", data=data, files=files or None)


def events(client: TestClient, job_id: str, headers: dict | None = None, stop=None) -> list[tuple[int, str, dict]]:
    """(id, type, data) of each event until the stream ends (or `stop(event)` is true)."""
    out, current = [], {}
    with client.stream("GET", f"/api/jobs/{job_id}/events", headers=headers or {}) as stream:
        for line in stream.iter_lines():
            if line.startswith("id:"):
                current["id"] = int(line[3:].strip())
            elif line.startswith("event:"):
                current["type"] = line[6:].strip()
            elif line.startswith("data:"):
                current["data"] = json.loads(line[5:].strip())
            elif not line and "type" in current:
                event = (current["id"], current["type"], current.get("data", {}))
                out.append(event)
                current = {}
                if stop is not None and stop(event):
                    break
    return out


def run_to_end(client: TestClient, settings: dict, mode: str = "dream", **kwargs) -> tuple[str, list]:
    answer = submit(client, settings, mode, **kwargs)
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    return job_id, events(client, job_id)
