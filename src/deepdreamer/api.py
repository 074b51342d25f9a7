"""The public one-call API: `dream` a photo, `load_model` once and reuse it."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version

import torch
from PIL import Image

from .config import DreamConfig
from .dream_inputs import channel_objective, controls_for, guide_objective, load_mask, mask_tensor
from .engine import DreamResult, Notice, ProgressCallback, resolve_precision, run_dream
from .engine.progress import report
from .io import LoadedImage, load_image, merge_alpha, to_pil, to_tensor
from .models import DreamModel, load_model
from .objectives import Objective, parse_objective, weighted_layers

__all__ = [
    "Dreamed",
    "PreparedDream",
    "draw_seed",
    "dream",
    "dream_image",
    "package_version",
    "prepare_dream",
    "resolve_model",
]

ImageSource = str | os.PathLike | Image.Image | torch.Tensor


def package_version() -> str:
    try:
        return version("deepdreamer")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


@dataclass
class Dreamed:
    image: Image.Image  # RGB, or RGBA when the input had alpha
    settings: dict  # the resolved settings, embedded in saved outputs
    objective_history: list[float]
    notices: list[str]


def resolve_model(config: DreamConfig, model: DreamModel | None = None) -> DreamModel:
    if model is not None:
        return model
    return load_model(config.model, weights=config.weights, device=config.device)


def _load_source(source: ImageSource, max_size: int) -> LoadedImage:
    if isinstance(source, torch.Tensor):
        t = source if source.ndim == 4 else source.unsqueeze(0)
        if t.ndim != 4 or t.shape[:2] != (1, 3):
            raise ValueError(f"expected a (3,H,W) or (1,3,H,W) tensor, got {tuple(source.shape)}")
        source = to_pil(t)
    return load_image(source, max_size=max_size)


@dataclass
class PreparedDream:
    """Everything resolved once per run (model, objective, precision) so that many images or
    frames can be dreamed with the same settings: what zoom, video and a server reuse."""

    config: DreamConfig  # as given (seed may still be None)
    net: DreamModel
    objective: Objective
    layers: tuple[tuple[str, float], ...]
    precision: str  # what runs: 'fp32' or 'bf16', never 'auto'
    mask: Image.Image | None = None  # 8-bit grey, resized to each image dreamed

    def dream_tensor(
        self, image: torch.Tensor, seed: int, progress: ProgressCallback | None = None
    ) -> DreamResult:
        """Dream a (1,3,H,W) tensor in [0,1] with these settings and this seed."""
        c = self.config
        mask = None
        if self.mask is not None:
            mask, note = mask_tensor(self.mask, image.shape[-1], image.shape[-2])
            if note:
                report(progress, Notice(note))
        return run_dream(
            self.net,
            image,
            self.objective,
            octaves=c.octaves,
            octave_scale=c.octave_scale,
            steps=c.steps,
            step_size=c.step_size,
            jitter=c.jitter,
            seed=seed,
            progress=progress,
            precision=self.precision,
            tile_size=c.tile_size,
            controls=controls_for(c, mask),
        )

    def settings(self, seed: int, **extra) -> dict:
        """The resolved settings to embed in an output ('auto' saved as what ran)."""
        resolved = replace(
            self.config, layers=self.layers, seed=seed, model=self.net.name, precision=self.precision
        )
        settings = resolved.to_dict()
        settings.update(weights=self.net.weights, deepdreamer=package_version(), **extra)
        return settings


def prepare_dream(
    config: DreamConfig, model: DreamModel | None = None, image: torch.Tensor | None = None
) -> PreparedDream:
    """Resolve the model, the objective, the precision and the guide/mask of a config; checks
    names and files early. `image` is what `--channels top:K` ranks channels on."""
    net = resolve_model(config, model)
    if config.objective:
        layers = config.layers
        objective = parse_objective(config.objective, net.entry)
    else:
        layers = config.layers or ((net.entry.default_layer, 1.0),)
        for name, _ in layers:
            net.entry.layer(name)  # unknown layer -> one line with the closest names
        objective = weighted_layers(list(layers))
        if config.guide:
            objective = guide_objective(net, layers[0][0], config.guide)
        elif config.channels:
            objective = channel_objective(net, layers[0][0], config.channels, image)
    precision = resolve_precision(config.precision, net.device)
    mask = load_mask(config.mask) if config.mask else None
    return PreparedDream(config, net, objective, tuple(layers), precision, mask)


def draw_seed(seed: int | None) -> int:
    """The given seed, or a fresh one (recorded in the output so any run can be repeated)."""
    return seed if seed is not None else random.SystemRandom().randrange(2**31)


def dream_image(
    config: DreamConfig,
    source: ImageSource,
    model: DreamModel | None = None,
    progress: ProgressCallback | None = None,
) -> Dreamed:
    """Dream one image with fully resolved settings; what the CLI and a server call."""
    loaded = _load_source(source, config.max_size)
    pixels = to_tensor(loaded.rgb)
    prepared = prepare_dream(config, model, image=pixels)
    seed = draw_seed(config.seed)
    result = prepared.dream_tensor(pixels, seed, progress)
    settings = prepared.settings(seed, octaves_used=len(result.octave_sizes))
    image = merge_alpha(to_pil(result.image), loaded.alpha)
    return Dreamed(image, settings, result.objective_history, result.notices)


def dream(
    image: ImageSource,
    model: str | DreamModel = DreamConfig.model,
    layers: str | list[str] | dict[str, float] | None = None,
    *,
    progress: ProgressCallback | None = None,
    **settings,
) -> Image.Image:
    """Dream a path, PIL image or tensor; returns a PIL image of the same size.

    `layers`: a name, a list of names, or {name: weight}. Other keywords are DreamConfig fields
    (octaves, octave_scale, steps, step_size, jitter, seed, max_size, weights, device,
    precision, guide, mask, channels, lap_levels, rotate_jitter, scale_jitter, keep_colors);
    `preset="deep"` starts from a named look that these keywords override.
    """
    if isinstance(layers, str):
        layers = [layers]
    pairs = tuple(layers.items()) if isinstance(layers, dict) else tuple((n, 1.0) for n in layers or ())
    loaded = model if isinstance(model, DreamModel) else None
    settings["model"] = loaded.name if loaded else model
    if pairs:
        settings["layers"] = pairs
    preset = settings.pop("preset", None)
    if preset:  # the named look, with these keywords on top (settings_file's precedence)
        from .settings_file import build_config

        config = build_config(settings, preset=preset)
    else:
        config = DreamConfig(**settings)
    out = dream_image(config, image, model=loaded, progress=progress)
    out.image.info["deepdreamer"] = out.settings
    return out.image
