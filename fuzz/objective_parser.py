"""Fuzz the objective and channel spec grammars against the embedded model's catalogue (no
weights loaded): `--objective SPEC`, `--channels SPEC`, `--layer NAME:WEIGHT`.

    .venv/bin/python fuzz/objective_parser.py -max_total_time=600 fuzz/corpus/objectives
"""

import atheris
import numpy  # noqa: F401 - heavy libraries imported first: only our code and Pillow are instrumented
import torch  # noqa: F401

with atheris.instrument_imports():
    from deepdreamer.config import parse_layer_spec
    from deepdreamer.models import get_entry
    from deepdreamer.objectives.parse import parse_channel_list, parse_objective
    from deepdreamer.objectives.selection import parse_channel_selection

from _harness import check, run  # noqa: E402

ENTRY = get_entry("efficientnet-lite0")


def test_one_input(data: bytes) -> None:
    spec = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(256)
    check(parse_objective, spec, ENTRY)
    check(parse_channel_selection, spec)
    check(parse_channel_list, spec, ENTRY)
    check(parse_layer_spec, spec)


if __name__ == "__main__":
    run(test_one_input)
