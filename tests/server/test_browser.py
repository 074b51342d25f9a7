"""The page in a real browser (Debian's Chromium through Playwright), against a real
`deepdreamer serve` subprocess: upload and dream with live previews and a download, the mask
brush, cancelling, reopening a gallery item after a reload, and Visualise.

After every test: the page asked no host but 127.0.0.1 for anything (data: and blob: are fine),
no request was answered with an error status, and the console logged no error.

Dreams are kept small (160-320 px, a few octaves and steps) so the file runs in well under 90 s
on two cores; the one slow dream (cancel) is stopped after its first progress."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, expect, sync_playwright

from deepdreamer.io import read_settings

from .browser_kit import UI_SECONDS, Server, Watched, launch_chromium, serving, watching

PHOTO_SOURCE = Path(__file__).resolve().parents[2] / "src" / "deepdreamer" / "data" / "chelsea.jpg"
PHOTO_SIZE = (320, 213)

JOB_SECONDS = 60  # the longest any of the small dreams below may take (they take 1-4 s)

# Records what the page shows on the stage: every change of the preview's and the result's
# `src` / `hidden`, in order, so a test can tell which previews were shown before the result.
STAGE_RECORDER = """() => {
  window.__stage = [];
  const note = (node) => window.__stage.push({
    id: node.id, src: node.getAttribute('src'), hidden: node.hidden, t: performance.now(),
  });
  const observer = new MutationObserver((records) => {
    for (const record of records) note(record.target);
  });
  for (const id of ['preview-img', 'result-img']) {
    observer.observe(document.getElementById(id), { attributes: true, attributeFilter: ['src', 'hidden'] });
  }
  window.__stageObserver = observer;
}"""


# ---------------------------------------------------------------- the server

# A model of one's own, served with `--model DIR/nets/tiny.py:make` (a name with slashes)
TINY_LABELS = ["cat", "dog", "owl", "fish", "tree"]
TINY_MODEL_FILE = f"""
import torch, torch.nn as nn, deepdreamer as dd

def make():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))
    return dd.wrap_model(net, labels={TINY_LABELS!r})
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("browser-serve")
    (root / "nets").mkdir()
    (root / "nets" / "tiny.py").write_text(TINY_MODEL_FILE)
    with serving(root, "--model", str(root / "nets" / "tiny.py") + ":make") as running:
        yield running


# ---------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = launch_chromium(p)
        try:
            yield chromium
        finally:
            chromium.close()


class DreamPage(Watched):
    """The page driven as a user dreams: a photo, a look, Advanced fields, the run button."""

    def upload(self, path: Path) -> None:
        self.page.get_by_test_id("file-input").set_input_files(str(path))
        expect(self.page.get_by_test_id("photo-img")).to_be_visible(timeout=UI_SECONDS * 1000)
        self.page.wait_for_function(
            "([w, h]) => { const img = document.getElementById('photo-img');"
            " return img.complete && img.naturalWidth === w && img.naturalHeight === h; }",
            arg=list(PHOTO_SIZE), timeout=UI_SECONDS * 1000,
        )

    def pick_preset(self, name: str) -> None:
        button = self.page.get_by_test_id(f"preset-{name}")
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")

    def advanced(self, **fields: int | str) -> None:
        """Type into Advanced fields: advanced(max_size=192) fills max-size-input."""
        details = self.page.locator("#advanced")
        if details.get_attribute("open") is None:
            self.page.get_by_test_id("advanced-toggle").click()
        for key, value in fields.items():
            box = self.page.get_by_test_id(key.replace("_", "-") + "-input")
            box.fill(str(value))
            expect(box).to_have_value(str(value))

    def record_stage(self) -> None:
        self.page.evaluate(STAGE_RECORDER)

    def stage_log(self) -> list[dict]:
        return self.page.evaluate("window.__stage")

    def run(self) -> str:
        """Press the run button; the new job's id, from the answer to POST /api/jobs."""
        with self.page.expect_response(
            lambda r: urlsplit(r.url).path == "/api/jobs" and r.request.method == "POST", timeout=30_000
        ) as posted:
            self.page.get_by_test_id("dream-button").click()
        answer = posted.value
        assert answer.status == 202, answer.text()
        job_id = answer.json()["id"]
        assert job_id
        return job_id

    def wait_for_result(self, job_id: str) -> None:
        result = self.page.get_by_test_id("result-img")
        expect(result).to_be_visible(timeout=JOB_SECONDS * 1000)
        expect(result).to_have_attribute("src", f"/api/results/{job_id}/file")
        self.page.wait_for_function(
            "() => { const img = document.getElementById('result-img'); return img.complete && img.naturalWidth > 0; }",
            timeout=UI_SECONDS * 1000,
        )


@pytest.fixture
def watched(browser: Browser, server: Server) -> Iterator[DreamPage]:
    with watching(browser, server, kind=DreamPage) as w:
        yield w


@pytest.fixture
def photo_png(tmp_path) -> Path:
    """The sample cat at 320x213 as a PNG: exact pixels to compare a result with."""
    path = tmp_path / "chelsea-320.png"
    Image.open(PHOTO_SOURCE).convert("RGB").resize(PHOTO_SIZE, Image.LANCZOS).save(path)
    return path


def _pixels(data: bytes | Path) -> np.ndarray:
    image = Image.open(BytesIO(data) if isinstance(data, bytes) else data)
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def _shown_previews(log: list[dict], job_id: str) -> tuple[list[str], int]:
    """(distinct preview URLs the stage showed, in order, before the result), and the index in
    the log where the result became visible (len(log) if it never did)."""
    shown_at = next((i for i, e in enumerate(log) if e["id"] == "result-img" and not e["hidden"]
                     and e["src"] == f"/api/results/{job_id}/file"), len(log))
    previews: list[str] = []
    for entry in log[:shown_at]:
        if entry["id"] == "preview-img" and entry["src"] and entry["src"] not in previews:
            previews.append(entry["src"])
    visible = any(e["id"] == "preview-img" and not e["hidden"] for e in log[:shown_at])
    assert visible, f"the preview was never shown before the result: {log}"
    for url in previews:  # the picture the event carried, or (superseded by then) its url
        assert url.startswith("data:image/jpeg;base64,") or re.fullmatch(
            rf"/api/jobs/{re.escape(job_id)}/previews/\d+", url), url[:80]
    return previews, shown_at


# ---------------------------------------------------------------- the tests


def test_upload_preset_dream_with_live_previews_then_download_carries_the_settings(watched, photo_png, tmp_path):
    w, page = watched, watched.page
    w.open()
    w.upload(photo_png)
    w.pick_preset("subtle")
    w.advanced(max_size=192, octaves=2, steps=80)
    summary = page.get_by_test_id("settings-summary")
    expect(summary).to_contain_text("preset subtle")
    expect(summary).to_contain_text("max_size 192")

    w.record_stage()
    job_id = w.run()
    w.wait_for_result(job_id)
    expect(page.get_by_test_id("progress-text")).to_have_text(re.compile(r"^Done"))

    previews, _ = _shown_previews(w.stage_log(), job_id)
    assert len(previews) >= 2, f"fewer than two previews were shown: {previews}"
    frames = [w.body_of(url) for url in previews]
    assert all(f[:2] == b"\xff\xd8" for f in frames), "a preview is not a JPEG"
    assert len(set(frames)) == len(frames), "two shown previews carry the same picture"
    # the previews are of this dream: the photo's shape at the octaves' sizes
    for f in frames:
        width, height = Image.open(BytesIO(f)).size
        assert abs(width / height - 320 / 213) < 0.05 and width <= 192

    result_size = page.evaluate("[document.getElementById('result-img').naturalWidth,"
                                " document.getElementById('result-img').naturalHeight]")
    assert result_size == [192, 128]

    with page.expect_download(timeout=UI_SECONDS * 1000) as downloading:
        page.get_by_test_id("download-link").click()
    download = downloading.value
    assert download.failure() is None
    assert download.suggested_filename == f"deepdreamer-{job_id}.png"
    saved = tmp_path / "downloaded.png"
    download.save_as(saved)
    assert Image.open(saved).size == (192, 128)
    settings = read_settings(saved)
    assert settings is not None, "the downloaded PNG carries no settings"
    assert settings["preset"] == "subtle"
    assert settings["max_size"] == 192
    assert settings["octaves"] == 2 and settings["steps"] == 80

    command = page.get_by_test_id("command-text").text_content()
    assert command.startswith("deepdreamer dream"), command
    assert "--preset subtle" in command, command


def test_mask_keeps_the_right_half_and_dreams_the_left(watched, photo_png, tmp_path):
    w, page = watched, watched.page
    w.open()
    w.upload(photo_png)
    w.pick_preset("deep")
    # 320 px: the photo is dreamed at its own size, so the result compares pixel for pixel
    w.advanced(max_size=320, octaves=2, steps=8, seed=5)

    page.get_by_test_id("mask-toggle").click()
    expect(page.get_by_test_id("mask-toggle")).to_have_attribute("aria-pressed", "true")
    canvas = page.get_by_test_id("mask-canvas")
    expect(canvas).to_be_visible()
    page.get_by_test_id("mask-paint-keep").click()
    expect(page.get_by_test_id("mask-paint-keep")).to_have_attribute("aria-pressed", "true")
    brush = page.get_by_test_id("mask-brush-size")
    brush.fill("120")
    expect(brush).to_have_value("120")

    box = canvas.bounding_box()
    assert box and box["width"] > 200, box
    radius = 60  # screen px: half the brush
    middle = box["x"] + box["width"] / 2
    # strokes start one radius right of the middle, so their round ends reach the middle; rows
    # 0.8 radius apart, from the top to the bottom edge, run a little past the right edge
    start_x, end_x = middle + radius, box["x"] + box["width"] + 20
    y, rows = box["y"] + 2, []
    while y < box["y"] + box["height"] - 2:
        rows.append(y)
        y += radius * 0.8
    rows.append(box["y"] + box["height"] - 2)
    for y in rows:
        page.mouse.move(start_x, y)
        page.mouse.down()
        page.mouse.move(end_x, y, steps=8)
        page.mouse.up()
    expect(page.get_by_test_id("settings-summary")).to_contain_text("the painted mask")

    job_id = w.run()
    w.wait_for_result(job_id)

    item = w.server.json(f"/api/results/{job_id}")
    assert item["mask"], "the result was dreamed without a mask"
    assert (item["width"], item["height"]) == PHOTO_SIZE
    width = PHOTO_SIZE[0]
    margin = round(0.06 * width)
    left = slice(0, width // 2 - margin)
    right = slice(width // 2 + margin, width)

    # the mask the page sent: white (dream) on the left, black (keep) on the right
    sent = np.asarray(Image.open(BytesIO(w.server.get(item["mask"]))).convert("L"), dtype=np.int16)
    assert sent.shape == (PHOTO_SIZE[1], PHOTO_SIZE[0])
    assert sent[:, left].min() >= 250, "the brush painted over the left half"
    assert sent[:, right].max() <= 5, "the brush left parts of the right half undreamed-over"

    with page.expect_download(timeout=UI_SECONDS * 1000) as downloading:
        page.get_by_test_id("download-link").click()
    saved = tmp_path / "masked.png"
    downloading.value.save_as(saved)
    result, photo = _pixels(saved), _pixels(photo_png)
    assert result.shape == photo.shape
    difference = np.abs(result - photo)
    assert difference[:, right].max() <= 2, f"the kept half changed (max {difference[:, right].max()})"
    assert difference[:, left].mean() > 5, f"the dreamed half barely changed (mean {difference[:, left].mean():.2f})"


def test_cancel_shows_cancelled_and_leaves_no_result(watched):
    w, page = watched, watched.page
    w.open()
    before = {li.get_attribute("data-id") for li in page.get_by_test_id("gallery-item").all()}
    page.get_by_test_id("sample-button").click()
    expect(page.get_by_test_id("photo-img")).to_be_visible(timeout=UI_SECONDS * 1000)
    w.pick_preset("none")
    w.advanced(max_size=256, octaves=2, steps=500)

    job_id = w.run()
    progress = page.get_by_test_id("progress-text")
    expect(progress).to_contain_text(re.compile(r"step \d+/500"), timeout=JOB_SECONDS * 1000)
    cancel = page.get_by_test_id("cancel-button")
    expect(cancel).to_be_visible()
    cancel.click()

    expect(progress).to_have_text("Cancelled.", timeout=UI_SECONDS * 1000)
    expect(cancel).to_be_hidden()
    expect(page.get_by_test_id("dream-button")).to_be_enabled()
    expect(page.get_by_test_id("progress-bar")).to_be_hidden()
    expect(page.get_by_test_id("result-bar")).to_be_hidden()
    expect(page.get_by_test_id("result-img")).to_be_hidden()
    expect(page.get_by_test_id("error-text")).to_be_hidden()

    status = w.server.json(f"/api/jobs/{job_id}")
    assert status["state"] == "cancelled", status
    assert status["result"] is None
    assert status["progress"] is not None and status["progress"]["done"] < status["progress"]["total"]

    # the gallery, asked again, has nothing for it
    with page.expect_response(lambda r: urlsplit(r.url).path == "/api/results", timeout=UI_SECONDS * 1000):
        page.get_by_test_id("gallery-refresh").click()
    page.wait_for_function(
        "document.querySelectorAll('#gallery li').length > 0 || !document.getElementById('gallery-empty').hidden",
        timeout=UI_SECONDS * 1000)
    after = {li.get_attribute("data-id") for li in page.get_by_test_id("gallery-item").all()}
    assert job_id not in after and after == before
    assert job_id not in {item["id"] for item in w.server.json("/api/results")["items"]}


def test_a_gallery_item_reopens_its_settings_after_a_reload(watched, photo_png):
    w, page = watched, watched.page
    w.open()
    w.upload(photo_png)
    w.pick_preset("deep")
    w.advanced(max_size=160, octaves=2, steps=7, seed=4242)
    job_id = w.run()
    w.wait_for_result(job_id)
    command = page.get_by_test_id("command-text").text_content()

    w.open(reload=True)
    # a fresh page shows the plain defaults, not the dream's settings
    expect(page.get_by_test_id("seed-input")).not_to_have_value("4242")
    expect(page.get_by_test_id("preset-deep")).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_test_id("result-img")).to_be_hidden()

    item = page.locator(f'[data-testid="gallery-item"][data-id="{job_id}"]')
    expect(item).to_be_visible(timeout=UI_SECONDS * 1000)
    item.get_by_test_id("gallery-open").click()

    expect(page.get_by_test_id("seed-input")).to_have_value("4242", timeout=UI_SECONDS * 1000)
    expect(page.get_by_test_id("steps-input")).to_have_value("7")
    expect(page.get_by_test_id("octaves-input")).to_have_value("2")
    expect(page.get_by_test_id("max-size-input")).to_have_value("160")
    expect(page.get_by_test_id("preset-deep")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("preset-none")).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_test_id("mode-dream")).to_have_attribute("aria-selected", "true")
    w.wait_for_result(job_id)
    expect(page.get_by_test_id("command-text")).to_have_text(command)
    expect(item).to_have_class(re.compile(r"\bcurrent\b"))
    # the source photo came back too: the next Dream would redo this one
    page.wait_for_function(
        "() => { const img = document.getElementById('photo-img');"
        " return img.complete && img.naturalWidth === 320 && img.naturalHeight === 213; }",
        timeout=UI_SECONDS * 1000)
    expect(page.get_by_test_id("settings-summary")).to_contain_text("seed 4242")


def test_visualize_a_class_shows_previews_then_the_result(watched):
    w, page = watched, watched.page
    w.open()
    page.get_by_test_id("mode-visualize").click()
    expect(page.get_by_test_id("mode-visualize")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("dream-button")).to_have_text("Visualise")
    # the autocomplete offers the class
    assert page.locator('#class-labels option[value="class:goldfish"]').count() == 1
    objective = page.get_by_test_id("visualize-objective-input")
    objective.fill("class:goldfish")
    for testid, value in [("visualize-size-input", "96"), ("visualize-steps-input", "40"),
                          ("visualize-seed-input", "11")]:
        page.get_by_test_id(testid).fill(value)
        expect(page.get_by_test_id(testid)).to_have_value(value)
    expect(page.get_by_test_id("settings-summary")).to_contain_text("objective class:goldfish")

    w.record_stage()
    job_id = w.run()
    w.wait_for_result(job_id)
    previews, _ = _shown_previews(w.stage_log(), job_id)
    assert previews, "no preview was shown before the result"
    assert w.body_of(previews[0])[:2] == b"\xff\xd8"

    size = page.evaluate("[document.getElementById('result-img').naturalWidth,"
                         " document.getElementById('result-img').naturalHeight]")
    assert size == [96, 96]
    item = w.server.json(f"/api/results/{job_id}")
    assert item["mode"] == "visualize"
    assert item["settings"]["objective"] == "class:goldfish"
    assert item["settings"]["size"] == 96 and item["settings"]["steps"] == 40 and item["settings"]["seed"] == 11
    expect(page.get_by_test_id("command-text")).to_contain_text("deepdreamer visualize class:goldfish")


def test_switching_the_model_brings_its_own_layers_and_class_names(watched):
    """A model served with `--model FILE.py:make`: the dropdown offers it, and picking it fetches
    its layers and labels (each model's once), which the layer list and the autocomplete show."""
    w, page = watched, watched.page
    w.open()
    spec = next(m["name"] for m in w.server.json("/api/info")["models"] if m["name"].endswith("tiny.py:make"))
    options = page.locator("#class-labels option")
    expect(options).to_have_count(1000)
    w.advanced()  # the model dropdown is in Advanced
    page.get_by_test_id("model-select").select_option(spec)
    expect(options).to_have_count(5, timeout=UI_SECONDS * 1000)
    assert [options.nth(i).get_attribute("value") for i in range(5)] == [f"class:{n}" for n in TINY_LABELS]
    layer_names = page.locator("#activations-layer-select option").evaluate_all("os => os.map(o => o.value)")
    assert layer_names[0] == "0" and "conv_stem" not in layer_names  # its own, not lite0's

    page.get_by_test_id("mode-visualize").click()
    page.get_by_test_id("visualize-objective-input").fill("class:owl")
    for testid, value in [("visualize-size-input", "64"), ("visualize-steps-input", "4")]:
        page.get_by_test_id(testid).fill(value)
        expect(page.get_by_test_id(testid)).to_have_value(value)
    job_id = w.run()
    w.wait_for_result(job_id)
    assert w.server.json(f"/api/results/{job_id}")["settings"]["model"] == spec

    page.get_by_test_id("model-select").select_option("efficientnet-lite0")
    expect(options).to_have_count(1000, timeout=UI_SECONDS * 1000)
    fetched = [urlsplit(r.url).path for r in w.responses if urlsplit(r.url).path.endswith("/labels")]
    assert len(fetched) == 2 and len(set(fetched)) == 2, fetched  # each model's once
