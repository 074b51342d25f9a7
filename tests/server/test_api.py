"""The JSON API in-process: jobs, their event streams, cancelling, refusals with one line, and
the gallery."""

from __future__ import annotations

import base64
import io
import shlex

import numpy as np
from click.testing import CliRunner
from PIL import Image

from deepdreamer.cli import cli
from deepdreamer.io import read_settings

from .helpers import QUICK, SLOW, events, run_to_end, submit


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_dream_streams_numbered_events_with_changing_previews_then_done(client):
    job_id, log = run_to_end(client, QUICK)
    assert [event_id for event_id, _, _ in log] == list(range(1, len(log) + 1))
    kinds = [kind for _, kind, _ in log]
    assert kinds[:2] == ["queued", "started"] and kinds[-1] == "done"
    previews = [data for _, kind, data in log if kind == "preview"]
    assert len(previews) >= 2
    first, last = (client.get(p["url"]) for p in (previews[-2], previews[-1]))
    assert first.headers["content-type"] == "image/jpeg" and first.content != last.content
    # each preview event carries the very JPEG its url serves (the page needs no request)
    for data, fetched in ((previews[-2], first), (previews[-1], last)):
        kind, _, inline = data["image"].partition(",")
        assert kind == "data:image/jpeg;base64" and base64.b64decode(inline) == fetched.content
    progress = [data for _, kind, data in log if kind == "progress"]
    assert progress[-1]["done"] == progress[-1]["total"] == 8
    assert progress[-1]["eta"] == 0
    # the very last step has no preview: the result replaces it at once
    last_step = max(i for i, (_, kind, data) in enumerate(log) if kind == "progress")
    assert all(kind != "preview" for _, kind, _ in log[last_step:])
    status = client.get(f"/api/jobs/{job_id}").json()
    assert status["state"] == "done" and status["result"]["id"] == job_id


def test_the_download_carries_the_requested_settings_and_the_command_remakes_it(client, sample_photo, tmp_path):
    settings = dict(QUICK, layers=[["blocks.2", 0.5], ["blocks.4", 1.0]], jitter=8)
    job_id, log = run_to_end(client, settings)
    item = log[-1][2]["result"]
    download = client.get(item["file"], params={"download": 1})
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    (tmp_path / "download.png").write_bytes(download.content)
    embedded = read_settings(tmp_path / "download.png")
    for key, value in settings.items():
        assert embedded[key] == value, key

    args = shlex.split(item["command"])
    assert args[:2] == ["deepdreamer", "dream"] and args[2] == "chelsea.jpg"
    args[2], args[4] = str(sample_photo), str(tmp_path / "again.png")
    result = CliRunner().invoke(cli, args[1:] + ["-q"])
    assert result.exit_code == 0, result.output
    again = np.asarray(Image.open(tmp_path / "again.png"))
    assert np.array_equal(again, np.asarray(Image.open(tmp_path / "download.png")))


def test_cancel_stops_a_running_dream_within_a_step(client):
    job_id = submit(client, SLOW).json()["id"]
    seen = events(client, job_id, stop=lambda e: e[1] == "progress")
    answer = client.post(f"/api/jobs/{job_id}/cancel")
    assert answer.status_code == 200
    rest = events(client, job_id, headers={"Last-Event-ID": str(seen[-1][0])})
    assert rest[-1][1] == "cancelled"
    assert sum(kind == "progress" for _, kind, _ in rest) <= 2  # the step under way, at most
    assert client.get(f"/api/jobs/{job_id}").json()["state"] == "cancelled"
    assert client.get("/api/results").json()["items"] == []


def test_a_waiting_job_is_cancelled_at_once_and_the_queue_moves(serve):
    with serve(queue=3) as client:
        running = submit(client, SLOW).json()["id"]
        waiting = submit(client, SLOW).json()
        last = submit(client, SLOW).json()
        assert (waiting["position"], last["position"]) == (1, 2)
        client.post(f"/api/jobs/{waiting['id']}/cancel")
        assert client.get(f"/api/jobs/{waiting['id']}").json()["state"] == "cancelled"
        assert client.get(f"/api/jobs/{last['id']}").json()["position"] == 1
        positions = [d["position"] for _, kind, d in events(client, last["id"], stop=lambda e: e[2].get("position") == 1)
                     if kind == "queued"]
        assert positions == [2, 1]
        for job_id in (running, last["id"]):
            client.post(f"/api/jobs/{job_id}/cancel")


def test_replay_after_last_event_id(client):
    job_id, log = run_to_end(client, QUICK)
    replay = events(client, job_id, headers={"Last-Event-ID": "3"})
    assert replay == log[3:]
    assert events(client, job_id, headers={"Last-Event-ID": "junk"}) == log  # unreadable: from the start
    assert client.get(f"/api/jobs/{job_id}/events", params={"after": len(log)}).text == ""


def test_an_upload_over_the_limit_gets_413(serve):
    with serve(max_upload_mb=0.01) as client:
        noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8))
        answer = submit(client, QUICK, files={"image": ("big.png", _png(noise), "image/png")})
    assert answer.status_code == 413
    assert answer.json() == {"detail": "the upload is larger than the server's limit of 0.01 MB"}


def test_not_an_image_gets_415_with_the_cli_line(client):
    answer = submit(client, QUICK, files={"image": ("notes.txt", b"just some text", "image/png")})
    assert answer.status_code == 415
    assert answer.json()["detail"] == "cannot read notes.txt: not an image file (or a format deepdreamer does not read)"


def test_a_decompression_bomb_gets_413_with_the_cli_line(client, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a 100x100 photo is then a bomb
    answer = submit(client, QUICK, files={"image": ("bomb.png", _png(Image.new("RGB", (100, 100))), "image/png")})
    assert answer.status_code == 413
    assert answer.json()["detail"] == (
        "cannot read bomb.png: 100x100 pixels is more than the 1000 pixel safety limit (a decompression bomb?)")


def test_a_full_queue_gets_429(serve):
    with serve(queue=2) as client:
        accepted = [submit(client, SLOW) for _ in range(2)]
        refused = submit(client, SLOW)
        assert [a.status_code for a in accepted] == [202, 202]
        assert refused.status_code == 429
        assert refused.json()["detail"].startswith("the queue is full (2 jobs waiting or running)")
        for answer in accepted:
            client.post(f"/api/jobs/{answer.json()['id']}/cancel")


def test_unknown_names_get_400_with_did_you_mean(client):
    cases = [
        ({"layers": [["blocks.9", 1.0]]}, "unknown layer 'blocks.9' in efficientnet-lite0; did you mean"),
        ({"step": 3}, "unknown setting 'step'; did you mean 'steps'"),
        ({"objective": "class:goldfsh"}, "unknown class 'goldfsh'"),
        ({"preset": "deeep"}, "unknown preset 'deeep'; did you mean 'deep'?"),
        ({"model": "resnet5"}, "unknown model 'resnet5'"),
    ]
    for settings, start in cases:
        answer = submit(client, settings)
        assert answer.status_code == 400, settings
        assert answer.json()["detail"].startswith(start), answer.json()
        assert "\n" not in answer.json()["detail"]
    unknown_mode = client.post("/api/jobs", data={"mode": "paint", "sample": "true"})
    assert unknown_mode.status_code == 400 and "unknown mode 'paint'" in unknown_mode.json()["detail"]


def test_out_of_range_and_wrongly_typed_settings_get_400(client):
    cases = [
        ({"octaves": 0}, "octaves must be between 1 and 64, got 0"),
        ({"steps": "many"}, "steps must be a whole number, got 'many'"),
        ({"keep_colors": "yes"}, "keep colors must be true or false, got 'yes'"),
        ({"weights": "/etc/passwd"}, "weights cannot be set from the web page"),
        ({"mask": "/etc/passwd"}, "mask cannot be set from the web page"),
    ]
    for settings, start in cases:
        answer = submit(client, settings)
        assert answer.status_code == 400, settings
        assert answer.json()["detail"].startswith(start), answer.json()
    assert client.post("/api/jobs", data={"settings": "[1, 2]", "sample": "true"}).json()["detail"] == (
        "settings must be a JSON object, got list")
    no_photo = client.post("/api/jobs", data={"settings": "{}"})
    assert no_photo.status_code == 400 and no_photo.json()["detail"].startswith("dream needs a photo")


def test_the_gallery_survives_a_restart_and_items_can_be_deleted(serve):
    with serve() as client:
        job_id, _ = run_to_end(client, QUICK)
    with serve() as client:
        items = client.get("/api/results").json()["items"]
        assert [item["id"] for item in items] == [job_id]
        assert items[0]["request"] == QUICK  # what reopening puts back in the form
        for part in ("file", "thumb", "source"):
            assert client.get(items[0][part]).status_code == 200, part
        assert client.delete(f"/api/results/{job_id}").status_code == 204
        assert client.get("/api/results").json()["items"] == []
        assert client.get(f"/api/results/{job_id}/file").status_code == 404
        assert client.delete(f"/api/results/{job_id}").status_code == 404


def test_results_beyond_keep_are_pruned_oldest_first(serve):
    with serve(keep=2) as client:
        ids = [run_to_end(client, dict(QUICK, steps=1, octaves=1, seed=i))[0] for i in range(3)]
        assert [item["id"] for item in client.get("/api/results").json()["items"]] == ids[:0:-1]


def test_paths_come_from_ids_only(client, tmp_path):
    upload = _png(Image.open(io.BytesIO(client.get("/api/sample").content)).resize((160, 106)))
    job_id, log = run_to_end(client, QUICK, files={"image": ("../../escape.png", upload, "image/png")})
    assert log[-1][1] == "done"
    assert log[-1][2]["result"]["command"].split()[2] == "escape.png"  # a name to show, not a path
    assert not list(tmp_path.rglob("escape.png"))
    for path in ("/api/results/..%2F..%2Fetc%2Fpasswd/file", "/api/results/.layer-guide/file",
                 f"/api/results/{job_id}/item.json", f"/api/results/{job_id}/..%2Fitem.json",
                 "/api/jobs/not-a-job/events"):
        assert client.get(path).status_code == 404, path
    assert len(job_id) == 22 and job_id != run_to_end(client, QUICK)[0]


def test_a_mask_keeps_the_photo_where_it_is_black(client):
    photo = Image.open(io.BytesIO(client.get("/api/sample").content)).convert("RGB").resize((160, 106))
    mask = Image.new("L", photo.size, 255)
    mask.paste(0, (80, 0, 160, 106))  # keep the right half
    job_id, log = run_to_end(client, QUICK, files={"image": ("p.png", _png(photo), "image/png"),
                                                   "mask": ("m.png", _png(mask), "image/png")})
    item = log[-1][2]["result"]
    result = np.asarray(Image.open(io.BytesIO(client.get(item["file"]).content)).convert("RGB")).astype(int)
    source = np.asarray(photo).astype(int)
    assert np.abs(result[:, 84:] - source[:, 84:]).max() <= 1
    assert np.abs(result[:, :76] - source[:, :76]).mean() > 5
    assert client.get(item["mask"]).status_code == 200 and "--mask" in item["command"]


def test_visualize_activations_and_zoom_jobs(client):
    _, log = run_to_end(client, {"objective": "class:goldfish", "size": 64, "steps": 6, "seed": 0}, "visualize")
    assert log[-1][1] == "done" and sum(kind == "preview" for _, kind, _ in log) >= 2
    assert log[-1][2]["result"]["source"] is None and log[-1][2]["result"]["width"] == 64

    _, log = run_to_end(client, {"layer": "blocks.4", "top": 4, "max_size": 128}, "activations")
    assert log[-1][1] == "done", log[-1]
    assert log[-1][2]["result"]["width"] > 128  # the maps beside the photo

    _, log = run_to_end(client, dict(QUICK, frames=3, steps=1, octaves=1), "zoom")
    assert log[-1][1] == "done", log[-1]
    item = log[-1][2]["result"]
    frames = [d["frame"] for _, kind, d in log if kind == "progress"]
    assert frames == sorted(frames) and frames[-1] == 3
    video = client.get(item["file"])
    assert item["media"] == "video" and video.headers["content-type"] == "video/mp4" and len(video.content) > 1000


def test_the_layer_guide_is_made_once_and_kept_on_disk(client, tmp_path):
    url = "/api/models/efficientnet-lite0/layers/blocks.1/guide.jpg"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    kept = tmp_path / "results" / ".layer-guide" / "efficientnet-lite0" / "blocks.1.jpg"
    assert kept.read_bytes() == first.content
    kept.write_bytes(b"marker")  # a second request reads the file instead of dreaming again
    assert client.get(url).content == b"marker"
    wrong = client.get("/api/models/efficientnet-lite0/layers/blocks.77/guide.jpg")
    assert wrong.status_code == 400 and "did you mean" in wrong.json()["detail"]


def test_info_layers_and_labels_describe_the_form(client):
    info = client.get("/api/info").json()
    assert info["model"] == "efficientnet-lite0"
    assert {"weights", "device", "guide", "mask"}.isdisjoint(info["defaults"])
    assert "deep" in [p["name"] for p in info["presets"]]
    layers = client.get("/api/models/efficientnet-lite0/layers").json()
    assert layers["default"] == "blocks.4" and layers["layers"][0]["name"] == "conv_stem"
    names, strides = [l["name"] for l in layers["layers"]], [l["stride"] for l in layers["layers"]]
    assert strides == sorted(strides)  # shallow to deep
    assert names.index("blocks.3.2") < names.index("blocks.3") < names.index("blocks.4.0")
    # a model's catalogue is data: listed without its weights, which are not on this machine
    assert client.get("/api/models/googlenet/layers").json()["default"] == "inception4c"
    labels = client.get("/api/models/efficientnet-lite0/labels").json()["labels"]
    assert len(labels) == 1000 and labels[1] == "goldfish"
    assert client.get("/api/models/nonsense/layers").status_code == 400
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/openapi.json").json()["paths"]["/api/jobs"]["post"]


def test_a_visualisation_command_remakes_it(client, tmp_path):
    _, log = run_to_end(client, {"objective": "blocks.4:3", "size": 64, "steps": 5, "seed": 2,
                                 "preset": "quick", "transforms": False}, "visualize")
    item = log[-1][2]["result"]
    args = shlex.split(item["command"])
    assert args[:3] == ["deepdreamer", "visualize", "blocks.4:3"] and "--no-transforms" in args
    args[4] = str(tmp_path / "again.png")
    result = CliRunner().invoke(cli, args[1:] + ["-q"])
    assert result.exit_code == 0, result.output
    served = np.asarray(Image.open(io.BytesIO(client.get(item["file"]).content)))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "again.png")), served)


def test_a_zoom_command_remakes_it(client, sample_photo, tmp_path):
    import av

    settings = dict(QUICK, frames=3, steps_per_frame=1, octaves=1, zoom=1.1, rotate=2.0, fps=12.0)
    _, log = run_to_end(client, settings, "zoom")
    item = log[-1][2]["result"]
    args = shlex.split(item["command"])
    assert args[:3] == ["deepdreamer", "zoom", "chelsea.jpg"]
    for flag, value in [("--frames", "3"), ("--zoom", "1.1"), ("--rotate", "2.0"), ("--fps", "12.0")]:
        assert args[args.index(flag) + 1] == value
    args[2], args[4] = str(sample_photo), str(tmp_path / "again.mp4")
    result = CliRunner().invoke(cli, args[1:] + ["-q"])
    assert result.exit_code == 0, result.output
    (tmp_path / "served.mp4").write_bytes(client.get(item["file"]).content)

    def frames(path):
        with av.open(str(path)) as container:
            return [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]

    served, again = frames(tmp_path / "served.mp4"), frames(tmp_path / "again.mp4")
    assert len(served) == len(again) == 3
    assert all(np.abs(a - b).mean() < 1 for a, b in zip(served, again))
