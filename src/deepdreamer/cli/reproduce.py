"""The command line that remakes an output from its embedded settings: what the web page shows
under a result. Read off the click commands themselves, so a new flag is never missed."""

from __future__ import annotations

import shlex
from dataclasses import fields

import click

from ..config import DreamConfig, VisualizeConfig, ZoomConfig
from ..settings_file import build_config

__all__ = ["dream_command", "visualize_command", "zoom_command"]

# set by the command's own arguments, or naming files the command line cannot know
_NOT_REPEATED = {"preset", "config_file", "from_image", "guide", "mask", "weights", "labels", "output",
                 "force", "quiet", "sheet"}


def _flags(command: click.Command, config_type: type, settings: dict, given: dict | None = None) -> list[str]:
    """--preset NAME, then each option whose setting differs from that preset's (the seed
    always), in the command's own order. `given`: what the command's arguments set."""
    preset = settings.get("preset")
    base = build_config(given or {}, preset=preset, config_type=config_type)
    args = ["--preset", preset] if preset else []
    own = {f.name for f in fields(config_type)}
    for option in command.params:
        name = option.name
        if not isinstance(option, click.Option) or name in _NOT_REPEATED or name not in settings or name not in own:
            continue
        value, default = settings[name], getattr(base, name)
        flag = max(option.opts, key=len)
        if name == "layers":
            pairs = tuple((str(n), float(w)) for n, w in value)
            if pairs != tuple(default) and not settings.get("objective"):
                for layer, weight in pairs:
                    args += [flag, layer if weight == 1.0 else f"{layer}:{weight!r}"]
        elif name != "seed" and value == default:
            continue
        elif option.is_flag and option.secondary_opts:  # --transforms/--no-transforms
            args.append(option.opts[0] if value else option.secondary_opts[0])
        elif option.is_flag:
            if value:
                args.append(flag)
        elif value is not None or name == "tile_size":
            args += [flag, "auto" if value is None else repr(value) if isinstance(value, float) else str(value)]
    return args


def dream_command(settings: dict, input_name: str, output_name: str, *,
                  mask: str | None = None, guide: str | None = None) -> str:
    """`deepdreamer dream INPUT -o OUTPUT ...` for a dream's settings; `mask`/`guide` name the
    files to pass for those images."""
    from .dream import dream

    args = ["deepdreamer", "dream", input_name, "-o", output_name, *_flags(dream, DreamConfig, settings)]
    for flag, name in (("--mask", mask), ("--guide", guide)):
        if name is not None:
            args += [flag, name]
    return shlex.join(args)


def visualize_command(settings: dict, output_name: str) -> str:
    """`deepdreamer visualize OBJECTIVE -o OUTPUT ...` for a visualisation's settings."""
    from .visualize import visualize

    objective = settings["objective"]
    return shlex.join(["deepdreamer", "visualize", objective, "-o", output_name,
                       *_flags(visualize, VisualizeConfig, settings, {"objective": objective})])


def _zoom_flags(zoom: dict) -> list[str]:
    """The zoom's own flags (named apart from ZoomConfig's fields: --zoom, --layers-cycle,
    --no-colour-lock, DX,DY and WxH values), those differing from the defaults; frames always."""
    base = ZoomConfig().to_dict()
    args = ["--frames", str(zoom["frames"])]
    for name in ("zoom", "rotate", "steps_per_frame", "fps", "init", "cycle_every"):
        if zoom.get(name, base[name]) != base[name]:
            args += ["--" + name.replace("_", "-"), str(zoom[name])]
    if list(zoom.get("pan", base["pan"])) != base["pan"]:
        args += ["--pan", ",".join(str(v) for v in zoom["pan"])]
    if zoom.get("init") == "noise" and list(zoom.get("size", base["size"])) != base["size"]:
        args += ["--size", "x".join(str(v) for v in zoom["size"])]
    for spec in zoom.get("cycle", ()):
        args += ["--layers-cycle", spec]
    if not zoom.get("colour_lock", True):
        args.append("--no-colour-lock")
    return args


def zoom_command(settings: dict, input_name: str | None, output_name: str) -> str:
    """`deepdreamer zoom [INPUT] -o OUTPUT ...` for a zoom's settings (a noise start has no INPUT)."""
    from .motion import zoom

    start = [input_name] if input_name is not None else []
    return shlex.join(["deepdreamer", "zoom", *start, "-o", output_name, *_zoom_flags(settings["zoom"]),
                       *_flags(zoom, DreamConfig, settings)])
