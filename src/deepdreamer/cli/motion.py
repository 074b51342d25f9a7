"""`deepdreamer zoom` and `deepdreamer video`: build the configs, call the motion library, show
per-frame progress with an ETA."""

from __future__ import annotations

import sys

import click

from ..config import ZOOM_INITS, ChunkConfig, VideoConfig, ZoomConfig, parse_frame_time
from ..errors import ConfigError
from ..motion import render_video, render_zoom
from ..motion.store import work_dir_for
from ._common import Reporter, friendly_errors
from ._options import config_from_options, dream_options

__all__ = ["zoom", "video"]

VIDEO_BACKENDS = ("local", "ray")

_Z = ZoomConfig()
_V = VideoConfig()
_C = ChunkConfig()


class _Numbers(click.ParamType):
    """'DX,DY' -> (float, float); with `sep='x'` and ints, 'WxH' -> (int, int)."""

    def __init__(self, sep: str, kind: type, name: str) -> None:
        self.sep, self.kind, self.name = sep, kind, name

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = str(value).lower().split(self.sep)
        try:
            if len(parts) != 2:
                raise ValueError
            return tuple(self.kind(p) for p in parts)
        except ValueError:
            self.fail(f"{value!r} should be {self.name}", param, ctx)


class _FrameTime(click.ParamType):
    name = "SECONDS|Nf"

    def convert(self, value, param, ctx):
        if value is None or not isinstance(value, str):
            return value
        try:
            return parse_frame_time(value)
        except ConfigError as e:
            self.fail(str(e), param, ctx)


def _run(output, quiet, call):
    """Run a long job; Ctrl-C says where the kept frames are and how to continue."""
    with Reporter(quiet, frames=True) as progress:
        try:
            result = call(progress)
        except KeyboardInterrupt:
            kept = work_dir_for(output)
            hint = f"; the frames done are kept in {kept}: rerun with --resume" if kept.exists() else ""
            click.echo(f"error: interrupted{hint}", err=True)
            sys.exit(130)
    if not quiet:
        click.echo(f"wrote {result.path} ({result.frames} frames)", err=True)


ZOOM_EXAMPLES = """
\b
Examples:
  deepdreamer zoom examples/chelsea.jpg -o zoom.mp4 --frames 120
  deepdreamer zoom examples/chelsea.jpg -o spin.gif --frames 48 --zoom 1.03 --rotate 1 --max-size 256
  deepdreamer zoom -o fractal.mp4 --init noise --size 384x256 --frames 200 \\
      --layers-cycle blocks.2 --layers-cycle blocks.4 --cycle-every 50
  deepdreamer zoom photo.jpg -o frames/ --frames 30      # a folder of numbered PNGs
"""


def _run_options(fn):
    """The dream flags and the long-run flags that zoom and video share."""
    fn = click.option("-q", "--quiet", is_flag=True, help="No progress or notes.")(fn)
    fn = click.option("--force", is_flag=True, help="Overwrite OUTPUT (and an unfinished run's frames).")(fn)
    fn = click.option("--keep-frames", is_flag=True, help="Keep OUTPUT.frames/ (the PNG of every frame) after writing.")(fn)
    fn = click.option("--resume", is_flag=True, help="Continue an interrupted run from the frames it kept.")(fn)
    return dream_options(fn)


@click.command(epilog=ZOOM_EXAMPLES)
@click.argument("input_path", metavar="[INPUT]", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(), help="Video (.mp4 .mov .mkv), .gif, or a folder for numbered PNG frames.")
@click.option("--frames", type=int, default=_Z.frames, show_default=True, help="Frames to render.")
@click.option("--zoom", "zoom_factor", type=float, default=_Z.zoom, show_default=True, help="Scale per frame (above 1 flies in).")
@click.option("--rotate", type=float, default=_Z.rotate, show_default=True, help="Degrees per frame, counter-clockwise.")
@click.option("--pan", type=_Numbers(",", float, "DX,DY"), default=",".join(map(str, _Z.pan)), show_default=True, metavar="DX,DY", help="Pixels per frame.")
@click.option("--steps-per-frame", type=int, default=_Z.steps_per_frame, metavar="K", help="Gradient steps per octave for each frame [default: --steps].")
@click.option("--fps", type=float, default=_Z.fps, show_default=True)
@click.option("--init", type=click.Choice(ZOOM_INITS), default=_Z.init, show_default=True, help="Start from INPUT, or from grey noise (no INPUT).")
@click.option("--size", type=_Numbers("x", int, "WxH"), default="x".join(map(str, _Z.size)), show_default=True, metavar="WxH", help="Frame size of a noise start.")
@click.option("--layers-cycle", "cycle", multiple=True, metavar="SPEC", help="Layer or objective to cycle through (repeatable): one every --cycle-every frames.")
@click.option("--cycle-every", type=int, default=_Z.cycle_every, show_default=True, metavar="K")
@click.option("--no-colour-lock", is_flag=True, help="Let colours drift (they darken or wash out over hundreds of frames).")
@_run_options
@friendly_errors
def zoom(input_path, output, frames, zoom_factor, rotate, pan, steps_per_frame, fps, init, size,
         cycle, cycle_every, no_colour_lock, resume, keep_frames, force, quiet, **options):
    """The zoom feedback loop: dream INPUT, zoom/rotate/pan the dream, dream that, ... for N frames."""
    config = config_from_options(options)
    zconf = ZoomConfig(frames=frames, zoom=zoom_factor, rotate=rotate, pan=pan, steps_per_frame=steps_per_frame,
                       fps=fps, init=init, size=size, cycle=tuple(cycle), cycle_every=cycle_every,
                       colour_lock=not no_colour_lock)
    _run(output, quiet, lambda progress: render_zoom(
        config, zconf, input_path, output, progress=progress, force=force, resume=resume, keep_frames=keep_frames))


VIDEO_EXAMPLES = """
\b
Examples:
  deepdreamer video clip.mp4 -o dreamed.mp4 --max-size 480
  deepdreamer video clip.mp4 -o part.mp4 --start 2.5 --end 120f --layer blocks.4 --seed 3
  deepdreamer video clip.mp4 -o dreamed.mp4 --resume    # continue an interrupted run
  deepdreamer video long.mp4 -o dreamed.mp4 --backend ray --ray-address 10.0.0.5:6379 --workers 8
"""


@click.command(epilog=VIDEO_EXAMPLES)
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(), help="Video (.mp4 .mov .mkv), .gif, or a folder for numbered PNG frames.")
@click.option("--flow-blend", type=float, default=_V.flow_blend, show_default=True, help="How much of the previous frame's dream, moved along the optical flow, seeds the next (0: none, flickers).")
@click.option("--start", type=_FrameTime(), default=None, help="First frame: seconds (2.5) or a frame number (60f).")
@click.option("--end", type=_FrameTime(), default=None, help="Stop before this time or frame.")
@click.option("--backend", type=click.Choice(VIDEO_BACKENDS), default="local", show_default=True, help="local: one process, frame after frame; ray: chunks of frames dreamed in parallel by Ray workers.")
@click.option("--chunk-frames", type=int, default=None, metavar="N", help=f"ray: frames per chunk; chunks also start at scene cuts [default: {_C.chunk_frames}].")
@click.option("--warmup", type=int, default=None, metavar="K", help=f"ray: frames before a mid-scene chunk dreamed to carry the detail in, then dropped [default: {_C.warmup}].")
@click.option("--workers", type=int, default=None, metavar="W", help=f"ray: workers (actors), each loading the model once [default: {_C.workers}].")
@click.option("--ray-address", default=None, metavar="HOST:PORT", help="ray: join this cluster [default: start a local one].")
@_run_options
@friendly_errors
def video(input_path, output, flow_blend, start, end, backend, chunk_frames, warmup, workers, ray_address,
          resume, keep_frames, force, quiet, **options):
    """Dream every frame of INPUT (a video), keeping its frame rate and sound; optical flow
    carries the dream along with the motion so it does not flicker."""
    config = config_from_options(options)
    vconf = VideoConfig(flow_blend=flow_blend, start=start, end=end)
    ray_only = dict(chunk_frames=chunk_frames, warmup=warmup, workers=workers, ray_address=ray_address)
    given = {k: v for k, v in ray_only.items() if v is not None}
    if backend == "local":
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise ConfigError(f"{flags} need --backend ray")
        _run(output, quiet, lambda progress: render_video(
            config, vconf, input_path, output, progress=progress, force=force, resume=resume,
            keep_frames=keep_frames))
        return
    from ..motion.chunked import render_video_chunked

    chunking = ChunkConfig(**given)
    _run(output, quiet, lambda progress: render_video_chunked(
        config, vconf, chunking, input_path, output, progress=progress, force=force, resume=resume,
        keep_frames=keep_frames))
