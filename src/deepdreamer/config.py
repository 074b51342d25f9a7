"""Typed settings: every default lives here once; the CLI and the API only fill these in."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields

from .errors import ConfigError
from .io.sources import ImageInput, describe_input, is_image_input
from .models.catalogue import EMBEDDED_MODEL
from .objectives.base import Objective
from .presets import get_preset

__all__ = [
    "ActivationsConfig",
    "BATCH_BACKENDS",
    "BATCH_FORMATS",
    "BatchConfig",
    "ChunkConfig",
    "DreamConfig",
    "FrameTime",
    "LIVE_MAX_STEP",
    "LiveConfig",
    "PARAMETERISATIONS",
    "PRECISIONS",
    "ROBUSTNESS",
    "VideoConfig",
    "VisualizeConfig",
    "ZoomConfig",
    "is_given",
    "parse_frame_time",
    "parse_layer_spec",
]

PRECISIONS = ("auto", "fp32", "bf16")  # forward-pass precisions a user may ask for
# Upper bounds a hostile or mistyped setting meets before any work starts (a settings file or
# an image's settings may say anything): far past any real use, short of a run that never ends.
MAX_OCTAVES = 64  # an octave pyramid of 1.1x steps from 8K px down to 16 px is ~65 deep
MAX_STEPS = 100_000  # steps per octave (a long dream is hundreds); visualisations too
MAX_SIDE = 65_536  # px, a long side: the memory check decides what fits below it
MAX_FRAMES = 1_000_000  # a zoom's frames: 11.5 hours at 24 fps


@dataclass(frozen=True)
class DreamConfig:
    model: str = EMBEDDED_MODEL  # the embedded model is the one that works offline
    weights: str | None = None  # a local state dict for the model's architecture
    labels: str | None = None  # a file of class names (one per line) for class:NAME
    # (layer, weight) pairs; empty means the model entry's default layer
    layers: tuple[tuple[str, float], ...] = ()
    # an objective spec ("blocks.5:37", "class:goldfish", ...) or an Objective value, used
    # instead of `layers`; a value is recorded by its name
    objective: str | Objective | None = None
    octaves: int = 4  # google/deepdream's octave_n
    octave_scale: float = 1.4  # google/deepdream's octave_scale
    steps: int = 10  # gradient steps per octave (google/deepdream's iter_n)
    step_size: float = 0.015  # per step, in [0,1] pixel units, after gradient normalisation
    jitter: int = 32  # max random roll in pixels, as google/deepdream
    seed: int | None = None  # None draws one; the seed used is saved with the output
    max_size: int = 1024  # long side the CLI downscales inputs to; 0 keeps full size
    device: str = "cpu"
    precision: str = "auto"  # forward pass: fp32, bf16, or auto (bf16 where the CPU has it)
    # gradient tiles' side in px: None = auto (tile octaves above 1600x1600), 0 = never
    tile_size: int | None = None
    # creative controls (all off by default)
    channels: str | None = None  # dream only these channels: "3,7,12-15", "top:8", "blocks.5:3,7"
    # images (a path, PIL image, array or tensor; recorded by path, or described when in
    # memory). Compared by identity: an array or tensor has no single truth value.
    guide: ImageInput | None = field(default=None, compare=False)  # dream toward its features
    mask: ImageInput | None = field(default=None, compare=False)  # white dreams, black keeps, grey blends
    lap_levels: int = 0  # Laplacian bands the gradient is normalised in; 0 = off
    rotate_jitter: float = 0.0  # max random rotation per step, degrees
    scale_jitter: float = 0.0  # max random relative zoom per step (0.1 = 0.9x-1.1x)
    keep_colors: bool = False  # dream the luminance only; the input keeps its colours
    preset: str | None = None  # the preset these settings started from (recorded, not applied)

    def __post_init__(self) -> None:
        for name in ("guide", "mask"):  # an empty path (a TOML "" or --mask "") is no image
            if not is_given(getattr(self, name)):
                object.__setattr__(self, name, None)
        _check(1 <= self.octaves <= MAX_OCTAVES, f"octaves must be between 1 and {MAX_OCTAVES}, got {self.octaves}")
        _check(
            math.isfinite(self.octave_scale) and self.octave_scale > 1.0,
            f"octave scale must be greater than 1, got {self.octave_scale}",
        )
        _check(0 <= self.steps <= MAX_STEPS, f"steps must be between 0 and {MAX_STEPS}, got {self.steps}")
        _check(
            math.isfinite(self.step_size) and self.step_size > 0,
            f"step size must be positive, got {self.step_size}",
        )
        _check(0 <= self.jitter <= MAX_SIDE, f"jitter must be between 0 and {MAX_SIDE}, got {self.jitter}")
        _check(
            self.precision in PRECISIONS,
            f"precision must be auto, fp32 or bf16, got {self.precision!r}",
        )
        _check(
            self.tile_size is None or self.tile_size == 0 or self.tile_size >= 128,
            f"tile size must be auto, 0 (never tile) or at least 128, got {self.tile_size}",
        )
        _check(0 <= self.max_size <= MAX_SIDE, f"max size must be between 0 and {MAX_SIDE}, got {self.max_size}")
        _check(0 <= self.lap_levels <= 10, f"lap levels must be between 0 and 10, got {self.lap_levels}")
        _check(
            math.isfinite(self.rotate_jitter) and 0 <= self.rotate_jitter <= 180,
            f"rotate jitter must be between 0 and 180 degrees, got {self.rotate_jitter}",
        )
        _check(
            math.isfinite(self.scale_jitter) and 0 <= self.scale_jitter < 0.5,
            f"scale jitter must be at least 0 and under 0.5, got {self.scale_jitter}",
        )
        _check(
            self.objective is None or isinstance(self.objective, (str, Objective)),
            f"objective must be a spec or an Objective, got {type(self.objective).__name__}",
        )
        for name in ("guide", "mask"):
            value = getattr(self, name)
            _check(
                value is None or is_image_input(value),
                f"{name} must be a path, a PIL image, a numpy array or a tensor, got {type(value).__name__}",
            )
        objective, guide = is_given(self.objective), self.guide is not None
        _check(
            not (objective and (guide or self.channels)),
            "--guide and --channels shape the layer objective; they do not combine with --objective",
        )
        _check(not (guide and self.channels), "give either --guide or --channels, not both")
        _check(not (objective and self.layers), "give either layers or an objective, not both")
        for name, weight in self.layers:
            _check(math.isfinite(weight), f"layer weight for {name!r} must be a number")

    def to_dict(self) -> dict:
        """JSON-ready: what is embedded in outputs (an Objective by its name, images by path)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}  # no deep copy of images
        d["layers"] = [[n, w] for n, w in self.layers]
        if isinstance(self.objective, Objective):
            d["objective"] = self.objective.name
        for name in ("guide", "mask"):
            if d[name] is not None:
                d[name] = describe_input(d[name])
        return d


def is_given(value: object) -> bool:
    """A setting that was given: not None and not an empty string (a spec, a path, an image or
    an Objective value otherwise; never tested for truth, which an array or tensor lacks)."""
    return value is not None and not (isinstance(value, str) and not value)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def parse_layer_spec(spec: str) -> tuple[str, float]:
    """'blocks.5' -> ('blocks.5', 1.0); 'blocks.5:0.5' -> ('blocks.5', 0.5)."""
    name, sep, weight = spec.rpartition(":")
    if not sep:
        return spec, 1.0
    try:
        return name, float(weight)
    except ValueError:
        raise ConfigError(f"layer spec {spec!r} should be NAME or NAME:WEIGHT") from None


ZOOM_INITS = ("image", "noise")  # what the zoom loop starts from


@dataclass(frozen=True)
class ZoomConfig:
    """The zoom feedback loop: dream, zoom/rotate/pan the result, dream it again."""

    frames: int = 100
    zoom: float = 1.05  # scale per frame; above 1 flies in, below 1 flies out
    rotate: float = 0.0  # degrees per frame, counter-clockwise
    pan: tuple[float, float] = (0.0, 0.0)  # pixels per frame (x right, y down)
    steps_per_frame: int | None = None  # gradient steps per octave per frame; None: the dream's
    fps: float = 24.0
    init: str = "image"  # 'image' starts from INPUT, 'noise' from grey noise of `size`
    size: tuple[int, int] = (512, 384)  # (width, height) of a noise start
    # objectives (layer names or objective specs) cycled through, one every `cycle_every` frames;
    # empty: the dream's own layers/objective on every frame
    cycle: tuple[str, ...] = ()
    cycle_every: int = 25
    # match every frame's per-channel mean and spread to the start's, so hundreds of feedback
    # passes neither darken nor wash out (the known failure of the old zoom loops)
    colour_lock: bool = True

    def __post_init__(self) -> None:
        _check(1 <= self.frames <= MAX_FRAMES, f"frames must be between 1 and {MAX_FRAMES}, got {self.frames}")
        _check(
            math.isfinite(self.zoom) and 0.5 <= self.zoom <= 2.0,
            f"zoom must be between 0.5 and 2 per frame, got {self.zoom}",
        )
        _check(math.isfinite(self.rotate), f"rotate must be a number, got {self.rotate}")
        _check(
            len(self.pan) == 2 and all(math.isfinite(p) for p in self.pan),
            f"pan must be two numbers DX,DY, got {self.pan}",
        )
        _check(
            self.steps_per_frame is None or self.steps_per_frame >= 0,
            f"steps per frame must be 0 or more, got {self.steps_per_frame}",
        )
        _check_fps(self.fps)
        _check(self.init in ZOOM_INITS, f"init must be image or noise, got {self.init!r}")
        _check(
            len(self.size) == 2 and min(self.size) >= 32 and max(self.size) <= 8192,
            f"noise size must be between 32 and 8192 px a side, got {self.size}",
        )
        _check(self.cycle_every >= 1, f"cycle every must be at least 1 frame, got {self.cycle_every}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(pan=list(self.pan), size=list(self.size), cycle=list(self.cycle))
        return d


@dataclass(frozen=True)
class FrameTime:
    """A point in a video: seconds, or a frame index (written `60f`)."""

    value: float
    unit: str = "s"  # 's' seconds or 'f' frames

    def to_frame(self, fps: float) -> int:
        return int(self.value) if self.unit == "f" else round(self.value * fps)

    def __str__(self) -> str:
        return f"{int(self.value)}f" if self.unit == "f" else f"{self.value:g}"


def parse_frame_time(text: str) -> FrameTime:
    """'2.5' -> 2.5 seconds; '60f' -> frame 60."""
    t = text.strip()
    m = re.fullmatch(r"(\d+)\s*f", t)
    if m:
        return FrameTime(int(m.group(1)), "f")
    try:
        seconds = float(t.removesuffix("s"))
    except ValueError:
        raise ConfigError(f"time {text!r} should be seconds (2.5) or a frame number (60f)") from None
    _check(
        math.isfinite(seconds) and seconds >= 0,
        f"time {text!r} should be 0 or more seconds",
    )
    return FrameTime(seconds, "s")


@dataclass(frozen=True)
class VideoConfig:
    """Dreaming a video frame by frame, with optical flow carrying the dream along."""

    # how much of the previous frame's dream detail, warped along the optical flow, seeds the
    # next frame: 0 dreams every frame afresh (flicker), 1 carries it all (smears)
    flow_blend: float = 0.5
    start: FrameTime | None = None  # first frame rendered (None: the first)
    end: FrameTime | None = None  # rendering stops before this frame (None: the last)

    def __post_init__(self) -> None:
        _check(
            math.isfinite(self.flow_blend) and 0.0 <= self.flow_blend <= 1.0,
            f"flow blend must be between 0 and 1, got {self.flow_blend}",
        )
        if self.start is not None and self.end is not None and self.start.unit == self.end.unit:
            _check(self.end.value > self.start.value, f"end ({self.end}) must be after start ({self.start})")

    def to_dict(self) -> dict:
        return {
            "flow_blend": self.flow_blend,
            "start": None if self.start is None else str(self.start),
            "end": None if self.end is None else str(self.end),
        }


@dataclass(frozen=True)
class ChunkConfig:
    """How a long video is split into chunks for `video --backend ray` (motion/chunks.py), and
    where they run."""

    # frames one worker dreams in one go: more means fewer joins, fewer means more parallelism
    chunk_frames: int = 48
    # frames dreamed before a mid-scene chunk and cross-faded with the previous chunk's (8% more
    # work at 48 frames a chunk). benchmarks/video_chunks.py, the worst frame-to-frame change
    # around a join against the change inside chunks: 2.25x with no warm-up; 1.97x with 4 when
    # the warm-up is only dropped (it rebuilds the amount of carried detail, not the one-process
    # run's pattern); 1.14x with 2 and 1.05x with 4 when cross-faded
    warmup: int = 4
    workers: int = 2  # Ray actors, each holding the model once
    ray_address: str | None = None  # join this cluster; None starts a local one for the run

    def __post_init__(self) -> None:
        _check(1 <= self.chunk_frames <= 100_000, f"chunk frames must be between 1 and 100000, got {self.chunk_frames}")
        _check(0 <= self.warmup <= 1000, f"warm-up must be between 0 and 1000 frames, got {self.warmup}")
        # a longer warm-up would reach over two chunks and fade into two at once
        _check(self.warmup <= self.chunk_frames,
               f"warm-up ({self.warmup} frames) must be at most the chunk length ({self.chunk_frames} frames)")
        _check(1 <= self.workers <= 256, f"workers must be between 1 and 256, got {self.workers}")

    def to_dict(self) -> dict:
        """What changes the frames (recorded, and compared on --resume); not where they ran."""
        return {"chunk_frames": self.chunk_frames, "warmup": self.warmup}


def _check_fps(fps: float) -> None:
    _check(math.isfinite(fps) and 0 < fps <= 240, f"fps must be between 0 and 240, got {fps}")


PARAMETERISATIONS = ("fourier", "maco", "pixel")  # how a feature visualisation's image is optimised
ROBUSTNESS = ("strong", "lucid")  # the transform sets a visualisation's steps draw from


@dataclass(frozen=True)
class VisualizeConfig:
    """Feature visualisation: the image, grown from noise, that most excites an objective."""

    objective: str  # a spec: "blocks.5:37", "blocks.5:37@3,4", "class:dumbbell", sums of these
    model: str = EMBEDDED_MODEL
    weights: str | None = None
    labels: str | None = None
    size: int = 224  # square side in px; Lite0 was trained at 224
    steps: int = 512  # Adam steps (Lucid's default render length)
    param: str = "fourier"  # Fourier + decorrelated colour reads far better than raw pixels
    lr: float = 0.05  # Adam learning rate (Lucid's default)
    batch: int = 1  # images rendered together (each a different start)
    # weight of the diversity term that pushes the batch's images apart (0: off)
    diversity: float = 0.0
    # layer the diversity compares styles at; None: the objective's layer (the model's default
    # layer for class logits, whose 1x1 'grid' has no style)
    diversity_layer: str | None = None
    transforms: bool = True  # random pad/jitter/scale/rotate each step (robust, not adversarial)
    # which transforms (visualize/transforms.py SETS): "strong" (wider scales and rotations,
    # shrinking and growing back) or "lucid" (Lucid's standard_transforms). benchmarks/readable.py:
    # strong keeps the class in two other networks' top 5 after a 2x downscale + JPEG for far
    # more classes (see the README)
    robustness: str = "strong"
    # the 1/frequency power of the Fourier (and MACO) spectrum, with the lowest frequency's gain
    # kept: how much less the high frequencies move. Lucid's 1.0 leaves ~3x a photo's share of
    # high-frequency energy (speckle); 1.25 leaves 0.84x; 1.5 0.25x, washed out
    # (benchmarks/readable.py, 512 steps, with the strong transforms)
    decay: float = 1.25
    tv: float = 0.0  # total-variation penalty weight
    blur: float = 0.0  # blur penalty weight
    seed: int | None = None  # None draws one; the seed used is saved with the output
    device: str = "cpu"
    preset: str | None = None  # the preset these settings started from (recorded, not applied)

    def __post_init__(self) -> None:
        _check(bool(self.objective and self.objective.strip()), "an objective is needed")
        _check(32 <= self.size <= 2048, f"size must be between 32 and 2048 px, got {self.size}")
        _check(0 <= self.steps <= MAX_STEPS, f"steps must be between 0 and {MAX_STEPS}, got {self.steps}")
        _check(
            self.param in PARAMETERISATIONS,
            f"param must be one of {', '.join(PARAMETERISATIONS)}, got {self.param!r}",
        )
        _check(math.isfinite(self.lr) and self.lr > 0, f"learning rate must be positive, got {self.lr}")
        _check(1 <= self.batch <= 64, f"batch must be between 1 and 64, got {self.batch}")
        _check(self.robustness in ROBUSTNESS, f"robustness must be one of {', '.join(ROBUSTNESS)}, got {self.robustness!r}")
        _check(math.isfinite(self.decay) and 0.0 <= self.decay <= 4.0, f"decay must be between 0 and 4, got {self.decay}")
        for name in ("diversity", "tv", "blur"):
            value = getattr(self, name)
            _check(math.isfinite(value) and value >= 0, f"{name} must be 0 or more, got {value}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ActivationsConfig:
    """A layer's strongest feature maps for one image, beside the image."""

    layer: str | None = None  # None: the model's default dream layer
    top: int = 16  # how many channels to show, strongest mean activation first
    model: str = EMBEDDED_MODEL
    weights: str | None = None
    labels: str | None = None
    max_size: int = 512  # long side the input is scaled to before the forward pass
    tile: int = 128  # px of the long side of each map in the grid
    device: str = "cpu"

    def __post_init__(self) -> None:
        _check(1 <= self.top <= 1024, f"top must be between 1 and 1024, got {self.top}")
        _check(self.max_size >= 32, f"max size must be at least 32, got {self.max_size}")
        _check(16 <= self.tile <= 1024, f"tile must be between 16 and 1024 px, got {self.tile}")


BATCH_FORMATS = ("png", "jpg", "webp")  # what a batch writes (png keeps every bit and the settings)
BATCH_BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class BatchConfig:
    """A batch: many photos dreamed with one DreamConfig, each item's seed derived from the
    batch seed and its relative path, the outputs mirroring the inputs' tree."""

    inputs: tuple[str, ...]  # files, folders and globs
    outdir: str
    recursive: bool = False  # walk subfolders (and mirror them under outdir)
    format: str = "png"
    mask_dir: str | None = None  # masks matched to photos by relative path (any image suffix)
    guide_dir: str | None = None  # guides matched the same way
    # worker processes (local) or actors (ray); one already uses every core of a machine
    workers: int = 1
    backend: str = "local"
    ray_address: str | None = None  # join this cluster; None starts a local one (backend ray)
    retries: int = 2  # times an item is tried again after its worker died (never for bad input)
    # torch threads per item: oneDNN picks kernels by thread count, so only runs with the same
    # count write the same bytes. None: the count an earlier run of this batch recorded, else
    # the machine's cores divided among the workers
    threads: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(str(i) for i in self.inputs))
        _check(bool(self.inputs), "a batch needs at least one input (a file, a folder or a glob)")
        _check(self.format in BATCH_FORMATS, f"format must be one of {', '.join(BATCH_FORMATS)}, got {self.format!r}")
        _check(self.backend in BATCH_BACKENDS, f"backend must be local or ray, got {self.backend!r}")
        _check(1 <= self.workers <= 256, f"workers must be between 1 and 256, got {self.workers}")
        _check(0 <= self.retries <= 100, f"retries must be between 0 and 100, got {self.retries}")
        _check(self.threads is None or 1 <= self.threads <= 1024,
               f"threads must be between 1 and 1024, got {self.threads}")
        _check(self.ray_address is None or self.backend == "ray", "--ray-address needs --backend ray")


LIVE_MAX_STEP = 0.04  # the step size at strength 1 (0.5, the default, is a preset's 0.02)


@dataclass(frozen=True)
class LiveConfig:
    """Live mode: frames from a camera dreamed as they come, each starting from the previous
    frame's dream carried along the optical flow, with as many steps as the frame rate allows.
    The octave pyramid is left out: the dream grows over frames instead of octaves."""

    model: str = EMBEDDED_MODEL
    preset: str | None = None  # a dream look: its layers, Laplacian levels and colour keeping
    layer: str | None = None  # overrides the look's layers; None: the look's, else the model's default
    strength: float = 0.5  # 0..1: the step size, as a share of LIVE_MAX_STEP
    fps: float = 10.0  # the dreamed frame rate to hold: steps per frame adapt to it
    min_steps: int = 1  # a frame gets at least these, even when the rate cannot be held
    max_steps: int = 12  # and at most these, however fast the frames come
    # the previous dream's detail carried into the next frame (a video's is 0.5), and its share
    # mixed into the new dream after (the video's: the same). Live frames get few steps each,
    # so nearly all is carried and less settled, and the dream builds up over frames. Measured
    # on a still camera (160x120, 3 steps a frame, 24 frames): 0.95 / 0.6 grows the dream from 9
    # to 16 levels of mean change while frame-to-frame change is 0.29x that of frames dreamed
    # afresh; 0.8 / 0.8 holds it still (0.15x) but it never grows; 0.9 / 0 grows to 22 at 0.75x.
    flow_blend: float = 0.95
    settle: float = 0.6
    flow_scale: float = 0.5  # optical flow on frames downscaled by this (a quarter of the time)
    jitter: int = 8  # px of random roll per step: a frame's few steps need less than 32
    max_side: int = 640  # frames larger on their long side are refused
    precision: str = "auto"
    device: str = "cpu"

    def __post_init__(self) -> None:
        _check(math.isfinite(self.strength) and 0.0 <= self.strength <= 1.0,
               f"strength must be between 0 and 1, got {self.strength}")
        _check(math.isfinite(self.fps) and 1.0 <= self.fps <= 30.0, f"fps must be between 1 and 30, got {self.fps}")
        _check(0 <= self.min_steps <= self.max_steps <= 100,
               f"steps per frame must satisfy 0 <= min ({self.min_steps}) <= max ({self.max_steps}) <= 100")
        _check(math.isfinite(self.flow_blend) and 0.0 <= self.flow_blend <= 1.0,
               f"flow blend must be between 0 and 1, got {self.flow_blend}")
        _check(math.isfinite(self.settle) and 0.0 <= self.settle <= 1.0,
               f"settle must be between 0 and 1, got {self.settle}")
        _check(math.isfinite(self.flow_scale) and 0.05 <= self.flow_scale <= 1.0,
               f"flow scale must be between 0.05 and 1, got {self.flow_scale}")
        _check(0 <= self.jitter <= 64, f"jitter must be between 0 and 64, got {self.jitter}")
        _check(32 <= self.max_side <= 2048, f"max side must be between 32 and 2048, got {self.max_side}")
        _check(self.precision in PRECISIONS, f"precision must be auto, fp32 or bf16, got {self.precision!r}")
        if self.preset is not None:
            get_preset(self.preset)  # an unknown look: one line with the closest names

    @property
    def step_size(self) -> float:
        return self.strength * LIVE_MAX_STEP

    def dream_config(self, steps: int) -> DreamConfig:
        """The dream of one frame: the look's settings that make sense for a frame, the layer
        and strength over them, one octave, `steps` steps."""
        look = dict(get_preset(self.preset).settings) if self.preset else {}
        kept = {key: look[key] for key in ("layers", "lap_levels", "keep_colors") if key in look}
        if self.layer:
            kept["layers"] = ((self.layer, 1.0),)
        # strength 0: no steps (the camera shows through, with the dream carried so far fading)
        return DreamConfig(model=self.model, octaves=1, steps=steps if self.strength > 0 else 0,
                           step_size=self.step_size if self.strength > 0 else LIVE_MAX_STEP,
                           jitter=self.jitter, precision=self.precision, device=self.device,
                           preset=self.preset, **kept)
