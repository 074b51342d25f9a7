"""Every parser a user or an uploader can reach, fed random and mutated input (hypothesis): each
case ends in a result or a DeepDreamerError with one line; nothing else escapes.

The parsers: the image decoder (bytes of every supported format and mode, then mutated and
truncated; random bytes; masks and guides go through it too), the video reader (an MP4 with
sound, mutated and truncated; random bytes), the settings embedded in an output, TOML settings files, and the spec
grammars (objectives, channel lists and selections, layers with weights, frame times).

CI runs a fixed set of cases (derandomized: the same every run, so a red build is a real
change); `DEEPDREAMER_FUZZ_EXAMPLES=5000` draws that many fresh ones per test."""

from __future__ import annotations

import io
import json
import math
import os
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from deepdreamer.config import DreamConfig, parse_frame_time, parse_layer_spec
from deepdreamer.errors import DeepDreamerError
from deepdreamer.io.images import decode_image
from deepdreamer.io.sources import read_pixels
from deepdreamer.models import get_entry
from deepdreamer.objectives.parse import parse_channel_list, parse_objective
from deepdreamer.objectives.selection import parse_channel_selection
from deepdreamer.settings_file import build_config, normalise_settings, read_settings_file, settings_from_image

ENTRY = get_entry("efficientnet-lite0")  # a catalogue only: no weights are loaded
CASES = settings(max_examples=int(os.environ.get("DEEPDREAMER_FUZZ_EXAMPLES", 150)), deadline=None,
                 derandomize=not os.environ.get("DEEPDREAMER_FUZZ_EXAMPLES"), suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])


def one_line(exc: DeepDreamerError) -> None:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text, repr(text)


def ends_well(fn, *args):
    """fn(*args) returns, or raises a DeepDreamerError with one line; anything else fails."""
    try:
        return fn(*args)
    except DeepDreamerError as exc:
        one_line(exc)
        return None


# ---------------------------------------------------------------- images

FORMATS = {
    "PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"],
    "JPEG": ["L", "RGB", "CMYK"],
    "WEBP": ["RGB", "RGBA"],
    "TIFF": ["1", "L", "RGB", "RGBA", "CMYK", "I;16", "F"],
    "BMP": ["1", "L", "P", "RGB"],
    "GIF": ["L", "P"],
}
VALID = [(fmt, mode) for fmt, modes in FORMATS.items() for mode in modes]


def encoded(fmt: str, mode: str, size=(23, 17)) -> bytes:
    rng = np.random.default_rng(len(fmt) * 31 + len(mode))
    rgb = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    image = rgb.convert(mode) if mode not in ("I;16", "I", "F") else rgb.convert("L").convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def decode_and_use(data: bytes):
    """What every upload and file goes through: decode with the checks, then to pixels."""
    image = decode_image(data, "upload.bin")
    pixels = read_pixels(image, max_size=64)
    assert pixels.rgb.dim() == 4 and pixels.rgb.shape[1] == 3
    assert torch_finite(pixels.rgb)
    return pixels


def torch_finite(t) -> bool:
    return bool(t.isfinite().all()) and float(t.min()) >= 0.0 and float(t.max()) <= 1.0


@pytest.mark.parametrize("fmt, mode", VALID)
def test_every_supported_format_and_mode_decodes(fmt, mode):
    pixels = decode_and_use(encoded(fmt, mode))
    assert tuple(pixels.rgb.shape[-2:]) == (17, 23)


@CASES
@given(data=st.binary(max_size=2048))
def test_random_bytes_are_an_image_or_one_line(data):
    ends_well(decode_and_use, data)


@CASES
@given(which=st.sampled_from(VALID), cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8))
def test_mutated_and_truncated_images_are_an_image_or_one_line(which, cut, flips):
    data = bytearray(encoded(*which))
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    data = bytes(data[: max(1, int(cut * len(data)))]) if cut < 0.98 else bytes(data)
    ends_well(decode_and_use, data)


# ---------------------------------------------------------------- videos

@pytest.fixture(scope="module")
def video_bytes(tmp_path_factory):
    """A small MP4 (H.264 and AAC), made with the motion tests' maker."""
    from motion.videos import make_video

    return make_video(tmp_path_factory.mktemp("videos") / "clip.mp4", frames=6).read_bytes()


def read_video_file(path):
    """What `deepdreamer video` does first: open, then decode every frame."""
    from deepdreamer.motion.source import VideoSource

    clip = VideoSource(path, max_size=48)
    frames = list(clip.frames())
    assert frames and all(f.dtype == np.uint8 and f.shape == (clip.size[1], clip.size[0], 3) for f in frames)


@CASES
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8),
       noise=st.binary(max_size=512))
def test_mutated_truncated_and_random_videos_are_frames_or_one_line(video_bytes, tmp_path_factory, cut, flips, noise):
    data = bytearray(video_bytes)
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    data = bytes(data[: max(1, int(cut * len(data)))]) if cut < 0.98 else bytes(data)
    folder = tmp_path_factory.mktemp("v", numbered=True)
    for name, content in (("mutated.mp4", data), ("noise.mp4", noise)):
        (folder / name).write_bytes(content)
        ends_well(read_video_file, folder / name)


def test_an_mp4_cut_inside_its_index_is_one_line(video_bytes, tmp_path):
    """Found by the test above: cut at ~93% (inside the index x264 writes at the end), the
    video stream's codec is unreadable and PyAV gives it no codec context (an AttributeError
    escaped). Every cut from 85% to 99% ends well."""
    for cut in range(int(len(video_bytes) * 0.85), int(len(video_bytes) * 0.99), 7):
        (tmp_path / "cut.mp4").write_bytes(video_bytes[:cut])
        ends_well(read_video_file, tmp_path / "cut.mp4")


# ---------------------------------------------------------------- settings embedded in an output

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(sorted({*DreamConfig.__dataclass_fields__, "layer", "step-size", "deepdreamer", "seed",
                               "octaves_used", "nonsense", "mask", "guide", "tile_size"}))


def png_with(text: str, path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("deepdreamer", text)
    Image.new("RGB", (8, 8)).save(path, format="PNG", pnginfo=info)


def config_from_embedded(path):
    return build_config({}, files=[settings_from_image(path)])


@CASES
@given(settings_=st.dictionaries(KEYS, JSON_VALUES, max_size=8))
def test_embedded_settings_of_any_shape_give_a_config_or_one_line(tmp_path_factory, settings_):
    path = tmp_path_factory.mktemp("embedded") / "out.png"
    png_with(json.dumps(settings_, allow_nan=True), path)
    config = ends_well(config_from_embedded, path)
    if config is not None:
        assert config.octaves >= 1 and math.isfinite(config.step_size)


@CASES
@given(text=st.text(max_size=200))
def test_embedded_text_that_is_no_settings_is_one_line(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("embedded") / "out.png"
    png_with(text, path)
    ends_well(config_from_embedded, path)


# ---------------------------------------------------------------- TOML settings files

TOML_SCALARS = st.one_of(
    st.integers(-10**9, 10**9).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: "nan" if math.isnan(f) else ("inf" if f == math.inf else ("-inf" if f == -math.inf else repr(f)))),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(string.ascii_letters + string.digits + "._:- ", max_size=16).map(json.dumps),
)
TOML_VALUES = st.one_of(TOML_SCALARS, st.lists(TOML_SCALARS, max_size=3).map(lambda v: "[" + ", ".join(v) + "]"),
                        st.just('{ a = 1 }'))


@CASES
@given(lines=st.lists(st.tuples(KEYS, TOML_VALUES), max_size=6), junk=st.text(max_size=12))
def test_toml_settings_give_a_config_or_one_line(tmp_path_factory, lines, junk):
    path = tmp_path_factory.mktemp("toml") / "settings.toml"
    text = "".join(f"{key} = {value}\n" for key, value in dict(lines).items())
    path.write_text(text + (junk if junk.strip().startswith("#") else ""), encoding="utf-8")
    ends_well(lambda: build_config({}, files=[read_settings_file(path)]))


@CASES
@given(data=st.binary(max_size=300))
def test_a_toml_file_of_random_bytes_is_one_line(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("toml") / "settings.toml"
    path.write_bytes(data)
    ends_well(read_settings_file, path)


@CASES
@given(values=st.dictionaries(KEYS, JSON_VALUES, max_size=6))
def test_settings_of_any_type_normalise_to_a_config_or_one_line(values):
    ends_well(lambda: build_config({}, files=[normalise_settings(values)]))


# ---------------------------------------------------------------- spec grammars

LAYERS = st.sampled_from([*ENTRY.layer_names, "blocks", "blocks.9", "conv_head.x", ""])
NUMBERS = st.integers(-3, 2000).map(str)
TERMS = st.one_of(
    LAYERS,
    st.tuples(LAYERS, NUMBERS).map(":".join),
    st.tuples(LAYERS, NUMBERS, NUMBERS, NUMBERS).map(lambda t: f"{t[0]}:{t[1]}@{t[2]},{t[3]}"),
    st.tuples(LAYERS, NUMBERS, NUMBERS).map(lambda t: f"{t[0]}:{t[1]}-{t[2]}"),
    st.sampled_from(["class:goldfish", "class:1", "class:999", "class:1000", "class:-1", "class:gold fish",
                     "class:", "class:tench", "class:Dumbbell"]),
)
WEIGHTS = st.sampled_from(["", "0.5*", "-2*", "1e3*", "nan*", "inf*", "x*", "*"])
SPECS = st.lists(st.tuples(WEIGHTS, TERMS), min_size=1, max_size=4).map(
    lambda terms: " + ".join(w + t for w, t in terms).replace("+ -", "- "))


def mutate(text: str, edits) -> str:
    chars = list(text)
    for where, char in edits:
        i = int(where * len(chars)) if chars else 0
        if char == "\0" and chars:
            del chars[min(i, len(chars) - 1)]
        else:
            chars.insert(i, char)
    return "".join(chars)


EDITS = st.lists(st.tuples(st.floats(0, 1), st.sampled_from(list(":@,-*+. 0123456789abc\0\n\t") + ["\u00e9"])), max_size=4)


@CASES
@given(spec=SPECS, edits=EDITS)
def test_objective_specs_from_the_grammar_and_mutated_parse_or_one_line(spec, edits):
    for text in (spec, mutate(spec, edits)):
        ends_well(parse_objective, text, ENTRY)


@CASES
@given(spec=st.one_of(
    st.lists(st.one_of(NUMBERS, st.tuples(NUMBERS, NUMBERS).map("-".join)), min_size=1, max_size=5).map(",".join),
    st.tuples(st.sampled_from(["top", "bottom", "random", "tpo"]), NUMBERS).map(":".join),
    st.tuples(LAYERS, NUMBERS).map(":".join)), edits=EDITS)
def test_channel_specs_parse_or_one_line(spec, edits):
    for text in (spec, mutate(spec, edits)):
        ends_well(parse_channel_selection, text)
        ends_well(parse_channel_list, text, ENTRY)


@CASES
@given(text=st.text(max_size=30))
def test_layer_and_time_specs_parse_or_one_line(text):
    ends_well(parse_layer_spec, text)
    ends_well(parse_frame_time, text)
    ends_well(lambda: DreamConfig(layers=(parse_layer_spec(text),)))


# ---------------------------------------------------------------- hostile values

HOSTILE = [
    ("octaves", 10**6), ("octaves", 0), ("steps", 10**9), ("steps", -1), ("max_size", 10**6),
    ("tile_size", 1), ("step_size", float("nan")), ("step_size", float("inf")), ("octave_scale", 1.0),
    ("jitter", -5), ("jitter", 10**12), ("rotate_jitter", float("nan")), ("scale_jitter", 5.0),
    ("lap_levels", 99), ("precision", "fp8"), ("steps", "ten"), ("octaves", 2.5), ("layers", 7),
    ("preset", 3), ("nonsense", 1), ("keep_colors", "yes"), ("seed", [1]),
]


@pytest.mark.parametrize("key, value", HOSTILE, ids=[f"{k}={v!r}" for k, v in HOSTILE])
def test_hostile_settings_are_refused_in_one_line_before_any_work(tmp_path, key, value):
    from deepdreamer.errors import ConfigError, UnknownNameError

    path = tmp_path / "out.png"
    png_with(json.dumps({key: value}, allow_nan=True), path)
    toml = tmp_path / "s.toml"
    toml.write_text(f"{key} = {json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else ('nan' if math.isnan(value) else 'inf')}\n")
    for make in (lambda: build_config({}, files=[read_settings_file(toml)]),
                 lambda: build_config({}, files=[normalise_settings({key: value})])):
        with pytest.raises((ConfigError, UnknownNameError)) as info:
            make()
        one_line(info.value)
    if key != "nonsense":  # an image's unknown keys are ignored (newer versions may add some)
        with pytest.raises((ConfigError, UnknownNameError)):
            config_from_embedded(path)


# ---------------------------------------------------------------- findings of fuzz/ (atheris), kept

FOUND = [
    # a channel range of 10^28 numbers: OverflowError (or a list the size of the range)
    "54770-5555555555555555555555555552",
    "blocks.5:0-99999999999",
]


@pytest.mark.parametrize("spec", FOUND)
def test_fuzz_findings_stay_fixed(spec):
    ends_well(parse_channel_selection, spec)
    ends_well(parse_objective, spec, ENTRY)
    ends_well(parse_channel_list, spec, ENTRY)
