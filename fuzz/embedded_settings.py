"""Fuzz the settings an earlier output carries (`--from-image`): the text of a PNG's
`deepdreamer` chunk, read back and turned into a DreamConfig.

    .venv/bin/python fuzz/embedded_settings.py -max_total_time=600 fuzz/corpus/embedded
"""

import io

import atheris
import numpy  # noqa: F401 - heavy libraries imported first: only our code and Pillow are instrumented
import torch  # noqa: F401

with atheris.instrument_imports():
    import PIL.Image
    from PIL import PngImagePlugin

    PIL.Image.init()
    from deepdreamer.io import settings_of
    from deepdreamer.settings_file import build_config, normalise_settings

from _harness import check, run  # noqa: E402

_BLANK = PIL.Image.new("RGB", (4, 4))


def read_back(text: str) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("deepdreamer", text)
    buffer = io.BytesIO()
    _BLANK.save(buffer, format="PNG", pnginfo=info)
    buffer.seek(0)
    found = settings_of(PIL.Image.open(buffer))
    if found:
        build_config({}, files=[normalise_settings(found, ignore_unknown=True)])


def test_one_input(data: bytes) -> None:
    check(read_back, atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(4096))


if __name__ == "__main__":
    run(test_one_input)
