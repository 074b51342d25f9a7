"""Feature visualisation runs from a config: `render_config` (a VisualizeConfig in, images and the
settings to embed out), `render_sheet` (a contact sheet of channels) and `activations_config`.
What the CLI, a server and the one-call `deepdreamer.visualize` use."""

from __future__ import annotations

from dataclasses import dataclass, replace

from PIL import Image

from ..config import ActivationsConfig, VisualizeConfig
from ..engine.progress import ProgressCallback
from ..io import to_pil
from ..io.sources import ImageInput
from ..models import DreamModel
from ..objectives import Objective, channel, diversity, parse_channel_list, parse_objective, per_item
from ..pipeline import checked_objective, draw_seed, load_source, package_version, resolve_model
from .activations import ActivationMaps, activation_maps
from .grid import labelled_grid
from .param import make_param
from .render import render
from .transforms import transforms_for

__all__ = ["Visualized", "render_config", "render_sheet", "activations_config"]


@dataclass
class Visualized:
    images: list[Image.Image]  # one per batch item (per channel for a sheet)
    labels: list[str]  # what each image shows
    settings: dict  # the resolved settings, embedded in saved outputs
    objective_history: list[float]
    sheet: Image.Image | None = None  # the labelled contact sheet (render_sheet only)


def _with_diversity(config: VisualizeConfig, net: DreamModel, objective: Objective) -> Objective:
    if config.batch < 2 or not config.diversity:
        return objective
    layer = config.diversity_layer
    if layer is None:
        layer = objective.layers[-1]
        if layer == net.entry.logits_layer:  # logits have no spatial 'style' to compare
            layer = net.entry.default_layer
    net.entry.layer(layer)  # unknown name -> one line with suggestions
    return objective + config.diversity * diversity(layer)


def _run(config: VisualizeConfig, net: DreamModel, objective: Objective, batch: int,
         progress: ProgressCallback | None) -> tuple[list[Image.Image], dict, list[float]]:
    seed = draw_seed(config.seed)
    param = make_param(config.param, batch, config.size, config.size, seed, device=net.device, decay=config.decay)
    result = render(
        net, objective, param, steps=config.steps, lr=config.lr, seed=seed,
        transforms=transforms_for(config),
        tv=config.tv, blur=config.blur, progress=progress,
    )
    settings = replace(config, seed=seed, model=net.name).to_dict()
    settings.update(kind="visualize", weights=net.weights, deepdreamer=package_version())
    images = [to_pil(result.images[i : i + 1]) for i in range(batch)]
    return images, settings, result.objective_history


def render_config(config: VisualizeConfig, model: DreamModel | None = None,
                  progress: ProgressCallback | None = None,
                  objective: Objective | None = None) -> Visualized:
    """Render `config` (its objective spec, or `objective` when given) for `config.batch`
    images. Names are checked before any work starts."""
    net = resolve_model(config, model)
    if objective is not None:
        goal = checked_objective(objective, net)
    else:
        goal = parse_objective(config.objective, net.entry)
    goal = _with_diversity(config, net, goal)
    images, settings, history = _run(config, net, goal, config.batch, progress)
    name = objective.name if objective is not None else config.objective
    labels = [name if config.batch == 1 else f"{name} #{i + 1}" for i in range(config.batch)]
    return Visualized(images, labels, settings, history)


def render_sheet(config: VisualizeConfig, model: DreamModel | None = None,
                 progress: ProgressCallback | None = None) -> Visualized:
    """One image per channel of `config.objective` ('blocks.5:0-15'), rendered as one batch,
    and a contact sheet with each tile labelled."""
    net = resolve_model(config, model)
    layer, chans = parse_channel_list(config.objective, net.entry)
    goal = per_item([channel(layer, c) for c in chans])
    images, settings, history = _run(config, net, goal, len(chans), progress)
    labels = [f"{layer}:{c}" for c in chans]
    settings["sheet"] = True
    return Visualized(images, labels, settings, history, sheet=labelled_grid(images, labels))


def activations_config(config: ActivationsConfig, source: ImageInput,
                       model: DreamModel | None = None) -> ActivationMaps:
    """The lower-level call behind `deepdreamer activations`."""
    net = resolve_model(config, model)
    layer = config.layer or net.entry.default_layer
    loaded = load_source(source, config.max_size)
    return activation_maps(net, loaded.rgb, layer, config.top, tile=config.tile)
