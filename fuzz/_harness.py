"""What every harness shares: the one rule each input is held to, and atheris' start.

The rule: a parser returns, or raises a DeepDreamerError whose message is one line; any other
exception is a finding (atheris stops and keeps the input as crash-*)."""

from __future__ import annotations

import sys

import atheris


def check(fn, *args) -> None:
    from deepdreamer.errors import DeepDreamerError

    try:
        fn(*args)
    except DeepDreamerError as exc:
        text = str(exc)
        if not text or "\n" in text:
            raise AssertionError(f"not one line: {text!r}") from exc


def run(test_one_input) -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
