"""A job request from the web: the form's settings (the Python API's keywords, as JSON) and its
uploads turned into typed configs and decoded images, and checked against the model before the
job is queued, so a bad setting, name or file is refused at once with the CLI's one line."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace
from importlib.resources import files
from pathlib import PurePosixPath
from typing import Any

from PIL import Image

from ..api import configs_from_keywords
from ..config import ActivationsConfig, DreamConfig, VisualizeConfig, ZoomConfig
from ..errors import ConfigError, InputImageError, UnknownNameError
from ..io.images import decode_image
from ..models import DreamModel
from ..objectives import parse_objective
from ..io.sources import Pixels
from ..pipeline import PreparedDream, load_source, prepare_dream

__all__ = ["MODES", "JobRequest", "parse_request", "check_request", "sample_bytes", "upload_name"]

MODES = ("dream", "visualize", "activations", "zoom")
# Settings a web client may not give: they name files or devices on the server (a model's
# `labels` file too: a served model has its own).
SERVER_ONLY = frozenset({"weights", "device", "guide", "mask", "labels"})
_NEEDS_PHOTO = ("dream", "activations", "zoom")
SAMPLE_NAME = "chelsea.jpg"


def sample_bytes() -> bytes:
    """The sample photo shipped with the package (scikit-image's 'chelsea')."""
    return files("deepdreamer").joinpath("data", SAMPLE_NAME).read_bytes()


def upload_name(filename: str | None, fallback: str) -> str:
    """A display name for an upload (shown in messages and the reproducing command, never
    used as a path): its base name, safe characters only."""
    base = PurePosixPath((filename or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base)[-64:].lstrip(".")
    return base or fallback


@dataclass
class JobRequest:
    mode: str
    submitted: dict  # the settings as the client sent them: what reopening a result restores
    config: Any  # DreamConfig, VisualizeConfig or ActivationsConfig (guide/mask: the images)
    zoom: ZoomConfig | None = None
    image: Image.Image | None = None
    image_name: str = "photo.png"
    mask: Image.Image | None = None
    guide: Image.Image | None = None
    # a dream's source and prepared settings, made once when the request is checked
    loaded: Pixels | None = None
    prepared: PreparedDream | None = None


def _settings(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        raise ConfigError(f"settings must be a JSON object ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"settings must be a JSON object, got {type(value).__name__}")
    refused = sorted(SERVER_ONLY & value.keys())
    if refused:
        hint = ("each served model has its own labels" if refused[0] == "labels"
                else "upload a mask or guide as a file")
        raise ConfigError(f"{refused[0]} cannot be set from the web page (it names something on the server); {hint}")
    return value


def _known(config_type: type, values: dict, extra: tuple[type, ...] = ()) -> None:
    """Refuse a key no config of this mode has, with a suggestion (before any type check)."""
    names = {"preset"} if config_type in (DreamConfig, VisualizeConfig) else set()
    for kind in (config_type, *extra):
        names |= {f.name for f in fields(kind)}
    for key in values:
        if key not in names:
            raise UnknownNameError("setting", key, names - SERVER_ONLY)


def parse_request(mode: str, settings: str, image: tuple[bytes, str] | None,
                  mask: tuple[bytes, str] | None, guide: tuple[bytes, str] | None,
                  default_model: str | None = None) -> JobRequest:
    """Decode and type everything a job needs; each problem is one line (ConfigError,
    UnknownNameError, InputImageError and its NotAnImage/ImageTooLarge kinds). Settings without
    a `model` get `default_model` (the server's, which the page leaves out), when given."""
    if mode not in MODES:
        raise UnknownNameError("mode", mode, MODES)
    values = _settings(settings)
    submitted = dict(values)
    if default_model is not None:
        values.setdefault("model", default_model)
    photo = decode_image(*image) if image is not None else None
    if mode in _NEEDS_PHOTO and photo is None and not (mode == "zoom" and values.get("init") == "noise"):
        raise InputImageError(f"{mode} needs a photo: upload one as 'image' or set sample=true")
    request = JobRequest(mode, submitted, config=None, image=photo,
                         image_name=image[1] if image is not None else "photo.png")
    if mask is not None:
        request.mask = decode_image(*mask)
    if guide is not None:
        request.guide = decode_image(*guide)
    if mode in ("dream", "zoom"):
        extra = (ZoomConfig,) if mode == "zoom" else ()
        _known(DreamConfig, values, extra)
        config, others, _ = configs_from_keywords(DreamConfig, values, extra=extra)
        request.config = replace(config, mask=request.mask, guide=request.guide)
        request.zoom = others[0] if others else None
    elif mode == "visualize":
        _known(VisualizeConfig, values)
        if not values.get("objective"):
            raise ConfigError("visualize needs an objective, such as class:goldfish or blocks.5:37")
        request.config, _, _ = configs_from_keywords(VisualizeConfig, values)
    else:
        _known(ActivationsConfig, values)
        request.config, _, _ = configs_from_keywords(ActivationsConfig, values)
    if mode == "visualize" or (request.zoom is not None and request.zoom.init == "noise"):
        request.image = None  # these start from noise: a photo that came along is not used
    return request


def check_request(request: JobRequest, net: DreamModel) -> None:
    """Names (layers, channels, classes) and image sizes checked against the model, cheaply,
    before the job waits in the queue."""
    config = request.config
    if request.mode == "dream":  # kept: the worker dreams with what was checked here
        request.loaded = load_source(request.image, config.max_size)
        request.prepared = prepare_dream(config, net, image=request.loaded.rgb)
    elif request.mode == "zoom":  # the zoom loop loads and prepares its start itself
        start = load_source(request.image, config.max_size).rgb if request.image is not None else None
        prepare_dream(config, net, image=start)
    elif request.mode == "visualize":
        parse_objective(config.objective, net.entry)
        if config.diversity_layer:
            net.entry.layer(config.diversity_layer)
    elif config.layer:
        net.entry.layer(config.layer)
