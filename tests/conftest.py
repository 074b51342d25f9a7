"""Shared fixtures: the committed sample photo; nothing is ever written to the working tree."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "chelsea.jpg"


@pytest.fixture(scope="session")
def sample_photo() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def lite0():
    """The embedded model, loaded once for the whole run (tests never change it)."""
    from deepdreamer.models import load_model

    return load_model()


@pytest.fixture(scope="session")
def photo():
    """The sample photo as a small (1, 3, 106, 160) tensor: cheap enough for many dreams."""
    from PIL import Image

    from deepdreamer.io import to_tensor

    return to_tensor(Image.open(SAMPLE).convert("RGB").resize((160, 106)))
