"""Shared fixtures: the committed sample photo; nothing is ever written to the working tree."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "chelsea.jpg"


@pytest.fixture(scope="session")
def sample_photo() -> Path:
    return SAMPLE
