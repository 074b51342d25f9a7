"""Settings from files: a TOML file with the same keys as the flags (`--config`), or the settings
an earlier output carries (`--from-image`), merged with a preset and explicit flags.

Precedence, lowest first: DreamConfig defaults < preset < settings files < explicit flags."""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable, Mapping
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from .config import DreamConfig, VisualizeConfig, is_given, parse_layer_spec
from .errors import ConfigError, InputImageError, UnknownNameError
from .io import read_settings
from .presets import get_preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the dependency is only installed on 3.10
    import tomli as tomllib

__all__ = ["read_settings_file", "settings_from_image", "normalise_settings", "build_config", "layer_pairs",
           "checked_types"]

_FIELDS = {f.name for f in fields(DreamConfig)}
_ALIASES = {"layer": "layers"}
# Recorded with an output but not settings to reuse: the version, the octaves that ran, and
# where the weights came from (a description, not a file to load).
_RECORD_ONLY = {"deepdreamer", "octaves_used", "weights", "kind", "item", "channels_used"}
# which presets (presets.py) each config type starts from; other configs take none
_PRESET_KINDS = {DreamConfig: "dream", VisualizeConfig: "visualize"}


def read_settings_file(path: str | Path) -> dict[str, Any]:
    """A TOML file's settings, keys checked (one line for an unknown key or a bad file)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"cannot read settings {p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read settings {p}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot read settings {p}: not valid TOML ({exc})") from None
    return normalise_settings(data, source=str(p))


# Settings that name files. An image may come from anyone, and its settings must never make
# deepdreamer open a file the user did not name: these are reported, not used (give the flag).
_FILE_SETTINGS = ("mask", "guide", "labels")


def settings_from_image(path: str | Path, not_used: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
    """The settings embedded in an earlier deepdreamer output (seed included), but for those
    that name files (mask, guide, labels): each of those goes to `not_used` as (key, value)."""
    found = read_settings(path)
    if not found:
        raise InputImageError(f"{path} carries no deepdreamer settings")
    data = {k: v for k, v in found.items() if k not in _RECORD_ONLY}
    for key in _FILE_SETTINGS:
        value = data.pop(key, None)
        if is_given(value) and not_used is not None:
            not_used.append((key, value))
    return normalise_settings(data, source=str(path), ignore_unknown=True)


def layer_pairs(value: Any) -> tuple[tuple[str, float], ...]:
    """Layers as (name, weight) pairs, from a name or 'NAME:WEIGHT', a list of those or of
    [NAME, WEIGHT] pairs, or {name: weight}: the one reader for flags, files and keywords."""
    if isinstance(value, Mapping):
        value = list(value.items())
    if not isinstance(value, (str, list, tuple)):
        raise ConfigError(f"layers should be a name, a list or a table of names and weights, got {value!r}")
    items = [value] if isinstance(value, str) else list(value)
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(parse_layer_spec(item))
        elif (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)
              and isinstance(item[1], (int, float)) and not isinstance(item[1], bool)):
            out.append((item[0], float(item[1])))
        else:
            raise ConfigError(f"layer {item!r} should be NAME, NAME:WEIGHT or [NAME, WEIGHT]")
    return tuple(out)


def normalise_settings(data: Mapping[str, Any], source: str = "settings",
                       ignore_unknown: bool = False) -> dict[str, Any]:
    """Flag-style keys (`step-size`, `layer`) -> DreamConfig fields, with their types."""
    out: dict[str, Any] = {}
    for raw, value in data.items():
        key = _ALIASES.get(raw.replace("-", "_"), raw.replace("-", "_"))
        if key not in _FIELDS:
            if ignore_unknown:
                continue
            raise UnknownNameError("setting", raw, sorted(_FIELDS), where=f" in {source}")
        if key == "layers":
            value = layer_pairs(value)
        elif key == "tile_size" and value == "auto":
            value = None
        out[key] = value
    return out


def build_config(explicit: Mapping[str, Any], preset: str | None = None,
                 files: Iterable[Mapping[str, Any]] = (), config_type: type = DreamConfig):
    """Defaults < preset < files (in order) < explicit values, as a `config_type` (DreamConfig
    takes the dream presets, VisualizeConfig the visualisation ones, others none). A preset
    named in a file counts when none is given explicitly."""
    merged: dict[str, Any] = {}
    for layer in files:
        merged.update(layer)
    name = preset or merged.get("preset") or explicit.get("preset")
    kind = _PRESET_KINDS.get(config_type)
    if name and kind is None:
        raise UnknownNameError("setting", "preset", [f.name for f in fields(config_type)])
    values: dict[str, Any] = dict(get_preset(name, kind).settings) if name else {}
    values.update(merged)
    values.update(explicit)
    values = checked_types(config_type, values)
    if name:
        values["preset"] = name
    if is_given(values.get("objective")) and "layers" in values:
        # an objective replaces the preset's layers
        if "layers" not in explicit and "layers" not in merged:
            values.pop("layers", None)
    try:
        return config_type(**values)
    except TypeError as exc:  # a value of the wrong type from a file
        raise ConfigError(f"bad settings: {exc}") from None


_SCALARS = (bool, int, float, str, type(None))
_KIND_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


_SCALAR_NAMES = {"bool": bool, "int": int, "float": float, "str": str, "None": type(None)}


@cache
def _scalar_kinds(config_type: type) -> dict[str, tuple[type, ...]]:
    """Field -> the scalar types it takes, for fields annotated only with scalars ('int',
    'str | None', ...; the configs' annotations are strings); tuples, images and Objective
    values are left to the config's own checks."""
    kinds = {}
    for f in fields(config_type):
        names = [part.strip() for part in str(f.type).split("|")]
        if all(name in _SCALAR_NAMES for name in names):
            kinds[f.name] = tuple(_SCALAR_NAMES[name] for name in names)
    return kinds


def checked_types(config_type: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with each scalar setting of the type its field takes (a whole float such as
    10.0 for an int field becomes 10, an int for a float field a float), or one line naming
    the setting: values from JSON or TOML arrive with whatever type their writer chose."""
    out = dict(values)
    kinds = _scalar_kinds(config_type)
    for key, value in values.items():
        allowed = kinds.get(key)
        if allowed is None or type(value) in allowed:
            continue
        is_bool = isinstance(value, (bool, np.bool_))
        if bool in allowed and is_bool:
            out[key] = bool(value)
        elif int in allowed and not is_bool and (
            isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer())
        ):
            out[key] = int(value)
        elif float in allowed and not is_bool and isinstance(value, numbers.Real):
            out[key] = float(value)
        else:
            wanted = " or ".join(_KIND_NAMES.get(a, "none") for a in allowed if a is not type(None))
            raise ConfigError(f"{key.replace('_', ' ')} must be {wanted}, got {value!r}")
    return out
