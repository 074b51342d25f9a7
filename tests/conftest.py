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


PLACES = ["/a/airfield", "/a/airplane_cabin", "/s/shed/indoor"] + [f"/p/place_{i}" for i in range(3, 365)]


@pytest.fixture(scope="session")
def places(tmp_path_factory):
    """A random ResNet-18 with 365 classes saved as the Places365 release saves it (a
    DataParallel `state_dict` in a training checkpoint, without PyTorch 0.2's BN counters), its
    labels as `categories_places365.txt` writes them, and a labels file one name short."""
    import torch
    import torchvision.models as tvm

    d = tmp_path_factory.mktemp("places")
    torch.manual_seed(0)
    sd = tvm.resnet18(weights=None, num_classes=365).state_dict()
    sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    ckpt = d / "resnet18_places365.pth.tar"
    torch.save({"epoch": 90, "arch": "resnet18", "state_dict": {"module." + k: v for k, v in sd.items()},
                "best_prec1": 54.7}, ckpt)
    labels = d / "categories_places365.txt"
    labels.write_text("".join(f"{name} {i}\n" for i, name in enumerate(PLACES)))
    short = d / "short.txt"
    short.write_text("".join(f"{name} {i}\n" for i, name in enumerate(PLACES[:364])))
    return {"weights": ckpt, "labels": labels, "short": short, "state": sd}
