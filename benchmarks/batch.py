"""Batch throughput: images per minute with 1 local worker, 2 local workers, and Ray on two
local nodes, and what each backend costs per item beyond the dream itself.

    PYTHONPATH=src python benchmarks/batch.py                    # ~2 min on 2 cores
    PYTHONPATH=src python benchmarks/batch.py --items 8 --size 300x225 --backends local-1,local-2

The work: --items photos (scikit-image's real ones, cycled, resized to --size, 600x450 by
default) in a temporary folder, `run_batch` with the default dream settings and seed 0, once per
backend, each into its own empty output folder:
- local-1: one worker process with every core (the default: `--workers 1`);
- local-2: two worker processes with one torch thread each;
- ray-2: Ray with two actors of one thread, on a two-node cluster started on this machine
  (nodes on 127.0.0.2 and 127.0.0.3, one CPU each; scripts/ray_local_cluster.py), so the
  actors land one a node, as on two machines.
Reported: wall seconds from the call to its return (worker start and model loads included),
the same without the start (from the first item's end minus its own dream time), images per
minute (steady), the mean seconds a worker spent in the item function (decode, dream, encode),
and the overhead per item: steady wall time x workers / items - that mean (what scheduling,
transport and writing add per item, per worker). Writes nothing outside temporary folders.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

BACKENDS = ("local-1", "local-2", "ray-2")


def make_photos(folder: Path, count: int, size: tuple[int, int]) -> None:
    import numpy as np
    import skimage.data as data
    from PIL import Image

    pictures = [data.chelsea, data.coffee, data.astronaut, data.rocket]
    for i in range(count):
        image = Image.fromarray(np.asarray(pictures[i % len(pictures)]())).convert("RGB").resize(size)
        image.save(folder / f"photo{i:03d}.jpg", quality=95)


def run_one(backend: str, photos: Path, out: Path, address: str | None) -> dict:
    from deepdreamer.batch import ItemFinished, run_batch
    from deepdreamer.config import BatchConfig, DreamConfig

    workers = 1 if backend == "local-1" else 2
    config = BatchConfig(inputs=(str(photos),), outdir=str(out), workers=workers,
                         backend="ray" if backend.startswith("ray") else "local",
                         ray_address=address, threads=None if workers == 1 else 1)
    ends: list[tuple[float, float]] = []  # (when, the item's own seconds)

    def progress(event) -> None:
        if isinstance(event, ItemFinished) and event.status == "done":
            ends.append((time.perf_counter(), event.seconds))

    start = time.perf_counter()
    summary = run_batch(config, DreamConfig(seed=0), progress=progress)
    wall = time.perf_counter() - start
    if summary.failed:
        raise SystemExit(f"{backend}: {summary.failed[:3]}")
    first_end, first_own = ends[0]
    steady = ends[-1][0] - (first_end - first_own)  # from when the first item began dreaming
    item_seconds = statistics.mean(s for _, s in ends)
    return {"backend": backend, "workers": workers, "items": summary.done, "wall": wall,
            "steady": steady, "per_minute": 60 * summary.done / steady,
            "per_minute_wall": 60 * summary.done / wall, "item": item_seconds,
            "overhead": steady * workers / summary.done - item_seconds}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=16)
    p.add_argument("--size", default="600x450")
    p.add_argument("--backends", default=",".join(BACKENDS))
    args = p.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    backends = args.backends.split(",")
    rows = []
    with tempfile.TemporaryDirectory(prefix="deepdreamer-bench-batch-") as scratch:
        scratch = Path(scratch)
        photos = scratch / "photos"
        photos.mkdir()
        make_photos(photos, args.items, size)
        load = os.getloadavg()
        for backend in backends:
            cluster = None
            address = None
            if backend.startswith("ray"):
                sys.path.insert(0, str(ROOT / "scripts"))
                from ray_local_cluster import LocalCluster

                cluster = LocalCluster.start(nodes=2, cpus=1)
                address = cluster.address
                os.environ.update(cluster.env)  # the cluster's token, for this driver
            try:
                row = run_one(backend, photos, scratch / f"out-{backend}", address)
            finally:
                if cluster is not None:
                    cluster.stop()
            rows.append(row)
            print(f"[{backend}] {row['items']} items in {row['wall']:.1f} s", flush=True)
        after = os.getloadavg()
    print()
    print(f"Work: {args.items} photos at {size[0]}x{size[1]}, default dream settings, seed 0; "
          f"{os.cpu_count()} cores. Load average (1 min) {load[0]:.2f} before, {after[0]:.2f} after.")
    print()
    print("| backend | workers | wall s (with start) | steady s | images/min (steady) | images/min (wall) "
          "| item function s (mean) | overhead s/item |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['workers']} | {r['wall']:.1f} | {r['steady']:.1f} | {r['per_minute']:.1f} "
              f"| {r['per_minute_wall']:.1f} | {r['item']:.2f} | {r['overhead']:.3f} |")


if __name__ == "__main__":
    main()
