"""Model entries as data: where the weights come from, how pixels are normalised, which layers
can be dreamed (dotted module path, channels, stride) and which layer gives the class logits.

The catalogue is checked against a real forward pass of every entry by one parametrised test
(tests/unit/test_model_catalogue.py), so a wrong number here fails CI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn as nn

__all__ = ["LayerInfo", "ModelEntry", "EMBEDDED_MODEL", "IMAGENET_MEAN", "IMAGENET_STD", "L"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
EMBEDDED_MODEL = "efficientnet-lite0"


@dataclass(frozen=True)
class LayerInfo:
    """One dreamable layer: its dotted module path, output channels and spatial stride."""

    name: str
    channels: int
    stride: int


def L(name: str, channels: int, stride: int) -> LayerInfo:  # noqa: N802 - short for tables
    return LayerInfo(name, channels, stride)


@dataclass(frozen=True)
class ModelEntry:
    """Everything the engine needs to know about a model; it never guesses from a class name."""

    name: str
    description: str
    build: Callable[[], nn.Module]  # the architecture with random weights
    pretrained: Callable[[nn.Module], None]  # loads the default weights (disk or download)
    weights_source: str
    offline: bool  # True when the default weights ship with an installed package
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    min_size: int  # smallest input side the network accepts
    layers: tuple[LayerInfo, ...]
    default_layer: str
    logits_layer: str  # the module whose output is the class logits
    state_dict_fixup: Callable[[dict], dict] = lambda sd: sd  # user --weights FILE to this arch

    def layer(self, name: str) -> LayerInfo:
        from ..errors import UnknownNameError

        for info in self.layers:
            if info.name == name:
                return info
        raise UnknownNameError(
            "layer", name, [i.name for i in self.layers], where=f" in {self.name}"
        )

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.layers)
