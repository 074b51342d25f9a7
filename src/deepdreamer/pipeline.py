"""Internal: a dream prepared once (model, objective, guide, mask, precision) and run many times,
plus source loading and seeding. What the public API (api.py), the motion loops, feature
visualisation, the CLI, a server and batch jobs all call; it never prints or saves."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version

import torch
from PIL import Image

from .config import DreamConfig
from .dream_inputs import channel_objective, controls_for, guide_objective, load_mask, mask_tensor
from .engine import DreamResult, Notice, ProgressCallback, resolve_precision, run_dream
from .engine.progress import report
from .io import merge_alpha, tensor_to_array, to_pil
from .io.sources import ImageInput, Pixels, read_pixels
from .models import DreamModel, load_model
from .objectives import Objective, parse_objective, weighted_layers

__all__ = [
    "Dreamed",
    "PreparedDream",
    "checked_objective",
    "draw_seed",
    "dream_image",
    "dream_prepared",
    "load_source",
    "package_version",
    "prepare_dream",
    "resolve_model",
]


def package_version() -> str:
    try:
        return version("deepdreamer")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def resolve_model(config, model: DreamModel | None = None) -> DreamModel:
    """`model` when given (shared, loaded once), else the config's model, weights and device."""
    if model is not None:
        return model
    return load_model(config.model, weights=config.weights, device=config.device, labels=config.labels)


def draw_seed(seed: int | None) -> int:
    """The given seed, or a fresh one (recorded in the output so any run can be repeated)."""
    return seed if seed is not None else random.SystemRandom().randrange(2**31)


def load_source(source: ImageInput, max_size: int) -> Pixels:
    """The image to dream as float pixels (a tensor stays float; 8-bit inputs read as files)."""
    return read_pixels(source, max_size=max_size)


def checked_objective(objective: Objective, net: DreamModel) -> Objective:
    """An Objective value handed in by a caller, its layers checked against `net` first."""
    for name in objective.layers:
        net.entry.layer(name)  # a layer this model lacks -> one line with the closest names
    return objective


@dataclass
class PreparedDream:
    """Everything resolved once per run (model, objective, precision, mask) so that many images
    or frames can be dreamed with the same settings: what zoom, video and a server reuse."""

    config: DreamConfig  # as given (seed may still be None)
    net: DreamModel
    objective: Objective
    layers: tuple[tuple[str, float], ...]
    precision: str  # what runs: 'fp32' or 'bf16', never 'auto'
    mask: torch.Tensor | None = None  # (1,1,h,w) in [0,1], resized to each image dreamed
    channels: tuple[int, ...] | None = None  # what --channels resolved to

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
        if self.channels is not None:
            settings["channels_used"] = list(self.channels)
        return settings


def prepare_dream(
    config: DreamConfig, model: DreamModel | None = None, image: torch.Tensor | None = None
) -> PreparedDream:
    """Resolve the model, the objective, the precision and the guide/mask of a config; checks
    names and images early. `image` is what `--channels top:K` ranks channels on."""
    net = resolve_model(config, model)
    channels = None
    if isinstance(config.objective, Objective):
        layers = config.layers
        objective = checked_objective(config.objective, net)
    elif config.objective:
        layers = config.layers
        objective = parse_objective(config.objective, net.entry)
    else:
        layers = config.layers or ((net.entry.default_layer, 1.0),)
        objective = checked_objective(weighted_layers(list(layers)), net)
        if config.guide is not None:
            objective = guide_objective(net, layers[0][0], config.guide)
        elif config.channels:
            objective, channels = channel_objective(net, layers[0][0], config.channels, image)
    precision = resolve_precision(config.precision, net.device)
    mask = load_mask(config.mask) if config.mask is not None else None
    return PreparedDream(config, net, objective, tuple(layers), precision, mask, channels)


@dataclass
class Dreamed:
    """One dreamed image: float pixels (on the model's device), the input's alpha, and the
    resolved settings that are embedded in a saved output."""

    pixels: torch.Tensor  # (1, 3, H, W) float32 in [0, 1]
    alpha: torch.Tensor | None  # (1, 1, H, W) of the input, or None
    settings: dict
    objective_history: list[float] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @cached_property
    def image(self) -> Image.Image:
        """As a PIL image: RGB, or RGBA when the input had alpha."""
        alpha = None if self.alpha is None else Image.fromarray(tensor_to_array(self.alpha)[..., 0])  # 2-D uint8: mode L
        return merge_alpha(to_pil(self.pixels), alpha)


def dream_image(
    config: DreamConfig,
    source: ImageInput,
    model: DreamModel | None = None,
    progress: ProgressCallback | None = None,
) -> Dreamed:
    """Dream one image with fully resolved settings; what the CLI calls."""
    loaded = load_source(source, config.max_size)
    return dream_prepared(prepare_dream(config, model, image=loaded.rgb), loaded, progress)


def dream_prepared(prepared: PreparedDream, loaded: Pixels,
                   progress: ProgressCallback | None = None) -> Dreamed:
    """Dream a loaded source with a prepared dream: what a server calls after it checked the
    request by loading and preparing it once."""
    seed = draw_seed(prepared.config.seed)
    result = prepared.dream_tensor(loaded.rgb, seed, progress)
    settings = prepared.settings(seed, octaves_used=len(result.octave_sizes))
    return Dreamed(result.image, loaded.alpha, settings, result.objective_history, result.notices)
