"""Everything follows the model's device. There is no GPU here, so the test makes any tensor
created without an explicit device land on the 'meta' device (torch.set_default_device) and
records the device of every tensor every operation produces: a dream, a visualisation and the
preparation around them must produce tensors on the model's device only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import deepdreamer as dd
from deepdreamer.engine import memory
from deepdreamer.errors import InsufficientMemoryError
from deepdreamer.objectives import direction, layer_l2


class DeviceRecorder(TorchDispatchMode):
    """Records the device of every tensor produced while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.devices: dict[str, set[str]] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.devices.setdefault(str(t.device), set()).add(str(func))
        return out


def _recorded(fn):
    previous = torch.get_default_device()
    torch.set_default_device("meta")  # a tensor made without a device would land here
    try:
        with DeviceRecorder() as recorder:
            result = fn()
    finally:
        torch.set_default_device(previous)
    return result, recorder.devices


def test_the_recorder_sees_a_tensor_made_without_a_device():
    _, devices = _recorded(lambda: torch.zeros(3) + 1)
    assert set(devices) == {"meta"}


def test_a_dream_makes_every_tensor_on_the_model_device(lite0, sample_photo):
    mask = np.zeros((64, 96), np.float32)
    mask[10:50, 20:80] = 1.0
    kw = dict(octaves=2, steps=2, seed=0, max_size=96, mask=mask, lap_levels=3, keep_colors=True,
              rotate_jitter=5.0)
    out, devices = _recorded(lambda: dd.dream(str(sample_photo), lite0, "blocks.3", channels="top:4", **kw))
    assert out.size == (96, 64)
    assert set(devices) == {str(lite0.device)}, {d: sorted(ops)[:5] for d, ops in devices.items()}


def test_tiles_guides_and_objective_values_stay_on_the_model_device(lite0, sample_photo):
    guide, wide = torch.rand(3, 60, 80), torch.rand(1, 3, 96, 300)  # made before recording
    goal = layer_l2("blocks.2") + direction("blocks.3", [0.1] * 80)
    _, devices = _recorded(lambda: (
        dd.dream(str(sample_photo), lite0, "blocks.3", guide=guide, steps=1, octaves=1, seed=0, max_size=160),
        dd.dream(wide, lite0, objective=goal, tile_size=128, steps=1, octaves=1, seed=0),
    ))
    assert set(devices) == {str(lite0.device)}


def test_a_visualisation_makes_every_tensor_on_the_model_device(lite0):
    images, devices = _recorded(lambda: dd.visualize("blocks.3:5", lite0, size=64, steps=2, batch=2,
                                                     diversity=1.0, tv=1.0, blur=1.0, seed=0))
    assert len(images) == 2
    assert set(devices) == {str(lite0.device)}


def test_the_memory_check_reads_host_memory_only_for_cpu_models(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: pytest.fail("host memory read"))
    assert memory.device_bytes(torch.device("meta")) is None  # not checked: nothing to read
    monkeypatch.setattr(memory, "available_bytes", lambda: 1)
    assert memory.device_bytes(torch.device("cpu")) == 1


def test_a_cpu_dream_that_cannot_fit_in_host_memory_is_refused(lite0, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 10 * 1024**2)
    with pytest.raises(InsufficientMemoryError):
        dd.dream(torch.rand(1, 3, 200, 300), lite0, "blocks.3", steps=1, octaves=1, seed=0)
