"""Feature-visualisation objectives (after Lucid's `objectives.py`): channel, neuron, direction,
class logit and batch diversity. All MAXIMISE and return a mean over the batch.

Activations are (N, C, H, W); a (N, C) layer such as the logits is treated as C values with no
spatial grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import ConfigError, UnknownNameError
from .base import Objective

__all__ = ["channel", "neuron", "direction", "diversity", "class_logit", "check_channel"]


def check_channel(layer: str, c: int, channels: int) -> None:
    if not 0 <= c < channels:
        raise ConfigError(f"channel {c} is out of range for {layer} ({channels} channels)")


def _act(acts, layer: str) -> torch.Tensor:
    a = acts[layer].float()
    if a.dim() not in (2, 4):
        raise ConfigError(f"{layer} gives {a.dim()}-d activations; expected (N,C) or (N,C,H,W)")
    return a


def channel(layer: str, c: int) -> Objective:
    """Mean activation of channel `c` of `layer` (over batch and positions)."""

    def fn(acts):
        a = _act(acts, layer)
        check_channel(layer, c, a.shape[1])
        return a[:, c].mean()

    return Objective(fn, (layer,), f"{layer}:{c}")


def neuron(layer: str, c: int, x: int | None = None, y: int | None = None) -> Objective:
    """Channel `c` at one spatial position, averaged over the batch.

    `x` is the column and `y` the row, counted in the layer's own grid (its H x W, i.e. image
    pixels divided by the layer's stride), from the top-left corner. `None` means the centre:
    x = W // 2, y = H // 2. For a (N, C) layer there is no grid; x and y must be None.
    """

    def fn(acts):
        a = _act(acts, layer)
        check_channel(layer, c, a.shape[1])
        if a.dim() == 2:
            if x is not None or y is not None:
                raise ConfigError(f"{layer} has no spatial grid, so a neuron position makes no sense")
            return a[:, c].mean()
        h, w = a.shape[2:]
        col = w // 2 if x is None else x
        row = h // 2 if y is None else y
        if not (0 <= col < w and 0 <= row < h):
            raise ConfigError(f"position x={col}, y={row} is outside {layer}'s {w}x{h} grid")
        return a[:, c, row, col].mean()

    where = "" if x is None and y is None else f"@{'' if x is None else x},{'' if y is None else y}"
    return Objective(fn, (layer,), f"{layer}:{c}{where}", tileable=False)


def direction(layer: str, vector: Sequence[float] | torch.Tensor) -> Objective:
    """Mean over batch and positions of the dot product of the activation (a vector in channel
    space) with `vector` (not normalised, as in Lucid's `direction`)."""
    # kept on the host and moved to the activations' device when read
    v = torch.as_tensor(vector, dtype=torch.float32, device="cpu").flatten()

    def fn(acts):
        a = _act(acts, layer)
        if v.numel() != a.shape[1]:
            raise ConfigError(
                f"direction for {layer} has {v.numel()} components but the layer has "
                f"{a.shape[1]} channels"
            )
        shape = (1, -1) + (1,) * (a.dim() - 2)
        return (a * v.to(a.device).view(shape)).sum(1).mean()

    return Objective(fn, (layer,), f"direction({layer})")


def diversity(layer: str) -> Objective:
    """Lucid's diversity: minus the mean pairwise cosine similarity of the batch items' Gram
    matrices (C x C, flattened). Higher when the items' styles differ; 0 for a batch of 1.
    (Lucid sums over j != i and divides by N; this takes the mean over the N(N-1) ordered pairs,
    which only rescales it.)"""

    def fn(acts):
        a = _act(acts, layer)
        n, c = a.shape[:2]
        if n < 2:
            return a.sum() * 0.0  # keeps the graph, so a gradient of zero is still defined
        flat = a.reshape(n, c, -1)
        grams = (flat @ flat.transpose(1, 2)).reshape(n, -1)
        grams = F.normalize(grams, dim=1, eps=1e-10)
        sim = grams @ grams.T
        off = sim.sum() - sim.diagonal().sum()
        return -off / (n * (n - 1))

    return Objective(fn, (layer,), f"diversity({layer})", tileable=False)


def _entry(model: Any):
    return getattr(model, "entry", model)  # a DreamModel or a ModelEntry


def _words(label: str) -> str:
    return " ".join(str(label).replace("_", " ").split()).lower()


def class_index(name_or_index: str | int, labels: Sequence[str] | None = None, classes: int | None = None) -> int:
    """A class index from an index (range-checked) or a name (case-insensitive; '_' reads as
    a space). `labels` default to ImageNet's; a model without class names takes indices only,
    checked against its `classes`."""
    if labels is None and classes is None:
        from ..models import imagenet_labels

        labels = imagenet_labels()
    count = len(labels) if labels is not None else int(classes or 0)
    if isinstance(name_or_index, int) or (isinstance(name_or_index, str) and name_or_index.strip().isdigit()):
        i = int(name_or_index)
        if not 0 <= i < count:
            raise ConfigError(f"class index {i} is out of range (0-{count - 1})")
        return i
    if labels is None:
        raise ConfigError(
            f"this model's {count} classes have no names, so class {name_or_index!r} cannot be "
            f"looked up; give an index (0-{count - 1}) or the class names (--labels FILE)"
        )
    wanted = _words(name_or_index)
    hits = [i for i, lab in enumerate(labels) if _words(lab) == wanted]
    if not hits:
        raise UnknownNameError("class", str(name_or_index), labels)
    if len(hits) > 1:
        raise ConfigError(
            f"class {name_or_index!r} is ambiguous (indices {', '.join(map(str, hits))}); "
            f"give the index instead"
        )
    return hits[0]


def class_logit(model: Any, name_or_index: str | int) -> Objective:
    """The logit of one class at the model's logits layer (a DreamModel or ModelEntry), by
    index or by a name from the model's own labels."""
    entry = _entry(model)
    if entry.logits_layer is None:
        raise ConfigError(f"{entry.name} has no class logits (a feature extractor), so class: cannot be used")
    labels = entry.labels
    i = class_index(name_or_index, labels, classes=entry.classes)
    logit = channel(entry.logits_layer, i)
    return Objective(logit.fn, logit.layers, f"class:{labels[i] if labels else i}", tileable=False)
