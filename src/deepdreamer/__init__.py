"""deepdreamer: DeepDream images and feature visualisation, offline on a CPU."""

from . import batch, motion, objectives, visualize  # noqa: F401 - loaded before the functions take these names
from .api import activations, batch, dream, dream_image, dream_video, feature_sheet, visualize, zoom
from .config import DreamConfig
from .errors import DeepDreamerError
from .models import DreamModel, list_models, load_model, wrap_model
from .pipeline import package_version

__all__ = [
    "DeepDreamerError",
    "DreamConfig",
    "DreamModel",
    "activations",
    "batch",
    "dream",
    "dream_image",
    "dream_video",
    "feature_sheet",
    "list_models",
    "load_model",
    "objectives",
    "package_version",
    "visualize",
    "wrap_model",
    "zoom",
]
__version__ = package_version()
