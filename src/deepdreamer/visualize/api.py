"""Feature visualisation, one call: `visualize("class:dumbbell")` -> PIL images.

`render_config` is the lower-level call the CLI and a server use: a VisualizeConfig in,
images and the settings to embed out."""

from __future__ import annotations

from dataclasses import dataclass, replace

from PIL import Image

from ..api import ImageSource, _load_source, draw_seed, package_version
from ..config import ActivationsConfig, VisualizeConfig
from ..engine.progress import ProgressCallback
from ..io import to_pil, to_tensor
from ..models import DreamModel, load_model
from ..objectives import Objective, channel, diversity, parse_channel_list, parse_objective, per_item
from .activations import ActivationMaps, activation_maps
from .grid import labelled_grid
from .param import make_param
from .render import render
from .transforms import RobustnessTransforms

__all__ = ["Visualized", "render_config", "render_sheet", "visualize", "feature_sheet",
           "activations", "activations_config"]


@dataclass
class Visualized:
    images: list[Image.Image]  # one per batch item (per channel for a sheet)
    labels: list[str]  # what each image shows
    settings: dict  # the resolved settings, embedded in saved outputs
    objective_history: list[float]
    sheet: Image.Image | None = None  # the labelled contact sheet (render_sheet only)


def _model(name: str, weights: str | None, device: str, model: DreamModel | None) -> DreamModel:
    return model if model is not None else load_model(name, weights=weights, device=device)


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
    param = make_param(config.param, batch, config.size, config.size, seed)
    result = render(
        net, objective, param, steps=config.steps, lr=config.lr, seed=seed,
        transforms=RobustnessTransforms() if config.transforms else None,
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
    net = _model(config.model, config.weights, config.device, model)
    goal = objective if objective is not None else parse_objective(config.objective, net.entry)
    goal = _with_diversity(config, net, goal)
    images, settings, history = _run(config, net, goal, config.batch, progress)
    name = objective.name if objective is not None else config.objective
    labels = [name if config.batch == 1 else f"{name} #{i + 1}" for i in range(config.batch)]
    return Visualized(images, labels, settings, history)


def render_sheet(config: VisualizeConfig, model: DreamModel | None = None,
                 progress: ProgressCallback | None = None) -> Visualized:
    """One image per channel of `config.objective` ('blocks.5:0-15'), rendered as one batch,
    and a contact sheet with each tile labelled."""
    net = _model(config.model, config.weights, config.device, model)
    layer, chans = parse_channel_list(config.objective, net.entry)
    goal = per_item([channel(layer, c) for c in chans])
    images, settings, history = _run(config, net, goal, len(chans), progress)
    labels = [f"{layer}:{c}" for c in chans]
    settings["sheet"] = True
    return Visualized(images, labels, settings, history, sheet=labelled_grid(images, labels))


def visualize(objective: str | Objective, model: str | DreamModel = VisualizeConfig.model, *,
              progress: ProgressCallback | None = None, **settings) -> list[Image.Image]:
    """The images that most excite `objective` (a spec such as 'blocks.5:37' or
    'class:dumbbell', or an Objective from `deepdreamer.objectives`). Other keywords are
    VisualizeConfig fields (size, steps, param, batch, diversity, lr, transforms, tv, blur,
    seed, weights, device). Each image's `.info['deepdreamer']` holds the settings."""
    loaded = model if isinstance(model, DreamModel) else None
    spec = objective if isinstance(objective, str) else objective.name
    config = VisualizeConfig(objective=spec, model=loaded.name if loaded else model, **settings)
    out = render_config(config, model=loaded, progress=progress,
                        objective=None if isinstance(objective, str) else objective)
    for image in out.images:
        image.info["deepdreamer"] = out.settings
    return out.images


def feature_sheet(channels: str, model: str | DreamModel = VisualizeConfig.model, *,
                  progress: ProgressCallback | None = None, **settings) -> Image.Image:
    """A labelled contact sheet of channel visualisations, e.g. `feature_sheet('blocks.5:0-15')`."""
    loaded = model if isinstance(model, DreamModel) else None
    config = VisualizeConfig(objective=channels, model=loaded.name if loaded else model, **settings)
    out = render_sheet(config, model=loaded, progress=progress)
    out.sheet.info["deepdreamer"] = out.settings
    return out.sheet


def activations_config(config: ActivationsConfig, source: ImageSource,
                       model: DreamModel | None = None) -> ActivationMaps:
    """The lower-level call behind `deepdreamer activations`."""
    net = _model(config.model, config.weights, config.device, model)
    layer = config.layer or net.entry.default_layer
    loaded = _load_source(source, config.max_size)
    return activation_maps(net, to_tensor(loaded.rgb), layer, config.top, tile=config.tile)


def activations(image: ImageSource, layer: str | None = None,
                model: str | DreamModel = ActivationsConfig.model, **settings) -> Image.Image:
    """`layer`'s strongest feature maps for `image` as a labelled grid beside the image."""
    loaded = model if isinstance(model, DreamModel) else None
    config = ActivationsConfig(layer=layer, model=loaded.name if loaded else model, **settings)
    return activations_config(config, image, model=loaded).image
