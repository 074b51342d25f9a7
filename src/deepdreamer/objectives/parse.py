"""`parse_objective`: a one-line objective spec, as typed on a command line, into an Objective.

Grammar (terms joined by `+` or `-`, each optionally scaled by `K*`)::

    spec   := ["-"] term (op term)*
    op     := "+"            (spaces around it optional)
            | " - "          (a minus is an operator ONLY with whitespace on both sides)
    term   := ["-"] [K "*"] body          K a number such as 2, 0.5, 1e-3
    body   := LAYER                        mean squared activation (layer_l2)
            | LAYER ":" C                  channel C's mean activation
            | LAYER ":" C "@" X "," Y      neuron: channel C at column X, row Y of the layer grid
            | LAYER ":" C ("," C | "," A "-" B)*   sum of those channels' means (A-B inclusive)
            | "class:" NAME | "class:" INDEX       an ImageNet class logit

The minus rule keeps hyphens inside names and ranges intact: `class:black-footed ferret`
and `blocks.5:12-15` are single terms, while `blocks.5 - blocks.4` subtracts. Write
`a - b`, not `a-b`. Class names are matched case-insensitively and may contain spaces.
Layers and channels are checked against the model entry's catalogue when parsing.
"""

from __future__ import annotations

import re

from ..errors import ConfigError
from .base import Objective, layer_l2
from .channels import CHANNEL_LIST, parse_channel_numbers
from .library import channel, check_channel, class_logit, neuron

__all__ = ["parse_objective", "parse_channel_list"]

_SPLIT = re.compile(r"(\s*\+\s*|\s+-\s+)")
_TERM = re.compile(
    r"^(?P<neg>-\s*)?(?:(?P<k>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE]-?\d+)?)\s*\*\s*)?(?P<body>.+)$", re.S
)
_LAYER = re.compile(
    r"^(?P<layer>[A-Za-z_][\w.]*)"
    rf"(?::(?P<chans>{CHANNEL_LIST})(?:@(?P<x>\d+),(?P<y>\d+))?)?$"
)


def _malformed(spec: str, why: str) -> ConfigError:
    return ConfigError(
        f"malformed objective {spec!r}: {why} (expected e.g. 'blocks.5', 'blocks.5:37', "
        f"'blocks.5:37@3,4', 'blocks.5:3,7,12-15', 'class:dumbbell', joined by + or ' - ')"
    )


def _body(spec: str, body: str, entry) -> Objective:
    if body.startswith("class:"):
        name = body[len("class:"):].strip()
        if not name:
            raise _malformed(spec, "no class after 'class:'")
        return class_logit(entry, name)
    m = _LAYER.match("".join(body.split()))
    if not m:
        raise _malformed(spec, f"cannot read term {body!r}")
    layer = m["layer"]
    info = entry.layer(layer)  # unknown layer -> UnknownNameError with suggestions
    if m["chans"] is None:
        return layer_l2(layer)
    chans = parse_channel_numbers(m["chans"], lambda why: _malformed(spec, why))
    for c in chans:
        check_channel(layer, c, info.channels)
    if m["x"] is not None:
        if len(chans) != 1 or not m["chans"].isdigit():
            raise _malformed(spec, "a neuron (@x,y) takes exactly one channel")
        return neuron(layer, chans[0], int(m["x"]), int(m["y"]))
    if len(chans) == 1:
        return channel(layer, chans[0])
    return sum(channel(layer, c) for c in chans).renamed(f"{layer}:{m['chans']}")


def parse_objective(spec: str, entry) -> Objective:
    """Parse `spec` for `entry` (a ModelEntry, or a DreamModel: its `.entry` is used)."""
    entry = getattr(entry, "entry", entry)
    text = spec.strip()
    if not text:
        raise _malformed(spec, "it is empty")
    if text.startswith("-"):  # a leading minus negates the first term
        text = "-" + text[1:].lstrip()
    parts = _SPLIT.split(text)
    total: Objective | None = None
    for i in range(0, len(parts), 2):
        sign = 1.0 if i == 0 or parts[i - 1].strip() == "+" else -1.0
        raw = parts[i].strip()
        m = _TERM.match(raw) if raw else None
        if not m:
            raise _malformed(spec, "a term is missing")
        term = _body(spec, m["body"].strip(), entry)
        k = sign * (-1.0 if m["neg"] else 1.0) * (float(m["k"]) if m["k"] else 1.0)
        if k != 1.0:
            term = k * term
        total = term if total is None else total + term
    assert total is not None
    return total.renamed(" ".join(spec.split()))


def parse_channel_list(spec: str, entry) -> tuple[str, list[int]]:
    """'blocks.5:0-15' or 'blocks.5:3,7,12-15' -> ('blocks.5', [channels]), range-checked."""
    entry = getattr(entry, "entry", entry)
    m = _LAYER.match("".join(spec.split()))
    if not m or m["chans"] is None or m["x"] is not None:
        raise ConfigError(
            f"expected LAYER:CHANNELS such as 'blocks.5:0-15' or 'blocks.5:3,7,12-15', got {spec!r}"
        )
    info = entry.layer(m["layer"])
    chans = parse_channel_numbers(m["chans"], lambda why: _malformed(spec, why))
    for c in chans:
        check_channel(m["layer"], c, info.channels)
    return m["layer"], chans
