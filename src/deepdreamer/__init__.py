"""deepdreamer: DeepDream images and feature visualisation, offline on a CPU."""

from .api import dream, dream_image, package_version
from .config import DreamConfig
from .errors import DeepDreamerError
from .models import list_models, load_model
from .motion import dream_video, zoom

__all__ = [
    "DeepDreamerError",
    "DreamConfig",
    "dream",
    "dream_image",
    "dream_video",
    "list_models",
    "load_model",
    "package_version",
    "zoom",
]
__version__ = package_version()
