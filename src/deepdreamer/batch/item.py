"""The item function: one photo's bytes and the batch's settings in, the encoded dream and its
record out. Pure and idempotent: no file is read or written here (the driver reads the inputs
and writes every output, atomically), so a local worker process and a Ray actor on another
machine run the very same code, and a retried item can never write twice or half."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch

from ..config import DreamConfig
from ..engine import ProgressCallback
from ..errors import InputImageError
from ..io import encode_image
from ..io.images import decode_image
from ..models import DreamModel
from ..pipeline import dream_prepared, load_source, prepare_dream, resolve_model

__all__ = ["ItemInput", "ItemOutput", "ItemDreamer", "ASPECT_TOLERANCE"]

# a mask or guide made for a photo has the photo's shape; a mask of another shape would
# dream the wrong places, so it is refused rather than stretched (1%: rounding of a resize)
ASPECT_TOLERANCE = 0.01


@dataclass(frozen=True)
class ItemInput:
    """What a worker needs for one item, by value (pickled to a process or a Ray node)."""

    rel: str  # the photo's relative path: its name in messages and its key in the manifest
    image: bytes
    seed: int
    suffix: str  # the output's format: '.png', '.jpg' or '.webp'
    record: dict  # recorded in the output's settings: item, batch, threads, mask, guide names
    mask: bytes | None = None
    guide: bytes | None = None


@dataclass(frozen=True)
class ItemOutput:
    rel: str
    data: bytes  # the encoded image, settings embedded
    settings: dict
    seconds: float
    notices: tuple[str, ...] = ()


class ItemDreamer:
    """A worker's state, made once: the batch's DreamConfig and the model it loaded (or was
    given). Making it checks the settings against the model, so a wrong layer or objective
    stops the batch before any item instead of failing every one."""

    def __init__(self, config: DreamConfig, model: DreamModel | None = None, threads: int | None = None) -> None:
        if threads is not None:
            torch.set_num_threads(threads)  # before any torch work: the bytes depend on it
        self.config = config
        self.net = resolve_model(config, model)
        # the names and values the items share, checked now (a per-item mask, guide or
        # channel ranking is prepared with each item)
        prepare_dream(replace(config, mask=None, guide=None, channels=None), self.net)

    def __call__(self, item: ItemInput, progress: ProgressCallback | None = None) -> ItemOutput:
        start = time.perf_counter()
        photo = load_source(decode_image(item.image, item.rel), self.config.max_size)
        height, width = photo.rgb.shape[-2:]
        mask = _companion(item.mask, "mask", item, width, height)
        guide = _companion(item.guide, "guide", item, width, height, check_shape=False)
        # the driver sends a mask or guide as bytes with each item (a Ray node shares no disk)
        config = replace(self.config, seed=item.seed, mask=mask, guide=guide)
        dreamed = dream_prepared(prepare_dream(config, self.net, image=photo.rgb), photo, progress)
        settings = dict(dreamed.settings, **item.record)
        data = encode_image(dreamed.image, item.suffix, settings)
        return ItemOutput(item.rel, data, settings, time.perf_counter() - start, tuple(dreamed.notices))


def _companion(data: bytes | None, what: str, item: ItemInput, width: int, height: int,
               check_shape: bool = True):
    if data is None:
        return None
    name = item.record.get(what) or what
    image = decode_image(data, name)
    if check_shape:
        w, h = image.size
        if abs(w / h - width / height) > ASPECT_TOLERANCE * (width / height):
            raise InputImageError(
                f"{what} {name} is {w}x{h} but the photo is {width}x{height}: not the same shape"
            )
    return image
