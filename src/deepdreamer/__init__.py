"""deepdreamer: DeepDream images and feature visualisation, offline on a CPU."""

from . import objectives
from .api import dream, dream_image, package_version
from .config import DreamConfig
from .errors import DeepDreamerError
from .models import list_models, load_model
from .motion import dream_video, zoom
from .visualize import activations, feature_sheet, visualize

__all__ = [
    "DeepDreamerError",
    "DreamConfig",
    "activations",
    "dream",
    "dream_image",
    "dream_video",
    "feature_sheet",
    "list_models",
    "load_model",
    "objectives",
    "package_version",
    "visualize",
    "zoom",
]
__version__ = package_version()
