"""Peak memory and time of dreaming big images at full size (the "any size, bounded memory"
claim): each size runs `deepdreamer dream` in its own process and reads that process's peak RSS.

    PYTHONPATH=src python benchmarks/big_images.py [--sizes 4096x4096,7680x4320] [--steps 2]

Writes benchmarks/results/big_images.md (git-ignored) and prints the table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "chelsea.jpg"
RESULTS = ROOT / "benchmarks" / "results"


def run_one(width: int, height: int, steps: int, octaves: int, extra: list[str], workdir: Path) -> dict:
    src = workdir / f"in-{width}x{height}.png"
    if not src.exists():
        Image.open(PHOTO).convert("RGB").resize((width, height), Image.BICUBIC).save(src, compress_level=1)
    out = workdir / f"out-{width}x{height}.png"
    cmd = [
        sys.executable, "-m", "deepdreamer", "dream", str(src), "-o", str(out), "--force", "-q",
        "--max-size", "0", "--steps", str(steps), "--octaves", str(octaves), "--seed", "0", *extra,
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    start = time.perf_counter()
    # A fresh wait4 per child: ru_maxrss is that child's peak resident set, in KiB on Linux.
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().strip()
    code = os.waitstatus_to_exitcode(status)
    return {
        "size": f"{width}x{height}",
        "steps": octaves * steps,
        "seconds": seconds,
        "peak_rss_gb": usage.ru_maxrss / 1024**2,
        "ok": code == 0,
        "error": err.splitlines()[-1] if code and err else "",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="4096x4096,7680x4320")
    p.add_argument("--steps", type=int, default=2, help="steps per octave")
    p.add_argument("--octaves", type=int, default=2)
    p.add_argument("--extra", default="", help="more dream flags, e.g. '--tile-size 768'")
    args = p.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.sizes.split(","):
            w, h = (int(v) for v in spec.lower().split("x"))
            row = run_one(w, h, args.steps, args.octaves, args.extra.split(), Path(tmp))
            rows.append(row)
            print(row, flush=True)
    lines = [
        f"Full-size dreams ({args.octaves} octaves x {args.steps} steps, {args.extra or 'default flags'}),"
        f" load average {os.getloadavg()[0]:.2f}",
        "",
        "| input | steps | time (s) | peak RSS (GB) | result |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['steps']} | {r['seconds']:.0f} | {r['peak_rss_gb']:.2f} | "
            f"{'ok' if r['ok'] else r['error']} |"
        )
    text = "\n".join(lines) + "\n"
    (RESULTS / "big_images.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
