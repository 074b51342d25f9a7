"""Run each atheris harness for N seconds and report executions, coverage and findings.

    .venv/bin/python fuzz/run.py --seconds 600                 # all four, one after another
    .venv/bin/python fuzz/run.py --seconds 60 image_loader toml_settings

Not run by CI (a harness holds a core for as long as it runs). Each harness starts from a small
seed corpus made here (valid images of every format, real settings, spec examples) kept in
fuzz/corpus/<harness>/ (git-ignored) and grown by the fuzzer; a finding is written as
fuzz/findings/<harness>/crash-*: fix it, and keep the input as a regression test in
tests/hardening/."""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HARNESSES = ("image_loader", "embedded_settings", "toml_settings", "objective_parser")


def _images() -> list[bytes]:
    import numpy as np
    from PIL import Image

    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 256, (9, 13, 3), dtype=np.uint8))
    out = []
    for fmt, modes in {"PNG": ["L", "LA", "P", "RGB", "RGBA", "I;16"], "JPEG": ["L", "RGB", "CMYK"],
                       "WEBP": ["RGB", "RGBA"], "TIFF": ["L", "RGB", "CMYK", "F"], "BMP": ["P", "RGB"],
                       "GIF": ["P"]}.items():
        for mode in modes:
            buffer = io.BytesIO()
            image = rgb.convert(mode) if mode not in ("I;16", "F") else rgb.convert("L").convert(mode)
            image.save(buffer, format=fmt)
            out.append(buffer.getvalue())
    return out


def seeds(name: str) -> list[bytes]:
    settings = {"layers": [["blocks.4", 1.0]], "octaves": 4, "steps": 10, "seed": 3, "step_size": 0.015,
                "preset": "deep", "mask": None, "tile_size": None, "deepdreamer": "0.1.0"}
    return {
        "image_loader": _images,
        "embedded_settings": lambda: [json.dumps(settings).encode(), b'{"octaves": 1e400}', b"[]"],
        "toml_settings": lambda: [b'layer = ["blocks.4:0.5", "blocks.5"]\noctaves = 3\nstep-size = 0.02\n',
                                  b'preset = "deep"\ntile_size = "auto"\nobjective = "class:goldfish"\n'],
        "objective_parser": lambda: [s.encode() for s in (
            "blocks.4", "blocks.5:37", "blocks.5:37@3,4", "blocks.5:3,7,12-15", "class:goldfish",
            "blocks.4 - 0.5*blocks.5:12", "top:8", "blocks.3:0.5")],
    }[name]()


def run(name: str, seconds: int) -> dict:
    corpus = HERE / "corpus" / name
    findings = HERE / "findings" / name
    corpus.mkdir(parents=True, exist_ok=True)
    findings.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(seeds(name)):
        (corpus / f"seed-{i:02d}").write_bytes(data)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(HERE / f"{name}.py"), f"-max_total_time={seconds}", f"-artifact_prefix={findings}/",
         "-print_final_stats=1", "-rss_limit_mb=4096", str(corpus)],
        capture_output=True, text=True, cwd=HERE)
    log = proc.stdout + proc.stderr
    (HERE / "findings" / f"{name}.log").write_text(log)
    last = [line for line in log.splitlines() if re.match(r"#\d+", line)]
    stats = dict(re.findall(r"(stat::\w+):\s+(\d+)", log))
    cov = re.search(r"cov: (\d+) ft: (\d+)", last[-1]) if last else None
    return {"harness": name, "seconds": round(time.monotonic() - start),
            "runs": int(stats.get("stat::number_of_executed_units", 0)),
            "coverage": int(cov.group(1)) if cov else None, "features": int(cov.group(2)) if cov else None,
            "corpus": len(list(corpus.iterdir())), "findings": sorted(p.name for p in findings.glob("crash-*")),
            "exit": proc.returncode}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("harnesses", nargs="*", default=list(HARNESSES))
    p.add_argument("--seconds", type=int, default=600)
    args = p.parse_args()
    print("| harness | seconds | executions | coverage (edges) | features | corpus | findings |")
    print("|---|---|---|---|---|---|---|")
    for name in args.harnesses:
        r = run(name, args.seconds)
        print(f"| {r['harness']} | {r['seconds']} | {r['runs']} | {r['coverage']} | {r['features']} | "
              f"{r['corpus']} | {', '.join(r['findings']) or 'none'} |", flush=True)


if __name__ == "__main__":
    main()
