"""What the page needs to build its form: settings and their defaults, presets, models, layers,
class labels, the layer guide's pictures and the sample photo."""

from __future__ import annotations

from dataclasses import fields

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ..config import ActivationsConfig, DreamConfig, VisualizeConfig, ZoomConfig
from ..models import DreamModel, ModelEntry, imagenet_labels, list_models
from ..pipeline import package_version
from ..presets import PRESETS, VISUALIZE_PRESETS
from .compute import on_own_thread
from .deps import get_entry, get_model, get_state
from .requests import SERVER_ONLY, sample_bytes
from .state import ServerState

router = APIRouter(tags=["catalogue"])

_CACHE = {"Cache-Control": "max-age=3600"}


def _defaults(config) -> dict:
    values = config.to_dict() if hasattr(config, "to_dict") else {f.name: getattr(config, f.name) for f in fields(config)}
    return {k: v for k, v in values.items() if k not in SERVER_ONLY}


def _presets(table) -> list[dict]:
    out = []
    for preset in table.values():
        settings = {k: [list(p) for p in v] if k == "layers" else v for k, v in preset.settings.items()}
        out.append({"name": preset.name, "description": preset.description, "settings": settings})
    return out


@router.get("/info", summary="Settings, defaults, presets, models and limits")
def info(state: ServerState = Depends(get_state)) -> dict:
    c = state.config
    return {
        "version": package_version(),
        "model": state.default_model.name,
        "models": [{"name": e.name, "description": e.description, "offline": e.offline} for e in list_models()],
        "presets": _presets(PRESETS),
        "visualize_presets": _presets(VISUALIZE_PRESETS),
        "defaults": _defaults(DreamConfig()),
        "visualize_defaults": _defaults(VisualizeConfig(objective="class:goldfish")) | {"objective": ""},
        "zoom_defaults": _defaults(ZoomConfig()),
        "activations_defaults": _defaults(ActivationsConfig()),
        "limits": {"max_upload_mb": c.max_upload_mb, "queue": c.queue, "workers": c.workers},
    }


@router.get("/models/{model}/layers", summary="A model's dreamable layers, shallow to deep")
def layers(entry: ModelEntry = Depends(get_entry)) -> dict:
    return {"default": entry.default_layer,
            "layers": [{"name": l.name, "channels": l.channels, "stride": l.stride} for l in entry.layers]}


@router.get("/models/{model}/labels", summary="Class names for class:NAME objectives")
def labels(entry: ModelEntry = Depends(get_entry)) -> dict:
    # every registered model is an ImageNet classifier (class:NAME reads the same list)
    return {"labels": imagenet_labels()}


@router.get("/models/{model}/layers/{layer}/guide.jpg", summary="What a layer paints (made once, then cached)",
            response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
async def layer_guide(layer: str, net: DreamModel = Depends(get_model), state: ServerState = Depends(get_state)):
    net.entry.layer(layer)  # an unknown layer: 400 with the closest names
    picture = await run_in_threadpool(on_own_thread, state.guide.picture, net, layer)  # see compute.py
    return Response(picture, media_type="image/jpeg", headers=_CACHE)


@router.get("/sample", summary="The sample photo", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}})
def sample() -> Response:
    return Response(sample_bytes(), media_type="image/jpeg", headers=_CACHE)
