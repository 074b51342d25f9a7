"""What a worker does with a job: call the library for its mode (dream, visualize, activations,
zoom) with the shared model, and keep the result in the gallery. No image maths here."""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from ..cli.reproduce import dream_command, visualize_command, zoom_command
from ..io import save_image
from ..io.images import FAST_PNG
from ..models import DreamModel
from ..motion.run import render_zoom
from ..pipeline import dream_prepared
from ..visualize.run import activations_config, render_config
from .jobs import Job
from .relay import ProgressRelay
from .requests import JobRequest
from .store import ResultsStore, save_thumbnail

__all__ = ["run_job"]

ZOOM_SUFFIX = ".mp4"  # H.264 where PyAV has it: what a <video> element plays


def run_job(job: Job, net: DreamModel, store: ResultsStore) -> dict:
    """Run `job` to its result item (stored in the gallery before it is returned)."""
    request: JobRequest = job.request
    run = {"dream": _dream, "visualize": _visualize, "activations": _activations, "zoom": _zoom}[job.mode]
    return run(job, request, net, store)


def _item(job: Job, request: JobRequest, settings: dict, title: str, command: str | None) -> dict:
    return {
        "id": job.id,
        "mode": job.mode,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
        "title": title,
        "settings": settings,
        "request": request.submitted,
        "command": command,
        "source_name": request.image_name if request.image is not None else None,
    }


def _files(job_id: str, result: Image.Image, settings: dict | None, request: JobRequest,
           video: Path | None = None) -> Callable[[Path], dict]:
    """The writer for a gallery folder: the full-size result with its settings embedded (or,
    for a zoom, its video), the thumbnail, the source photo and mask (so an item can be
    reopened and redone). The result is encoded on a second thread while this one writes the
    rest: Pillow lets go of the GIL while it compresses, and the cores are idle once the dream
    is over (600x450 here: ~55 ms one after the other, ~30 ms side by side)."""

    def write(folder: Path) -> dict:
        name = "result.png" if video is None else f"result{video.suffix}"
        fields = {"width": result.width, "height": result.height,
                  "media": "image" if video is None else "video",
                  "file": f"/api/results/{job_id}/file", "download_name": f"deepdreamer-{job_id}{Path(name).suffix}",
                  "thumb": f"/api/results/{job_id}/thumb.jpg", "source": None, "mask": None,
                  "file_name": name}
        if video is None:
            with ThreadPoolExecutor(1, thread_name_prefix="deepdreamer-store") as pool:
                stored = pool.submit(save_image, result, folder / name, settings=settings, fast=True)
                fields.update(_write_companions(folder, result, request, job_id))
                stored.result()  # its error, if any, is the job's
        else:
            video.replace(folder / name)
            fields.update(_write_companions(folder, result, request, job_id))
        return fields

    return write


def _write_companions(folder: Path, result: Image.Image, request: JobRequest, job_id: str) -> dict:
    """The thumbnail, and the photo and mask the job started from; their item fields."""
    fields = {}
    save_thumbnail(result, folder / "thumb.jpg")
    if request.image is not None:
        request.image.save(folder / "source.png", **FAST_PNG)
        fields["source"] = f"/api/results/{job_id}/source"
    if request.mask is not None:
        request.mask.save(folder / "mask.png", **FAST_PNG)
        fields["mask"] = f"/api/results/{job_id}/mask"
    return fields


def _title(request: JobRequest, settings: dict) -> str:
    look = settings.get("preset") or "custom"
    what = settings.get("objective") or " + ".join(name for name, _ in settings.get("layers", []))
    return f"{look} · {what}" if what else look


def _dream(job: Job, request: JobRequest, net: DreamModel, store: ResultsStore) -> dict:
    relay = ProgressRelay(job, request.config.octave_scale, final_preview=False)
    out = dream_prepared(request.prepared, request.loaded, progress=relay)
    command = dream_command(
        out.settings, request.image_name, f"dream-{job.id[:6]}.png",
        mask=f"mask-{job.id[:6]}.png" if request.mask is not None else None,
        guide="guide.png" if request.guide is not None else None)
    item = _item(job, request, out.settings, _title(request, out.settings), command)
    return store.add(job.id, item, _files(job.id, out.image, out.settings, request))


def _visualize(job: Job, request: JobRequest, net: DreamModel, store: ResultsStore) -> dict:
    out = render_config(request.config, model=net, progress=ProgressRelay(job))
    image = out.images[0] if len(out.images) == 1 else out.sheet
    command = visualize_command(out.settings, f"visualize-{job.id[:6]}.png")
    item = _item(job, request, out.settings, f"visualize · {request.config.objective}", command)
    return store.add(job.id, item, _files(job.id, image, out.settings, request))


def _activations(job: Job, request: JobRequest, net: DreamModel, store: ResultsStore) -> dict:
    maps = activations_config(request.config, request.image, model=net)
    layer = request.config.layer or net.entry.default_layer
    settings = {"kind": "activations", "layer": layer, "top": request.config.top, "model": net.name}
    command = f"deepdreamer activations {request.image_name} --layer {layer} --top {request.config.top} -o maps.png"
    item = _item(job, request, settings, f"activations · {layer}", command)
    return store.add(job.id, item, _files(job.id, maps.image, settings, request))


def _zoom(job: Job, request: JobRequest, net: DreamModel, store: ResultsStore) -> dict:
    relay = ProgressRelay(job, request.config.octave_scale, frames=request.zoom.frames)
    with tempfile.TemporaryDirectory(prefix="deepdreamer-zoom-", dir=store.root) as scratch:
        video = Path(scratch) / f"zoom{ZOOM_SUFFIX}"
        out = render_zoom(request.config, request.zoom, request.image, video, model=net,
                          progress=relay, force=True)
        last = _last_frame(out.path)
        command = zoom_command(out.settings, request.image_name if request.image is not None else None,
                               f"zoom-{job.id[:6]}{ZOOM_SUFFIX}")
        item = _item(job, request, out.settings, f"zoom · {out.frames} frames", command)
        # the last frame is the thumbnail; the video is the result
        return store.add(job.id, item, _files(job.id, last, None, request, video=Path(out.path)))


def _last_frame(path) -> Image.Image:
    import av

    with av.open(str(path)) as container:
        last = None
        for frame in container.decode(video=0):
            last = frame
        return last.to_image()
