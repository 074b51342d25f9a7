"""What the page needs to build its form: settings and their defaults, presets, models, layers,
class labels, the layer guide's pictures and the sample photo."""

from __future__ import annotations

from dataclasses import fields

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ..config import ActivationsConfig, DreamConfig, VisualizeConfig, ZoomConfig
from ..models import DreamModel, ModelEntry
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
        # the curated models, then those the server was started with: all a request may name
        "models": [{"name": e.name, "description": e.description, "offline": e.offline,
                    "loaded": e.name in state.models.models}
                   for e in map(state.models.entry, state.models.names())],
        "presets": _presets(PRESETS),
        "visualize_presets": _presets(VISUALIZE_PRESETS),
        "defaults": _defaults(DreamConfig()),
        "visualize_defaults": _defaults(VisualizeConfig(objective="class:goldfish")) | {"objective": ""},
        "zoom_defaults": _defaults(ZoomConfig()),
        "activations_defaults": _defaults(ActivationsConfig()),
        "limits": {"max_upload_mb": c.max_upload_mb, "queue": c.queue, "workers": c.workers,
                   "live_sessions": c.live_sessions},
    }


# `{model:path}`: a served model's name may hold slashes (`deepdreamer serve --model dir/net.py:make`).
# An entry's catalogue and labels are measured the first time they are read (a probe forward,
# a timm head's class names): on a thread of their own, like all torch here (see compute.py).


def _layers(entry: ModelEntry) -> dict:
    return {"default": entry.default_layer,
            "layers": [{"name": l.name, "channels": l.channels, "stride": l.stride, "layout": l.layout}
                       for l in entry.layers]}


def _labels(entry: ModelEntry) -> dict:
    # the model's own class names (ImageNet's for an ImageNet head); none for a head without
    # names or a feature extractor (classes 0): `class:INDEX` still works when it has classes
    return {"labels": list(entry.labels or []), "classes": entry.classes}


@router.get("/models/{model:path}/layers", summary="A model's dreamable layers, shallow to deep")
async def layers(entry: ModelEntry = Depends(get_entry)) -> dict:
    return await run_in_threadpool(on_own_thread, _layers, entry)


@router.get("/models/{model:path}/labels", summary="Class names for class:NAME objectives, and the class count")
async def labels(entry: ModelEntry = Depends(get_entry)) -> dict:
    return await run_in_threadpool(on_own_thread, _labels, entry)


@router.get("/models/{model:path}/layers/{layer}/guide.jpg", summary="What a layer paints (made once, then cached)",
            response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
async def layer_guide(layer: str, net: DreamModel = Depends(get_model), state: ServerState = Depends(get_state)):
    net.entry.layer(layer)  # an unknown layer: 400 with the closest names
    picture = await run_in_threadpool(on_own_thread, state.guide.picture, net, layer)  # see compute.py
    return Response(picture, media_type="image/jpeg", headers=_CACHE)


@router.get("/sample", summary="The sample photo", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}})
def sample() -> Response:
    return Response(sample_bytes(), media_type="image/jpeg", headers=_CACHE)
