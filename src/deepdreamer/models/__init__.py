"""Model registry, model loading, the measured layer catalogue and activation capture."""

from ._registry import REGISTRY, DreamModel, get_entry, list_models, load_entry, load_model
from .catalogue import EMBEDDED_MODEL, Catalogue, LayerInfo, ModelEntry
from .fold import fold_batchnorm
from .hooks import Capture, capture
from .labels import imagenet_labels, read_labels
from .wrap import wrap_model

__all__ = [
    "REGISTRY",
    "EMBEDDED_MODEL",
    "Catalogue",
    "DreamModel",
    "LayerInfo",
    "ModelEntry",
    "Capture",
    "capture",
    "fold_batchnorm",
    "get_entry",
    "imagenet_labels",
    "list_models",
    "load_entry",
    "load_model",
    "read_labels",
    "wrap_model",
]
