"""Class names: ImageNet's (from torchvision's weights metadata, no download) and a labels file."""

from __future__ import annotations

import os
import re
from functools import lru_cache

from ..errors import ModelUnavailableError

__all__ = ["imagenet_labels", "read_labels"]


@lru_cache(maxsize=1)
def _imagenet() -> tuple[str, ...]:
    import torchvision.models as tvm

    return tuple(tvm.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet class names, short form ('goldfish'), in logit order."""
    return list(_imagenet())


# Places365's categories_places365.txt: "/a/airfield 0", "/b/bedroom 52", "/s/shed/indoor 281"
_INDEXED = re.compile(r"^(?P<label>.*?)\s+(?P<index>\d+)$")
_LETTER_PATH = re.compile(r"^/[a-z]/")
# Caffe/ImageNet synset_words.txt: "n01440764 tench, Tinca tinca" (the first name is the label)
_SYNSET = re.compile(r"^n\d{8}\s+(?P<names>.*)$")


def _clean(label: str) -> str:
    label = label.strip()
    synset = _SYNSET.match(label)
    if synset:
        label = synset["names"].split(",")[0]
    label = _LETTER_PATH.sub("", label)
    return label.replace("/", " ").replace("_", " ").strip()


def read_labels(path: str | os.PathLike) -> list[str]:
    """One class name per line, in logit order; a line may end with its index (then the index
    decides the order). Places365's `categories_places365.txt` reads as it is ('/a/airfield 0'
    gives 'airfield', '/s/shed/indoor 281' gives 'shed indoor'), and so does ImageNet's
    `synset_words.txt` ('n01440764 tench, Tinca tinca' gives 'tench')."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelUnavailableError(f"cannot read labels {path}: {exc.__class__.__name__}") from None
    if not lines:
        raise ModelUnavailableError(f"labels {path} hold no class names")
    indexed = [_INDEXED.match(line) for line in lines]
    # "digit 0" ... "digit 9" are names that end in numbers, not one name with its index
    if all(indexed) and len({_clean(m["label"]) for m in indexed}) == len(lines):
        order = {int(m["index"]): _clean(m["label"]) for m in indexed}
        if sorted(order) != list(range(len(lines))):
            raise ModelUnavailableError(f"labels {path}: the indices are not 0-{len(lines) - 1}, each once")
        return [order[i] for i in range(len(lines))]
    return [_clean(line) for line in lines]
