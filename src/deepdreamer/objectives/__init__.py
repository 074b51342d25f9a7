"""Objectives: small values that turn captured activations into one scalar to MAXIMISE.

They add, subtract and scale (`0.5 * layer_l2("a") + layer_l2("b")`), so a new objective never
needs a new loop (Lucid's `objectives.py` habit). Each names the layers it needs, so the forward
pass can stop after the deepest one. Every objective returns a mean over the batch.

- `base`: `Objective`, `layer_l2`, `weighted_layers` (DeepDream's L2 objectives)
- `library`: `channel`, `neuron`, `direction`, `diversity`, `class_logit`
- `batch`: `per_item`, a different objective for each image of a batch
- `parse`: `parse_objective`, the one-line spec grammar used on the command line
"""

from __future__ import annotations

from .base import Activations, Objective, layer_l2, weighted_layers
from .library import channel, class_index, class_logit, direction, diversity, neuron
from .batch import per_item
from .guide import guide
from .parse import parse_channel_list, parse_objective
from .selection import ChannelSelection, parse_channel_selection, selected_l2

__all__ = [
    "Activations",
    "ChannelSelection",
    "Objective",
    "channel",
    "class_index",
    "class_logit",
    "direction",
    "diversity",
    "guide",
    "layer_l2",
    "neuron",
    "parse_channel_list",
    "parse_channel_selection",
    "parse_objective",
    "per_item",
    "selected_l2",
    "weighted_layers",
]
