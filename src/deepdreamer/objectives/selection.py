"""Dreaming only some channels of a layer: an explicit list (`3,7,12-15`) or the K strongest /
weakest channels for this image (`top:8`, `bottom:8`), optionally after a layer name
(`blocks.5:3,7`, `blocks.5:top:8`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from ..errors import ConfigError
from .base import Objective
from .channels import CHANNEL_LIST, parse_channel_numbers
from .library import check_channel

__all__ = ["ChannelSelection", "parse_channel_selection", "selected_l2"]

_RANK = re.compile(r"^(top|bottom):(\d+)$")
_LIST = re.compile(rf"^{CHANNEL_LIST}$")


@dataclass(frozen=True)
class ChannelSelection:
    layer: str | None  # None: the dream's (first) layer
    channels: tuple[int, ...] = ()  # explicit channels, or
    rank: str | None = None  # 'top' or 'bottom'
    count: int = 0  # ... this many, chosen on the image being dreamed

    @property
    def needs_image(self) -> bool:
        return self.rank is not None

    def resolve(self, acts: torch.Tensor | None, channels: int) -> tuple[int, ...]:
        """The channels to dream, checked against the layer's `channels`; ranked selections
        read the layer's activations `acts` ((1, C, H, W)) of the image."""
        if self.rank is None:
            for c in self.channels:
                check_channel(self.layer or "the layer", c, channels)
            return self.channels
        if not 1 <= self.count <= channels:
            raise ConfigError(f"{self.rank}:{self.count} asks for 1 to {channels} channels")
        assert acts is not None
        means = acts.float().mean(dim=(0, 2, 3)) if acts.dim() == 4 else acts.float().mean(0)
        order = torch.argsort(means, descending=self.rank == "top")
        return tuple(sorted(order[: self.count].tolist()))


def parse_channel_selection(spec: str) -> ChannelSelection:
    text = "".join(spec.split())
    layer, rest = None, text
    m = re.match(r"^([A-Za-z_][\w.]*):(.+)$", text)
    if m and not m.group(1) in ("top", "bottom"):
        layer, rest = m.group(1), m.group(2)
    ranked = _RANK.match(rest)
    if ranked:
        return ChannelSelection(layer, rank=ranked.group(1), count=int(ranked.group(2)))
    if not _LIST.match(rest):
        raise ConfigError(
            f"channels {spec!r} should be a list such as 3,7,12-15 or top:8 / bottom:8, "
            f"optionally after a layer (blocks.5:3,7)"
        )
    return ChannelSelection(layer, tuple(parse_channel_numbers(rest)))


def selected_l2(layer: str, channels: tuple[int, ...]) -> Objective:
    """DeepDream's L2 objective on the chosen channels only."""
    def fn(acts):
        a = acts[layer].float()
        index = torch.tensor(channels, dtype=torch.long, device=a.device)  # the model's device
        return a.index_select(1, index).pow(2).mean()

    return Objective(fn, (layer,), f"{layer}:{','.join(map(str, channels))} (L2)")
