"""deepdreamer side by side with a plain reference loop and its peers, on the same work.

    PYTHONPATH=src python benchmarks/run.py            # everything (about 15 min on 2 cores)
    PYTHONPATH=src python benchmarks/run.py --sizes 600x450 --methods reference,deepdreamer-fp32

The work, for every method: examples/chelsea.jpg resized to each size, EfficientNet-Lite0
(embedded weights), layer blocks.3, 4 octaves of scale 1.4, 10 steps per octave, jitter 32.
Every method runs in its own process (so peak RSS is its own) with 2 torch threads. Reported:
seconds per step and in total (the dream only, not model loading; after a warm-up, the best of
2 runs), peak RSS, the objective
reached (mean squared blocks.3 activation of the output, measured the same way for all, in
fp32), speed relative to the reference loop, and the GFLOP/s achieved (FLOPs counted by torch's
FlopCounterMode on a 1-step-per-octave warm-up run of the same method) next to this machine's conv
and matmul peak measured in the same run.

"reference-mallopt" is the same plain loop after the two glibc `mallopt` calls the deepdreamer
CLI makes at start (engine code: cli/_common.py `tune_malloc`), to show how much of the gain is
the allocator's alone.

Peers (optional: `pip install .[bench]`, or `pip install --target DIR` and `--peers-path DIR`):
torch-dreams (Dreamer.render with a CustomImageParam of the image, one render per octave),
torch-lucent (render_vis with a pixel parameterisation initialised from the image, one call
per octave) and neural-dream (its main() with the model loader replaced to return Lite0). A
peer that cannot run is listed with the reason.

Writes benchmarks/results/benchmark.md and the output images (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "chelsea.jpg"
RESULTS = ROOT / "benchmarks" / "results"
LAYER = "blocks.3"
OCTAVES, SCALE, STEPS, JITTER, STEP_SIZE = 4, 1.4, 10, 32, 0.015
METHODS = ["reference", "reference-mallopt", "deepdreamer-fp32", "deepdreamer-bf16", "torch-dreams", "torch-lucent", "neural-dream"]
THREADS = 2


# ---------------------------------------------------------------------------------------------
# Shared helpers (run inside the worker processes)


def octave_sizes(h: int, w: int) -> list[tuple[int, int]]:
    return [(round(h / SCALE**i), round(w / SCALE**i)) for i in range(OCTAVES)][::-1]


def load_photo(size: tuple[int, int]):
    from PIL import Image

    from deepdreamer.io import to_tensor

    return to_tensor(Image.open(PHOTO).convert("RGB").resize(size, Image.LANCZOS))


def resize(t, hw):
    import torch.nn.functional as F

    if tuple(t.shape[-2:]) == tuple(hw):
        return t
    return F.interpolate(t, size=hw, mode="bilinear", align_corners=False)


def roll_jitter(rng):
    import torch

    def jitter(x):
        oy, ox = rng.randint(-JITTER, JITTER), rng.randint(-JITTER, JITTER)
        return torch.roll(x, shifts=(oy, ox), dims=(2, 3))

    return jitter


# ---------------------------------------------------------------------------------------------
# The methods: each dreams `image` ((1,3,H,W) in [0,1]) with `steps` steps per octave.


def run_reference(model, image, steps):
    """The plain loop: full forward with a forward hook, L2, grad / mean|grad|, roll jitter,
    fp32, the loaded (unfolded, contiguous) network."""
    import random

    import torch

    net, rng = model.net, random.Random(0)
    store = {}
    handle = model.net.get_submodule(LAYER).register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    mean = torch.tensor(model.entry.mean).view(1, 3, 1, 1)
    std = torch.tensor(model.entry.std).view(1, 3, 1, 1)
    try:
        sizes = octave_sizes(*image.shape[-2:])
        detail = torch.zeros(1, 3, *sizes[0])
        for size in sizes:
            base = resize(image, size)
            x = (base + resize(detail, size)).clamp(0, 1)
            for _ in range(steps):
                oy, ox = rng.randint(-JITTER, JITTER), rng.randint(-JITTER, JITTER)
                x = torch.roll(x, shifts=(oy, ox), dims=(2, 3)).detach().requires_grad_(True)
                net((x - mean) / std)  # the whole network, as a plain loop does
                loss = store["a"].pow(2).mean()
                (g,) = torch.autograd.grad(loss, x)
                g = g / (g.abs().mean() + 1e-12)
                x = torch.roll((x + STEP_SIZE * g).detach(), shifts=(-oy, -ox), dims=(2, 3)).clamp(0, 1)
            detail = x - base
        return x
    finally:
        handle.remove()


def run_deepdreamer(model, image, steps, precision):
    from deepdreamer.pipeline import prepare_dream
    from deepdreamer.config import DreamConfig

    config = DreamConfig(
        layers=((LAYER, 1.0),), octaves=OCTAVES, octave_scale=SCALE, steps=steps,
        step_size=STEP_SIZE, jitter=JITTER, max_size=0, precision=precision,
    )
    return prepare_dream(config, model).dream_tensor(image, seed=0).image


def run_torch_dreams(model, image, steps):
    import random

    import torchvision.transforms as T
    from torch_dreams import Dreamer
    from torch_dreams.custom_image_param import CustomImageParam

    dreamer = Dreamer(model.net, quiet=True, device="cpu")
    dreamer.set_custom_normalization(T.Normalize(mean=model.entry.mean, std=model.entry.std))
    dreamer.set_custom_transforms(T.Compose([T.Lambda(roll_jitter(random.Random(0)))]))
    layer = model.net.get_submodule(LAYER)
    x = image
    for size in octave_sizes(*image.shape[-2:]):
        param = CustomImageParam(image=resize(x, size).clamp(0, 1), device="cpu")
        param = dreamer.render(
            layers=[layer], image_parameter=param, iters=steps, lr=2e-4, grad_clip=0.1,
            custom_func=lambda outs: -outs[0].pow(2).mean(),
        )
        x = param.to_nchw_tensor().detach().float().clamp(0, 1)
    return resize(x, tuple(image.shape[-2:]))


def run_torch_lucent(model, image, steps):
    import random

    import types

    import torch

    if "IPython" not in sys.modules:  # lucent imports IPython.display only to show images
        ipython = types.ModuleType("IPython")
        ipython.display = types.ModuleType("IPython.display")
        ipython.display.display = ipython.display.HTML = ipython.display.Image = lambda *a, **k: None
        sys.modules.update({"IPython": ipython, "IPython.display": ipython.display})
    from lucent.optvis import objectives, render

    name = LAYER.replace(".", "_")
    objective = objectives.Objective(lambda T: -T(name).pow(2).mean())
    mean = torch.tensor(model.entry.mean).view(1, 3, 1, 1)
    std = torch.tensor(model.entry.std).view(1, 3, 1, 1)
    transforms = [roll_jitter(random.Random(0)), lambda t: (t - mean) / std]
    x = image
    for size in octave_sizes(*image.shape[-2:]):
        pixels = resize(x, size).clone().requires_grad_(True)
        render.render_vis(
            model.net, objective, param_f=lambda p=pixels: ([p], lambda: p),
            optimizer=lambda params: torch.optim.Adam(params, lr=0.01),
            transforms=transforms, thresholds=(steps,), preprocess=False, progress=False,
            show_image=False, fixed_image_size=None,
        )
        x = pixels.detach().clamp(0, 1)
    return x


def run_neural_dream(model, image, steps):
    import tempfile

    import torch.nn as nn

    from deepdreamer.io import to_pil

    class Lite0(nn.Module):
        """Lite0 as neural-dream's loader would return it: 'keras' mode feeds [-1, 1]."""

        def __init__(self, net):
            super().__init__()
            self.net = net
            self.blocks3 = net.blocks[3]  # a top-level name for its hook (same module)

        def forward(self, x):
            return self.net(x)

    tmp = Path(tempfile.mkdtemp())
    src = tmp / "in.png"
    to_pil(image).save(src)
    h, w = image.shape[-2:]
    sys.argv = [
        "neural-dream", "-content_image", str(src), "-image_size", str(max(h, w)), "-gpu", "c",
        "-model_file", str(tmp / "lite0.pth"), "-model_type", "keras", "-model_mean", "0,0,0",
        "-dream_layers", "blocks3", "-num_octaves", str(OCTAVES), "-octave_scale", str(1 / SCALE),
        "-octave_iter", str(steps - 1), "-num_iterations", "1", "-jitter", str(JITTER),
        "-optimizer", "adam", "-learning_rate", "0.01", "-loss_mode", "l2", "-print_iter", "0",
        "-save_iter", "0", "-output_image", str(tmp / "out.png"), "-seed", "0", "-backend", "nn",
    ]
    import neural_dream.neural_dream as nd

    nd.params = nd.parser.parse_args(sys.argv[1:])  # it parses once, at import; runs differ
    out = {}
    nd.loadCaffemodel = lambda *a, **k: (_with_flag(Lite0(model.net)), {})
    nd.maybe_save = lambda t, img, *a: out.__setitem__("img", img.detach().clone())
    nd.print_torch = lambda *a, **k: None
    nd.main()
    return ((out["img"] / 2) + 0.5).clamp(0, 1)


def _with_flag(net):
    net.eval()
    net.has_inception = True  # neural-dream's path for nets it hooks by name
    return net


RUNNERS = {
    "reference": run_reference,
    "reference-mallopt": run_reference,  # the same loop; the worker tunes malloc first
    "deepdreamer-fp32": lambda m, i, s: run_deepdreamer(m, i, s, "fp32"),
    "deepdreamer-bf16": lambda m, i, s: run_deepdreamer(m, i, s, "bf16"),
    "torch-dreams": run_torch_dreams,
    "torch-lucent": run_torch_lucent,
    "neural-dream": run_neural_dream,
}


def _fused_conv_flops(x, w, bias, padding, stride, dilation, groups, *args, out_shape=None, **kwargs):
    """deepdreamer's conv+activation primitive (models/fuse.py) does a convolution's FLOPs."""
    from torch.utils.flop_counter import conv_flop_count

    return conv_flop_count(x, w, out_shape, transposed=False)


def fused_flops() -> dict:
    """FlopCounterMode's formulas for ops it does not know (its custom_mapping)."""
    import torch

    from deepdreamer.models.fuse import fusion_available

    if not fusion_available():  # nothing is fused then
        return {}
    return {torch.ops.mkldnn._convolution_pointwise: _fused_conv_flops}  # keyed by overload packet


def worker(method: str, size: str, out: Path, steps: int, repeats: int) -> None:
    """Run one method (see below) and print a JSON line."""
    import contextlib
    import io

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from deepdreamer.engine import evaluate_objective
    from deepdreamer.models import load_model
    from deepdreamer.objectives import layer_l2

    torch.set_num_threads(THREADS)
    if method.startswith("deepdreamer") or method == "reference-mallopt":
        from deepdreamer.cli._common import tune_malloc

        tune_malloc()  # what the deepdreamer CLI does at start
    w, h = (int(v) for v in size.split("x"))
    image = load_photo((w, h))
    model = load_model()
    model.fast_net  # noqa: B018 - built before a peer leaves hooks on model.net (lucent does)
    run = RUNNERS[method]
    # A first run with 1 step per octave counts the FLOPs (FlopCounterMode runs the real
    # kernels) and warms every method up on every octave size; then the best of `repeats`
    # timed runs, which makes a busy shared machine matter less.
    with contextlib.redirect_stdout(io.StringIO()), FlopCounterMode(display=False, custom_mapping=fused_flops()) as counter:
        run(model, image, 1)
    flops = counter.get_total_flops() * steps
    times = []
    for _ in range(repeats):
        with contextlib.redirect_stdout(io.StringIO()):  # peers print progress
            start = time.perf_counter()
            result = run(model, image, steps)
            times.append(time.perf_counter() - start)
    seconds = min(times)
    objective = layer_l2(LAYER)
    from deepdreamer.io import to_pil

    to_pil(result).save(out)
    print(json.dumps({
        # this process's peak resident set (KiB on Linux), the dream's own
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "seconds": seconds,
        "steps": OCTAVES * steps,
        "flops": flops,
        "objective": evaluate_objective(model, objective, result),
        "objective_before": evaluate_objective(model, objective, image),
    }))


def machine_peak() -> None:
    """This machine's fp32 conv and matmul throughput (GFLOP/s), with the same threads."""
    import torch

    torch.set_num_threads(THREADS)

    def best(fn, flops):
        fn()
        times = []
        for _ in range(5):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return flops / min(times) / 1e9

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    matmul = best(lambda: a @ b, 2 * 2048**3)
    conv = torch.nn.Conv2d(128, 128, 3, padding=1, bias=False).eval().to(memory_format=torch.channels_last)
    x = torch.randn(1, 128, 112, 112).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        c = best(lambda: conv(x), 2 * 128 * 128 * 9 * 112 * 112)
    print(json.dumps({"matmul_gflops": matmul, "conv_gflops": c, "cpu": torch.backends.cpu.get_cpu_capability()}))


# ---------------------------------------------------------------------------------------------
# The driver


def spawn(args: list[str], peers_path: str | None) -> tuple[dict | None, str]:
    """Run this file with `args` in a fresh process; its last stdout line is JSON."""
    env = dict(os.environ)
    paths = [str(ROOT / "src")] + ([peers_path] if peers_path else []) + [env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    proc = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return None, reason[:200]
    return json.loads(proc.stdout.strip().splitlines()[-1]), ""


def main() -> None:
    p = argparse.ArgumentParser(description="deepdreamer vs a plain loop and peers")
    p.add_argument("--sizes", default="600x450,1200x900")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--peers-path", default=os.environ.get("DEEPDREAMER_PEERS"), help="a pip --target directory holding the peers")
    p.add_argument("--steps", type=int, default=STEPS, help="steps per octave (a quick check: 2)")
    p.add_argument("--repeats", type=int, default=2, help="timed runs per method (the best counts)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--size", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--peak", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.peak:
        return machine_peak()
    if args.worker:
        return worker(args.worker, args.size, Path(args.out), args.steps, args.repeats)

    import torch

    from deepdreamer.cpu import native_bf16

    RESULTS.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    peak, _ = spawn(["--peak"], None)
    rows = []
    for size in args.sizes.split(","):
        ref_seconds = None
        for method in args.methods.split(","):
            image = RESULTS / f"{size}-{method}.jpg"
            if method == "deepdreamer-bf16" and not native_bf16():
                why = (
                    f"this CPU ({torch.backends.cpu.get_cpu_capability()}) has no native bf16, so "
                    f"bf16 is emulated (55x slower in a 300x225 trial); --precision auto runs fp32 here"
                )
                rows.append({"size": size, "method": method, "error": why})
                continue
            res, why = spawn(
                ["--worker", method, "--size", size, "--out", str(image), "--steps", str(args.steps),
                 "--repeats", str(args.repeats)],
                args.peers_path,
            )
            row = {"size": size, "method": method, "error": why, **(res or {})}
            if res and method == "reference":
                ref_seconds = res["seconds"]
            if res and ref_seconds:
                row["speedup"] = ref_seconds / res["seconds"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    load_after = os.getloadavg()
    write_table(rows, peak, load_before, load_after)


def write_table(rows, peak, load_before, load_after) -> None:
    lines = [
        f"Work: examples/chelsea.jpg, efficientnet-lite0, {LAYER}, {OCTAVES} octaves x {SCALE}, "
        f"{rows[0]['steps'] // OCTAVES if rows and 'steps' in rows[0] else STEPS} steps/octave, jitter {JITTER}; {THREADS} threads; each method in its own process; time = best of the timed runs after a warm-up.",
        f"Machine peak (fp32, same threads): conv {peak['conv_gflops']:.0f} GFLOP/s, matmul "
        f"{peak['matmul_gflops']:.0f} GFLOP/s, CPU capability {peak['cpu']}. "
        f"Load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after."
        if peak else "Machine peak: not measured",
        "",
        "| size | method | s/step | total s | speed vs reference | peak RSS GB | objective reached | GFLOP/s | image |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['size']} | {r['method']} | - | - | - | - | - | - | did not run: {r['error']} |")
            continue
        lines.append(
            f"| {r['size']} | {r['method']} | {r['seconds'] / r['steps']:.3f} | {r['seconds']:.1f} | "
            f"{r.get('speedup', float('nan')):.2f}x | {r['rss']:.2f} | {r['objective']:.1f} "
            f"(from {r['objective_before']:.1f}) | {r['flops'] / r['seconds'] / 1e9:.0f} | "
            f"{r['size']}-{r['method']}.jpg |"
        )
    text = "\n".join(lines) + "\n"
    (RESULTS / "benchmark.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
