"""deepdreamer's fast path against a plain DeepDream loop on other architectures than Lite0.

    PYTHONPATH=src python benchmarks/models.py                 # resnet50 and timm:convnext_tiny (~3 min on 2 quiet cores)
    PYTHONPATH=src python benchmarks/models.py --models resnet50 --repeats 2 --size 300x225

The work, for every model and method: examples/chelsea.jpg resized to --size (600x450), the
model with random weights (`load_model(name, pretrained=False)` after torch.manual_seed(0), so
every run has the same ones: nothing is downloaded), its
default layer (`model.entry.default_layer`: layer3 for resnet50, stages.2.blocks.4 for
convnext_tiny), 4 octaves of scale 1.4, 10 steps per octave, jitter 32, step size 0.015, seed 0.
All in one process with 2 torch threads; each model is loaded once and shared by its methods.

The methods:
- plain: the straightforward loop of benchmarks/run.py's reference, on `model.net` in fp32 -
  the whole network forwarded with a forward hook on the layer, L2 objective, gradient divided
  by its mean magnitude, roll jitter, same octave pyramid.
- plain+stop: the same loop, its hook ending the forward once the layer is caught (what
  deepdreamer's models/hooks.py does), so plain -> plain+stop is what early stop alone gives.
- deepdreamer-fp32 / deepdreamer-auto: `dd.dream(image_tensor, model, layers, ...,
  precision=...)`, the API call. 'auto' is bf16 autocast on a CPU with native bf16 (the table
  says what it resolved to), else fp32.

Timing: a warm-up of every method first (1 step per octave: builds the fast net, runs the
memory probe, warms every octave size), then --repeats rounds, each running every method once,
the order reversed every other round; so the methods are interleaved and a busy machine (other
processes may be running: the load average before and after is printed) hits them alike. Rounds
stop early once --budget seconds (default 480, split over the models) are used; at least one
runs, and the table says how many did.
Reported: seconds per dream, best of the rounds (and the median), plain/method; and, since two
threads on two cores slow down many times over while another process holds a core (measured
here: 5-30x), the dream at the pace of its fastest steps (every step is timed, by
octave: sum over octaves of steps x the fastest step of that octave over all rounds), which
finds the quiet moments a whole dream seldom gets, and plain/method on those; the L2
objective reached (measured in fp32 the same way for all), and which fast-path parts applied to
each model: BatchNorm2d folded (plain net's count minus the fast net's), convs fused with
their activation (FusedConvAct modules), channels_last, and the share of the full forward's
FLOPs that early stop skips (FlopCounterMode, one forward at --size). The glibc `mallopt`
tuning the CLI does at start is not applied (dd.dream does not do it); `--mallopt` applies it
to the whole process, so to every method alike.

Writes benchmarks/results/models.md (git-ignored) and prints the table.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

PHOTO = ROOT / "examples" / "chelsea.jpg"
RESULTS = ROOT / "benchmarks" / "results"
MODELS = ["resnet50", "timm:convnext_tiny"]
METHODS = ["plain", "plain+stop", "deepdreamer-fp32", "deepdreamer-auto"]
OCTAVES, SCALE, STEPS, JITTER, STEP_SIZE = 4, 1.4, 10, 32, 0.015
THREADS = 2


def load_photo(size: tuple[int, int]) -> torch.Tensor:
    from PIL import Image

    from deepdreamer.io import to_tensor

    return to_tensor(Image.open(PHOTO).convert("RGB").resize(size, Image.LANCZOS))


def octave_sizes(h: int, w: int) -> list[tuple[int, int]]:
    return [(round(h / SCALE**i), round(w / SCALE**i)) for i in range(OCTAVES)][::-1]


def resize(t: torch.Tensor, hw) -> torch.Tensor:
    if tuple(t.shape[-2:]) == tuple(hw):
        return t
    return F.interpolate(t, size=hw, mode="bilinear", align_corners=False)


class _Stop(Exception):
    pass


class StepClock:
    """Each step's wall time, by octave: the time since the previous step ended (the first step
    of an octave also carries the octave's set-up; the fastest steps never do)."""

    def __init__(self) -> None:
        self.steps: dict[int, list[float]] = {}
        self.last = time.perf_counter()

    def tick(self, octave: int) -> None:
        now = time.perf_counter()
        self.steps.setdefault(octave, []).append(now - self.last)
        self.last = now

    def on_progress(self, event) -> None:  # dd.dream's progress callback
        from deepdreamer.engine import Progress

        if isinstance(event, Progress) and event.tile == event.tiles:
            self.tick(event.octave - 1)


def run_plain(model, image: torch.Tensor, layer: str, steps: int, clock: StepClock, stop: bool = False) -> torch.Tensor:
    """benchmarks/run.py's reference loop for any model and layer; `stop` ends the forward at
    the layer instead of running the whole network."""
    net, rng, store = model.net, random.Random(0), {}

    def hook(_m, _i, out):
        store["a"] = out
        if stop:
            raise _Stop

    handle = net.get_submodule(layer).register_forward_hook(hook)
    mean = torch.tensor(model.entry.mean).view(1, 3, 1, 1)
    std = torch.tensor(model.entry.std).view(1, 3, 1, 1)
    try:
        sizes = octave_sizes(*image.shape[-2:])
        detail = torch.zeros(1, 3, *sizes[0])
        for octave, size in enumerate(sizes):
            base = resize(image, size)
            x = (base + resize(detail, size)).clamp(0, 1)
            for _ in range(steps):
                oy, ox = rng.randint(-JITTER, JITTER), rng.randint(-JITTER, JITTER)
                x = torch.roll(x, shifts=(oy, ox), dims=(2, 3)).detach().requires_grad_(True)
                try:
                    net((x - mean) / std)
                except _Stop:
                    pass
                loss = store.pop("a").pow(2).mean()
                (g,) = torch.autograd.grad(loss, x)
                g = g / (g.abs().mean() + 1e-12)
                x = torch.roll((x + STEP_SIZE * g).detach(), shifts=(-oy, -ox), dims=(2, 3)).clamp(0, 1)
                clock.tick(octave)
            detail = x - base
        return x
    finally:
        handle.remove()


def run_deepdreamer(model, image: torch.Tensor, layer: str, steps: int, clock: StepClock,
                    precision: str) -> torch.Tensor:
    import deepdreamer as dd

    return dd.dream(image, model, layer, octaves=OCTAVES, octave_scale=SCALE, steps=steps,
                    step_size=STEP_SIZE, jitter=JITTER, seed=0, max_size=0, precision=precision,
                    progress=clock.on_progress)


def runner(method: str):
    return {
        "plain": lambda m, i, l, s, c: run_plain(m, i, l, s, c),
        "plain+stop": lambda m, i, l, s, c: run_plain(m, i, l, s, c, stop=True),
        "deepdreamer-fp32": lambda m, i, l, s, c: run_deepdreamer(m, i, l, s, c, "fp32"),
        "deepdreamer-auto": lambda m, i, l, s, c: run_deepdreamer(m, i, l, s, c, "auto"),
    }[method]


@torch.no_grad()
def forward_flops(model, layer: str, image: torch.Tensor, stop: bool) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    def hook(*_):
        raise _Stop

    handle = model.net.get_submodule(layer).register_forward_hook(hook) if stop else None
    try:
        with FlopCounterMode(display=False) as counter:
            try:
                model.net(model.normalize(image))
            except _Stop:
                pass
        return counter.get_total_flops()
    finally:
        if handle is not None:
            handle.remove()


def fast_parts(model, layer: str, image: torch.Tensor) -> dict:
    """What the fast net for `layer` changed, counted on the modules."""
    from deepdreamer.models.fuse import FusedConvAct

    fast = model.fast_net_for([layer])

    def count(net, kind):
        return sum(isinstance(m, kind) for m in net.modules())

    convs = [m for m in fast.modules() if isinstance(m, nn.Conv2d) and m.weight.dim() == 4]
    full, stopped = forward_flops(model, layer, image, False), forward_flops(model, layer, image, True)
    norms = sorted({type(m).__name__ for m in model.net.modules() if "Norm" in type(m).__name__})
    acts = sorted({type(m).__name__ for m in model.net.modules()  # timm has its own GELU class
                   if type(m).__name__ in ("ReLU", "ReLU6", "Hardtanh", "GELU", "SiLU", "Swish", "Hardswish")})
    return {
        "fast_skipped": model.fast_skipped,
        "fast_is_plain": fast is model.net,
        "bn_plain": count(model.net, nn.BatchNorm2d),
        "bn_fast": count(fast, nn.BatchNorm2d),
        "convs": count(model.net, nn.Conv2d),
        "fused": count(fast, FusedConvAct),
        "channels_last": bool(convs) and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs),
        "norms": norms,
        "acts": acts,
        "stop_skips": 1 - stopped / full if full else 0.0,
        "gflop_full": full / 1e9,
    }


def bench_model(name: str, image: torch.Tensor, methods: list[str], repeats: int, steps: int,
                deadline: float) -> dict:
    from deepdreamer.engine import evaluate_objective, resolve_precision
    from deepdreamer.models import load_model
    from deepdreamer.objectives import layer_l2

    t0 = time.perf_counter()
    torch.manual_seed(0)  # the same random weights every run
    model = load_model(name, pretrained=False)
    load_s = time.perf_counter() - t0
    layer = model.entry.default_layer
    t0 = time.perf_counter()
    parts = fast_parts(model, layer, image)
    build_s = time.perf_counter() - t0
    print(f"[{name}] loaded in {load_s:.1f}s, layer {layer}, fast net + FLOP count {build_s:.1f}s: {parts}", flush=True)
    for method in methods:  # warm-up: every octave size once, fast net and memory probe built
        t0 = time.perf_counter()
        runner(method)(model, image, layer, 1, StepClock())
        print(f"[{name}] warm-up {method}: {time.perf_counter() - t0:.1f}s", flush=True)
    times: dict[str, list[float]] = {m: [] for m in methods}
    step_times: dict[str, dict[int, list[float]]] = {m: {} for m in methods}
    results = {}
    rounds = 0
    for r in range(repeats):
        if r and time.perf_counter() > deadline:  # a busy machine: fewer rounds, said in the table
            print(f"[{name}] time budget used up after {r} rounds", flush=True)
            break
        rounds += 1
        for method in methods if r % 2 == 0 else methods[::-1]:
            clock = StepClock()
            t0 = clock.last = time.perf_counter()
            results[method] = runner(method)(model, image, layer, steps, clock)
            times[method].append(time.perf_counter() - t0)
            for octave, ts in clock.steps.items():
                step_times[method].setdefault(octave, []).extend(ts)
            print(f"[{name}] round {r + 1} {method}: {times[method][-1]:.1f}s", flush=True)
    objective = layer_l2(layer)
    rows = []
    for method in methods:
        out = results[method]
        rows.append({
            "method": method,
            "best": min(times[method]),
            "median": statistics.median(times[method]),
            # the dream at the pace of each octave's fastest step: robust to a busy machine
            "fastest_steps": sum(steps * min(ts) for ts in step_times[method].values()),
            "objective": evaluate_objective(model, objective, out),
        })
    plain = next((r["best"] for r in rows if r["method"] == "plain"), None)
    plain_steps = next((r["fastest_steps"] for r in rows if r["method"] == "plain"), None)
    for row in rows:
        row["ratio"] = plain / row["best"] if plain else float("nan")
        row["ratio_steps"] = plain_steps / row["fastest_steps"] if plain_steps else float("nan")
    return {
        "name": name, "layer": layer, "parts": parts, "rows": rows, "load_s": load_s, "rounds": rounds,
        "auto": resolve_precision("auto", model.device),
        "objective_before": evaluate_objective(model, objective, image),
    }


def describe(parts: dict, auto: str) -> str:
    if parts["fast_is_plain"]:
        return f"no fast net: {parts['fast_skipped']}"
    bits = []
    folded = parts["bn_plain"] - parts["bn_fast"]
    if parts["bn_plain"]:
        bits.append(f"{folded}/{parts['bn_plain']} BatchNorm2d folded")
    else:
        bits.append(f"no BatchNorm2d to fold (norms: {', '.join(parts['norms']) or 'none'})")
    fused_note = f"{parts['fused']}/{parts['convs']} convs fused with their activation"
    if not parts["fused"]:
        fused_note += f" (activations: {', '.join(parts['acts']) or 'none'})"
    bits.append(fused_note)
    bits.append("channels_last" if parts["channels_last"] else "not channels_last")
    bits.append(f"early stop skips {parts['stop_skips']:.0%} of the full forward's "
                f"{parts['gflop_full']:.1f} GFLOP")
    bits.append(f"auto precision = {auto}")
    return "; ".join(bits)


def write_table(reports: list[dict], size: str, repeats: int, steps: int, load_before, load_after) -> str:
    from deepdreamer.cpu import native_bf16

    lines = [
        f"Work: examples/chelsea.jpg at {size}, random weights, each model's default layer, "
        f"{OCTAVES} octaves x {SCALE}, {steps} steps/octave, jitter {JITTER}; {THREADS} torch "
        f"threads, one process, methods interleaved; time = best of "
        f"{'/'.join(str(r['rounds']) for r in reports)} rounds (of {repeats} asked) after a "
        f"warm-up (median beside it). torch {torch.__version__}, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}, native bf16: {native_bf16()}, mallopt: "
        f"{'applied to the process' if os.environ.get('_MODELS_MALLOPT') else 'not applied'}. "
        f"Load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after.",
        "",
        "| model | layer | method | s/dream (best) | median | plain / method | s/dream at fastest steps | plain / method (steps) | objective reached |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for rep in reports:
        for row in rep["rows"]:
            method = row["method"]
            if method == "deepdreamer-auto":
                method += f" ({rep['auto']})"
            lines.append(
                f"| {rep['name']} | {rep['layer']} | {method} | {row['best']:.2f} | {row['median']:.2f} | "
                f"{row['ratio']:.2f}x | {row['fastest_steps']:.2f} | {row['ratio_steps']:.2f}x | {row['objective']:.3g} (from {rep['objective_before']:.3g}) |"
            )
    lines += ["", "Fast-path parts that applied (`model.fast_net_for([layer])`):", ""]
    for rep in reports:
        lines.append(f"- {rep['name']} ({rep['layer']}): {describe(rep['parts'], rep['auto'])}")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description="deepdreamer vs a plain loop on resnet50 and convnext_tiny")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated load_model names")
    p.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, of {','.join(METHODS)}")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds (the best counts)")
    p.add_argument("--size", default="600x450", help="WxH of the photo")
    p.add_argument("--steps", type=int, default=STEPS, help="steps per octave (a quick check: 2)")
    p.add_argument("--budget", type=float, default=480,
                   help="seconds of timed rounds in all (split over the models); at least one round runs")
    p.add_argument("--mallopt", action="store_true", help="apply the CLI's glibc tuning to this process")
    args = p.parse_args()

    torch.set_num_threads(THREADS)
    if args.mallopt:
        from deepdreamer.cli._common import tune_malloc

        tune_malloc()
        os.environ["_MODELS_MALLOPT"] = "1"
    methods = args.methods.split(",")
    unknown = set(methods) - set(METHODS)
    if unknown:
        p.error(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    w, h = (int(v) for v in args.size.split("x"))
    image = load_photo((w, h))
    load_before = os.getloadavg()
    print(f"load average before: {load_before}", flush=True)
    names, start = args.models.split(","), time.perf_counter()
    reports = [bench_model(name, image, methods, args.repeats, args.steps,
                           deadline=start + args.budget * (i + 1) / len(names))
               for i, name in enumerate(names)]
    load_after = os.getloadavg()
    text = write_table(reports, args.size, args.repeats, args.steps, load_before, load_after)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "models.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
