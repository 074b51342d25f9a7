"""The public one-call API: `dream` a photo, `visualize` an objective, `zoom`, `dream_video`.

Every call takes the same keywords, turned into typed configs by one function
(`configs_from_keywords`): DreamConfig/VisualizeConfig fields, the motion configs' fields, and
`preset=` (a named look the other keywords override). Load a model once with `load_model` and
pass it to every call; one model may serve many threads at once."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from .config import ActivationsConfig, BatchConfig, DreamConfig, FrameTime, VideoConfig, VisualizeConfig, ZoomConfig, parse_frame_time
from .engine import ProgressCallback
from .errors import UnknownNameError
from .io.sources import ImageInput, like_input
from .models import DreamModel, load_model
from .objectives import Objective
from .pipeline import Dreamed, dream_image, package_version
from .settings_file import build_config, checked_types, layer_pairs

if TYPE_CHECKING:
    from .batch import BatchSummary
    from .motion.run import MotionResult

__all__ = [
    "activations",
    "batch",
    "configs_from_keywords",
    "dream",
    "dream_image",
    "dream_video",
    "feature_sheet",
    "load_model",
    "package_version",
    "visualize",
    "zoom",
]

LayerSpec = str | list[str] | tuple[str, ...] | Mapping[str, float]


def _zoom_values(values: dict) -> dict:
    if isinstance(values.get("cycle"), str):
        values["cycle"] = (values["cycle"],)
    for key in ("pan", "size", "cycle"):
        if key in values:
            values[key] = tuple(values[key])
    return values


def _video_values(values: dict) -> dict:
    for key in ("start", "end"):
        value = values.get(key)
        if value is not None and not isinstance(value, FrameTime):
            values[key] = parse_frame_time(str(value))
    return values


_NORMALISE = {ZoomConfig: _zoom_values, VideoConfig: _video_values}


def configs_from_keywords(
    primary: type,
    keywords: Mapping[str, Any],
    *,
    model: str | DreamModel | None = None,
    layers: LayerSpec | None = None,
    extra: tuple[type, ...] = (),
) -> tuple[Any, list[Any], DreamModel | None]:
    """Keywords -> (the `primary` config, one config per `extra` type, the loaded model or None).

    Each keyword goes to the config that has a field of its name (an unknown one is refused in
    one line, with the closest names); `preset=` starts the primary config from a named look
    (dream presets for DreamConfig, visualisation presets for VisualizeConfig) that the other
    keywords override; `model` may be a name or a loaded DreamModel; `layers` a name, a list of
    names or {name: weight}."""
    values = dict(keywords)
    loaded = model if isinstance(model, DreamModel) else None
    if model is not None:
        values["model"] = loaded.name if loaded else model
    if layers is not None:
        values["layers"] = layer_pairs(layers)
    preset = values.pop("preset", None)
    own = {f.name for f in fields(primary)}
    groups: list[dict] = [{} for _ in extra]
    for key in list(values):
        if key in own:
            continue
        for group, kind in zip(groups, extra):
            if key in {f.name for f in fields(kind)}:
                group[key] = values.pop(key)
                break
        else:
            choices = own.union(*({f.name for f in fields(k)} for k in extra)) | {"preset"}
            raise UnknownNameError("setting", key, choices)
    config = build_config(values, preset=preset, config_type=primary)
    others = [kind(**_NORMALISE.get(kind, dict)(checked_types(kind, group)))
              for kind, group in zip(extra, groups)]
    return config, others, loaded


def dream(
    image: ImageInput,
    model: str | DreamModel = DreamConfig.model,
    layers: LayerSpec | None = None,
    *,
    progress: ProgressCallback | None = None,
    **settings,
) -> Image.Image | torch.Tensor | np.ndarray:
    """Dream an image; returns it in the form it was given, at the same size (after
    `max_size`): a PIL image for a path or PIL image (its `.info['deepdreamer']` holds the
    settings), a float tensor for a tensor ((3,H,W) or (1,3,H,W), on the input's device), an
    array for an array. Floats stay floats from input to output.

    `layers`: a name, a list of names, or {name: weight}. `objective=`: a spec string or an
    Objective value (`dd.objectives.channel("blocks.4", 7) - 0.5 * dd.objectives.neuron(...)`).
    `guide=` and `mask=`: a path, PIL image, array or tensor. Other keywords are DreamConfig
    fields (octaves, octave_scale, steps, step_size, jitter, seed, max_size, weights, device,
    precision, channels, lap_levels, rotate_jitter, scale_jitter, keep_colors, tile_size);
    `preset="deep"` starts from a named look that these keywords override. `progress` gets
    the engine's events; return False from it to cancel."""
    config, _, loaded = configs_from_keywords(DreamConfig, settings, model=model, layers=layers)
    out = dream_image(config, image, model=loaded, progress=progress)
    return _as_given(image, out)


def _as_given(source: ImageInput, out: Dreamed):
    given = like_input(source, out.pixels, out.alpha)
    if given is not None:
        return given
    image = out.image
    image.info["deepdreamer"] = out.settings
    return image


def zoom(
    source: str | os.PathLike | Image.Image | None = None,
    output: str | os.PathLike | None = None,
    model: str | DreamModel = DreamConfig.model,
    layers: LayerSpec | None = None,
    *,
    progress: ProgressCallback | None = None,
    force: bool = False,
    resume: bool = False,
    keep_frames: bool = False,
    **settings,
) -> MotionResult | Iterator[Image.Image]:
    """The zoom feedback loop: dream, zoom/rotate/pan the result, dream it again.

    With `output` (an .mp4/.mov/.mkv, .gif, or a folder for numbered PNGs) the frames are
    written and a MotionResult returned; without, an iterator of PIL frames. Keywords are
    ZoomConfig fields (frames, zoom, rotate, pan, steps_per_frame, fps, init, size, cycle,
    cycle_every, colour_lock), DreamConfig fields (octaves, steps, seed, ...) and `preset=`.
    `progress` receives the engine's events and a FrameProgress per finished frame; False
    cancels."""
    from .motion.run import render_zoom

    config, (motion,), loaded = configs_from_keywords(
        DreamConfig, settings, model=model, layers=layers, extra=(ZoomConfig,))
    return render_zoom(config, motion, source, output, model=loaded, progress=progress,
                       force=force, resume=resume, keep_frames=keep_frames)


def dream_video(
    source: str | os.PathLike,
    output: str | os.PathLike | None = None,
    model: str | DreamModel = DreamConfig.model,
    layers: LayerSpec | None = None,
    *,
    progress: ProgressCallback | None = None,
    force: bool = False,
    resume: bool = False,
    keep_frames: bool = False,
    **settings,
) -> MotionResult | Iterator[Image.Image]:
    """Dream a video frame by frame; optical flow carries each frame's dream into the next.

    Keywords are VideoConfig fields (flow_blend, start, end: seconds, or '60f' for a frame),
    DreamConfig fields and `preset=`. The frame rate and the audio track are kept. Output and
    return value as for `zoom`; with `resume=True` an interrupted run continues from the
    frames it kept."""
    from .motion.run import render_video

    config, (motion,), loaded = configs_from_keywords(
        DreamConfig, settings, model=model, layers=layers, extra=(VideoConfig,))
    return render_video(config, motion, source, output, model=loaded, progress=progress,
                        force=force, resume=resume, keep_frames=keep_frames)


def visualize(objective: str | Objective, model: str | DreamModel = VisualizeConfig.model, *,
              progress: ProgressCallback | None = None, **settings) -> list[Image.Image]:
    """The images that most excite `objective` (a spec such as 'blocks.5:37' or
    'class:dumbbell', or an Objective from `deepdreamer.objectives`). Other keywords are
    VisualizeConfig fields (size, steps, param, batch, diversity, lr, transforms, tv, blur,
    seed, weights, device) and `preset=` ('quick', 'standard', 'detailed', 'diverse'). Each
    image's `.info['deepdreamer']` holds the settings."""
    from .visualize.run import render_config

    spec = objective if isinstance(objective, str) else objective.name
    config, _, loaded = configs_from_keywords(
        VisualizeConfig, dict(settings, objective=spec), model=model)
    out = render_config(config, model=loaded, progress=progress,
                        objective=None if isinstance(objective, str) else objective)
    for image in out.images:
        image.info["deepdreamer"] = out.settings
    return out.images


def feature_sheet(channels: str, model: str | DreamModel = VisualizeConfig.model, *,
                  progress: ProgressCallback | None = None, **settings) -> Image.Image:
    """A labelled contact sheet of channel visualisations, e.g. `feature_sheet('blocks.5:0-15')`."""
    from .visualize.run import render_sheet

    config, _, loaded = configs_from_keywords(
        VisualizeConfig, dict(settings, objective=channels), model=model)
    out = render_sheet(config, model=loaded, progress=progress)
    out.sheet.info["deepdreamer"] = out.settings
    return out.sheet


def activations(image: ImageInput, layer: str | None = None,
                model: str | DreamModel = ActivationsConfig.model, **settings) -> Image.Image:
    """`layer`'s strongest feature maps for `image` as a labelled grid beside the image."""
    from .visualize.run import activations_config

    config, _, loaded = configs_from_keywords(
        ActivationsConfig, dict(settings, layer=layer), model=model)
    return activations_config(config, image, model=loaded).image


def batch(
    inputs: str | os.PathLike | list,
    outdir: str | os.PathLike,
    model: str | DreamModel = DreamConfig.model,
    layers: LayerSpec | None = None,
    *,
    progress: ProgressCallback | None = None,
    force: bool = False,
    **settings,
) -> BatchSummary:
    """Dream every photo of `inputs` (a file, folder or glob, or a list of them) into `outdir`,
    mirroring the inputs' tree; run it again to resume. Keywords are BatchConfig fields
    (recursive, format, mask_dir, guide_dir, workers, backend, ray_address, retries, threads),
    DreamConfig fields and `preset=`. A loaded `model` (e.g. from `wrap_model`) dreams in this
    process; a model name is loaded by each worker. A bad photo is recorded in the summary
    (and the manifest) and the batch goes on. `progress` gets BatchStarted, ItemProgress and
    ItemFinished events."""
    from .batch import run_batch

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    keywords = dict(settings, inputs=tuple(os.fspath(i) for i in inputs), outdir=os.fspath(outdir))
    config, (options,), loaded = configs_from_keywords(
        DreamConfig, keywords, model=model, layers=layers, extra=(BatchConfig,))
    return run_batch(options, config, loaded, force=force, progress=progress)
