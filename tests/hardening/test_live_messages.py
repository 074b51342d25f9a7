"""Live mode's messages (docs/live-protocol.md) from a client that may send anything: binary
frames (the framing, the header, the image) random, valid then mutated and truncated; settings
messages of any shape. Each ends in a frame, settings, or a DeepDreamerError with one line."""

from __future__ import annotations

import io
import json
import struct

from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from deepdreamer.config import LiveConfig
from deepdreamer.server.live import LIVE_SETTINGS, live_changes
from deepdreamer.server.live_frames import decode_frame, pack, unpack

from .test_parsers_properties import CASES, JSON_VALUES, ends_well


def use_frame(message: bytes):
    header, image = unpack(message)
    assert isinstance(header, dict)
    pixels = decode_frame(image, max_side=640, min_side=32)
    assert pixels.dtype.name == "uint8" and pixels.ndim == 3 and pixels.shape[2] == 3
    assert 32 <= min(pixels.shape[:2]) and max(pixels.shape[:2]) <= 640
    return pixels


def valid_frame(fmt: str, size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 140, 200)).save(buf, format=fmt)
    return pack({"id": 7, "t": 1234.5}, buf.getvalue())


FRAMES = [valid_frame(fmt, size) for fmt in ("JPEG", "PNG", "WEBP") for size in ((64, 48), (20, 300), (700, 40))]


@CASES
@given(data=st.binary(max_size=2048))
def test_random_messages_are_a_frame_or_one_line(data):
    ends_well(use_frame, data)


@CASES
@given(which=st.sampled_from(FRAMES), cut=st.floats(0, 1),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8))
def test_mutated_and_truncated_frames_are_a_frame_or_one_line(which, cut, flips):
    data = bytearray(which)
    for where, value in flips:
        data[min(len(data) - 1, int(where * len(data)))] = value
    ends_well(use_frame, bytes(data[: max(1, int(cut * len(data)))]))


@CASES
@given(header=st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=4), length=st.integers(0, 2**32 - 1))
def test_any_header_or_length_is_a_frame_or_one_line(header, length):
    image = FRAMES[0][4 + struct.unpack(">I", FRAMES[0][:4])[0]:]
    ends_well(use_frame, pack(header, image))
    ends_well(use_frame, struct.pack(">I", length) + json.dumps(header).encode() + image)


@CASES
@given(message=st.dictionaries(st.sampled_from([*LIVE_SETTINGS, "type", "colour"]), JSON_VALUES, max_size=5))
def test_settings_messages_of_any_shape_give_settings_or_one_line(message):
    def apply():
        changes = live_changes(message)
        assert set(changes) <= set(LIVE_SETTINGS)
        return LiveConfig(**changes)

    ends_well(apply)
