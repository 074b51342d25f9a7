"""Model registry, model loading and activation capture."""

from ._registry import REGISTRY, DreamModel, get_entry, imagenet_labels, list_models, load_model
from .catalogue import EMBEDDED_MODEL, LayerInfo, ModelEntry
from .fold import fold_batchnorm
from .hooks import Capture, capture

__all__ = [
    "REGISTRY",
    "EMBEDDED_MODEL",
    "DreamModel",
    "LayerInfo",
    "ModelEntry",
    "Capture",
    "capture",
    "fold_batchnorm",
    "get_entry",
    "imagenet_labels",
    "list_models",
    "load_model",
]
