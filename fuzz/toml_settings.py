"""Fuzz `--config FILE.toml`: any bytes as the file, parsed and built into a DreamConfig.

    .venv/bin/python fuzz/toml_settings.py -max_total_time=600 fuzz/corpus/toml
"""

import os
import tempfile

import atheris
import numpy  # noqa: F401 - heavy libraries imported first: only our code and Pillow are instrumented
import torch  # noqa: F401

with atheris.instrument_imports():
    from deepdreamer.settings_file import build_config, read_settings_file

from _harness import check, run  # noqa: E402

_PATH = os.path.join(tempfile.mkdtemp(prefix="deepdreamer-fuzz-"), "settings.toml")


def parse(data: bytes) -> None:
    with open(_PATH, "wb") as f:
        f.write(data)
    build_config({}, files=[read_settings_file(_PATH)])


def test_one_input(data: bytes) -> None:
    check(parse, data)


if __name__ == "__main__":
    run(test_one_input)
