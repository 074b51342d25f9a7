"""A batch from start to end: collect the items, skip those already done, hand the rest to a
backend, write each output atomically as it comes back, keep the manifest, sum up.

The driver is the only writer: workers get bytes and return bytes, so no two processes ever
write one file, and a worker on a machine without this disk works the same. Resuming needs no
flag: an item whose output exists with this batch's settings embedded is skipped."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image

from ..config import BatchConfig, DreamConfig
from ..errors import ConfigError, OutputError
from ..io import settings_of, write_atomic
from ..io.outputs import check_directory_writable
from ..io.space import check_space, image_bytes
from ..models import DreamModel
from ..pipeline import draw_seed, package_version
from .item import ItemInput
from .items import BatchItem, collect_items, item_seed
from .manifest import Manifest
from .outcome import Done, Failed

__all__ = ["BatchStarted", "ItemFinished", "BatchSummary", "run_batch", "default_threads"]


@dataclass(frozen=True)
class BatchStarted:
    items: int  # in the batch
    todo: int  # to dream in this run
    skipped: int  # done by an earlier run
    failed: int  # refused before dreaming (e.g. two masks fit)
    workers: int
    threads: int
    seed: int


@dataclass(frozen=True)
class ItemFinished:
    rel: str
    status: str  # done, failed
    seconds: float
    error: str | None
    finished: int  # items of this run finished so far (done or failed)
    todo: int


@dataclass
class BatchSummary:
    items: int
    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (rel, one line)
    seconds: float = 0.0
    manifest: Path | None = None

    @property
    def images_per_minute(self) -> float:
        return 60.0 * self.done / self.seconds if self.seconds > 0 else 0.0


def default_threads(workers: int) -> int:
    """The machine's cores shared among the workers (one torch thread at least)."""
    return max(1, (os.cpu_count() or 1) // workers)


def batch_digest(dream: DreamConfig, batch: BatchConfig, model_name: str) -> str:
    """What an output must have been made with to count as done: the dream settings (the seed
    is compared per item, as the item's own), the model and the format."""
    settings = dream.to_dict()
    settings.update(seed=None, model=model_name, mask=None, guide=None)
    text = json.dumps({"settings": settings, "format": batch.format}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _embedded(path: Path) -> dict | None:
    """An existing output's settings, from its header alone (no pixels decoded)."""
    try:
        with Image.open(path) as img:
            return settings_of(img)
    except Exception:  # noqa: BLE001 - unreadable or not ours: it does not count as done
        return None


def _matches(found: dict | None, expected: dict) -> bool:
    return found is not None and all(found.get(k) == v for k, v in expected.items())


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise OSError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def run_batch(
    batch: BatchConfig,
    dream: DreamConfig,
    model: DreamModel | None = None,
    *,
    force: bool = False,
    progress: Callable[[object], None] | None = None,
) -> BatchSummary:
    """Dream every item of `batch` with `dream`'s settings. `model`: a loaded model, dreamed with
    in this process (one worker, local backend); else each worker loads `dream.model`.
    `progress` gets BatchStarted, ItemProgress and ItemFinished. A bad item is recorded and the
    batch goes on; usage problems raise before anything is dreamed."""
    report = progress or (lambda event: None)
    if dream.mask is not None and batch.mask_dir is not None:
        raise ConfigError("give either --mask (one mask for every photo) or --mask-dir, not both")
    if dream.guide is not None and batch.guide_dir is not None:
        raise ConfigError("give either --guide (one guide for every photo) or --guide-dir, not both")
    for name in ("mask", "guide"):
        value = getattr(dream, name)
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise ConfigError(f"a batch takes its {name} as a file path")
    items, problems = collect_items(batch.inputs, batch.outdir, batch.recursive, batch.format,
                                    batch.mask_dir, batch.guide_dir)
    outdir = Path(batch.outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot make {outdir}: {exc.strerror or exc}") from None
    check_directory_writable(outdir)

    manifest = Manifest(outdir)
    earlier = manifest.last_run() or {}
    seed = dream.seed if dream.seed is not None else earlier.get("seed")
    seed = draw_seed(seed if isinstance(seed, int) else None)
    threads = batch.threads or earlier.get("threads") or default_threads(batch.workers)
    if model is not None and batch.threads is None:
        import torch

        threads = torch.get_num_threads()  # a loaded model dreams here, with this process's threads
    model_name = model.name if model is not None else dream.model
    digest = batch_digest(dream, batch, model_name)
    shared = {name: _shared(getattr(dream, name), name) for name in ("mask", "guide")}

    def record_for(item: BatchItem) -> dict:
        mask = str(item.mask) if item.mask else (str(dream.mask) if dream.mask else None)
        guide = str(item.guide) if item.guide else (str(dream.guide) if dream.guide else None)
        return {"item": item.rel, "batch": digest, "seed": item_seed(seed, item.rel),
                "mask": mask, "guide": guide}

    summary = BatchSummary(len(items), manifest=manifest.path)
    todo: list[BatchItem] = []
    refused: list[tuple[BatchItem, str]] = []
    for item in items:
        if item.rel in problems:
            refused.append((item, problems[item.rel]))
        elif item.output.exists():
            if _matches(_embedded(item.output), record_for(item)):
                summary.skipped += 1
            elif force:
                todo.append(item)
            else:
                refused.append((item, f"{item.out_rel} exists in {outdir} with other settings; --force replaces it"))
        else:
            todo.append(item)

    _check_space(todo, outdir, dream.max_size)
    manifest.begin({"seed": seed, "threads": threads, "batch": digest, "items": len(items),
                    "todo": len(todo), "settings": replace(dream, seed=seed).to_dict(),
                    "format": batch.format, "deepdreamer": package_version()})
    start = time.monotonic()
    finished = 0
    try:
        report(BatchStarted(len(items), len(todo), summary.skipped, len(refused), batch.workers, threads, seed))
        for item, why in refused:
            summary.failed.append((item.rel, why))
            manifest.write({"item": item.rel, "status": "failed", "error": why, "seconds": 0.0,
                            "output": item.out_rel, "attempts": 0})
            report(ItemFinished(item.rel, "failed", 0.0, why, 0, len(todo)))
        by_rel = {item.rel: item for item in todo}
        unreadable: list[tuple[BatchItem, str]] = []

        def inputs() -> Iterator[ItemInput]:
            for item in todo:
                try:
                    image = item.source.read_bytes()
                    mask = _read(item.mask, "mask") or shared["mask"]
                    guide = _read(item.guide, "guide") or shared["guide"]
                except OSError as exc:
                    unreadable.append((item, str(exc) if str(exc).startswith("cannot") else
                                       f"cannot read {item.source}: {exc.strerror or exc}"))
                    continue
                yield ItemInput(item.rel, image, item_seed(seed, item.rel), item.output.suffix,
                                record_for(item), mask, guide)

        def end(rel: str, status: str, seconds: float, error: str | None, attempts: int) -> None:
            nonlocal finished
            finished += 1
            manifest.write({"item": rel, "status": status, "seconds": round(seconds, 3), "error": error,
                            "output": by_rel[rel].out_rel, "attempts": attempts})
            report(ItemFinished(rel, status, seconds, error, finished, len(todo)))

        for outcome in _backend(batch, dream, model, threads).run(inputs(), report):
            while unreadable:
                item, why = unreadable.pop(0)
                summary.failed.append((item.rel, why))
                end(item.rel, "failed", 0.0, why, 0)
            if isinstance(outcome, Done):
                item = by_rel[outcome.rel]
                try:
                    item.output.parent.mkdir(parents=True, exist_ok=True)
                    write_atomic(item.output, outcome.output.data)
                except (OSError, OutputError) as exc:
                    why = str(exc) if isinstance(exc, OutputError) else f"cannot write {item.output}: {exc}"
                    summary.failed.append((item.rel, why))
                    end(item.rel, "failed", outcome.output.seconds, why, outcome.attempts)
                    continue
                summary.done += 1
                end(item.rel, "done", outcome.output.seconds, None, outcome.attempts)
            elif isinstance(outcome, Failed):
                summary.failed.append((outcome.rel, outcome.error))
                end(outcome.rel, "failed", 0.0, outcome.error, outcome.attempts)
        for item, why in unreadable:
            summary.failed.append((item.rel, why))
            end(item.rel, "failed", 0.0, why, 0)
    finally:
        summary.seconds = time.monotonic() - start
        manifest.close()
    return summary


def _check_space(todo: list[BatchItem], outdir: Path, max_size: int) -> None:
    """All the outputs still to write must fit on OUTDIR's disk (sizes from the photos' headers;
    one that cannot be read will fail as an item, and takes no room)."""
    need = 0
    for item in todo:
        try:
            with Image.open(item.source) as img:
                width, height = img.size
        except Exception:  # noqa: BLE001 - reported when the item runs
            continue
        scale = min(1.0, max_size / max(width, height)) if max_size else 1.0
        need += image_bytes(round(width * scale), round(height * scale), item.output.suffix)
    check_space(outdir, need, f"the {len(todo)} outputs to write",
                lambda share: f"about {int(len(todo) * share)} would fit: free some room, or use --format jpg")


def _shared(value, what: str) -> bytes | None:
    """The one mask or guide every item gets (--mask, --guide), read once."""
    if value is None:
        return None
    try:
        return Path(value).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {value}: {exc.strerror or exc}") from None


def _backend(batch: BatchConfig, dream: DreamConfig, model: DreamModel | None, threads: int):
    # the mask and guide travel with each item as bytes; workers must not look for the paths
    dream = replace(dream, mask=None, guide=None)
    if batch.backend == "ray":
        if model is not None:
            raise ConfigError("the ray backend loads the model on each node by name: give a model spec "
                              "(a name, torchvision:NAME, timm:NAME or FILE.py:FACTORY), not a loaded model")
        from .ray_backend import RayPool

        return RayPool(dream, batch.workers, threads, batch.retries, batch.ray_address)
    if model is not None:
        if batch.workers != 1:
            raise ConfigError("a loaded model dreams in this process only: use workers=1, or give a model "
                              "spec (FILE.py:FACTORY for your own network) so each worker loads its own")
        from .local import InlinePool

        return InlinePool(dream, model, batch.threads)
    from .local import LocalPool

    return LocalPool(dream, batch.workers, threads, batch.retries)
