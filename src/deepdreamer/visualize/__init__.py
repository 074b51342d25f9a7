"""Feature visualisation: grow, from noise, the image that most excites a channel, a neuron or a
class (Lucid's `optvis`): parameterisation (`param`), robustness transforms (`transforms`), the
Adam loop (`render`), contact sheets and activation maps (`grid`, `activations`), runs from a config
(`run`; the one-call `visualize` is `deepdreamer.visualize`)."""

from .activations import ActivationMaps, activation_maps
from .run import Visualized, activations_config, render_config, render_sheet
from .param import FourierParam, ImageParam, PixelParam, make_param
from .render import RenderResult, blur_penalty, render, total_variation
from .transforms import RobustnessTransforms, TransformParams

__all__ = [
    "ActivationMaps",
    "FourierParam",
    "ImageParam",
    "PixelParam",
    "RenderResult",
    "RobustnessTransforms",
    "TransformParams",
    "Visualized",
    "activation_maps",
    "activations_config",
    "blur_penalty",
    "make_param",
    "render",
    "render_config",
    "render_sheet",
    "total_variation",
]
