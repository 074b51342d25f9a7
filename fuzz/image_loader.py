"""Fuzz the image decoder an upload or a file goes through: decode with the bomb and truncation
checks, then to the float pixels a dream takes.

    .venv/bin/python fuzz/image_loader.py -max_total_time=600 fuzz/corpus/images
"""

import atheris
import numpy  # noqa: F401 - heavy libraries imported first: only our code and Pillow are instrumented
import torch  # noqa: F401

with atheris.instrument_imports():
    import PIL.Image

    PIL.Image.init()  # Pillow's format plugins, instrumented too (they load lazily otherwise)
    from deepdreamer.io.images import decode_image
    from deepdreamer.io.sources import read_pixels

from _harness import check, run  # noqa: E402


def decode_and_use(data: bytes) -> None:
    read_pixels(decode_image(data, "fuzz"), max_size=64)


def test_one_input(data: bytes) -> None:
    check(decode_and_use, data)


if __name__ == "__main__":
    run(test_one_input)
