"""Will a dream fit in memory? Estimated before it starts, so a dream that cannot fit says so in
one line (with a size that would fit) instead of being killed by the kernel half-way.

The estimate: what autograd keeps for the backward pass, measured once on a small probe image
and scaled by the pixels a forward pass sees (the whole octave, or one tile with its margin),
plus the full-size image buffers the octave loop holds (base, detail, current, shifted copy,
gradient) and the model.
"""

from __future__ import annotations

import ctypes
import math
import os

import torch

from ..errors import InsufficientMemoryError
from ..models.hooks import Capture
from ..objectives import Objective
from .tiling import MIN_TILE, tile_margin

__all__ = [
    "available_bytes",
    "device_bytes",
    "probe_bytes_per_pixel",
    "dream_bytes",
    "check_memory",
    "release_freed_memory",
]

PROBE = 256  # side of the probe image
IMAGE_BUFFERS = 7  # full-size fp32 RGB copies alive at the peak of a step (see module doc)
OVERHEAD = 1.3  # allocator slack, workspace buffers and what the probe does not see
_GB = 1024**3


def device_bytes(device: torch.device) -> int | None:
    """Memory a dream on `device` may still use: host memory for a CPU model, the device's own
    free memory for a CUDA one, None (not checked) for other devices."""
    if device.type == "cpu":
        return available_bytes()
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    return None


def available_bytes() -> int:
    """Host memory this process may still use: MemAvailable, capped by a cgroup (container) limit."""
    found = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:
            found.append(max(0, int(limit) - usage))
        break
    if not found:  # not Linux: assume the physical memory is there
        try:
            found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            return 1 << 62
    return min(found)


def probe_bytes_per_pixel(cap: Capture, objective: Objective) -> float:
    """Bytes autograd saves per input pixel for this net, layers and precision (cached with
    the net, so it goes when the model goes)."""
    cache = cap.record.probes
    key = (cap.layers, cap.precision)
    if key not in cache:
        saved = {}

        def pack(t: torch.Tensor):
            saved[(t.data_ptr(), t.dtype, tuple(t.shape))] = t.numel() * t.element_size()
            return t

        x = torch.rand(1, 3, PROBE, PROBE, device=cap.model.device, requires_grad=True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            objective(cap.run(x))
        # The backward pass holds roughly one more activation-sized gradient at a time.
        cache[key] = 1.25 * sum(saved.values()) / PROBE**2
    return cache[key]


def _model_bytes(cap: Capture) -> int:
    return sum(p.numel() * p.element_size() for p in cap.net.parameters())


def dream_bytes(height: int, width: int, tile: int, stride: int, per_pixel: float, model: int = 0) -> float:
    """Peak bytes for the last (largest) octave: `tile` 0 means one forward over everything."""
    if tile:
        side = tile + 2 * tile_margin(stride)
        seen = min(height, side) * min(width, side)
    else:
        seen = height * width
    return OVERHEAD * (per_pixel * seen + IMAGE_BUFFERS * 12 * height * width) + model


def check_memory(
    cap: Capture, objective: Objective, height: int, width: int, tile: int, stride: int
) -> None:
    """Raise InsufficientMemoryError, with a --max-size and a --tile-size that would fit, when a
    dream of height x width clearly will not fit in the memory available."""
    have = device_bytes(cap.model.device)
    if have is None:
        return
    per_pixel = probe_bytes_per_pixel(cap, objective)
    model = _model_bytes(cap)
    need = dream_bytes(height, width, tile, stride, per_pixel, model)
    if need <= have:
        return
    long_side = max(height, width)
    fit = 0
    for side in range(long_side, 0, -max(1, long_side // 200)):
        s = side / long_side
        h, w = max(1, round(height * s)), max(1, round(width * s))
        if dream_bytes(h, w, tile, stride, per_pixel, model) <= have:
            fit = side
            break
    hints = [f"--max-size {fit}"] if fit >= 32 else []
    if objective.tileable:
        tile_fit = next(
            (
                n
                for n in range(min(tile or 2048, 2048), MIN_TILE - 1, -64)
                if dream_bytes(height, width, n, stride, per_pixel, model) <= have
            ),
            0,
        )
        if tile_fit and tile_fit != tile:
            hints.append(f"--tile-size {tile_fit}")
    hint = f"; try {' or '.join(hints)}" if hints else "; free some memory or use a smaller image"
    raise InsufficientMemoryError(
        f"a {width}x{height} dream needs about {_gb(need)} GB but {_gb(have)} GB is available{hint}"
    )


def _gb(n: float) -> str:
    return f"{math.ceil(n / _GB * 10) / 10:.1f}"


def _libc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_malloc_trim = _libc_trim()


def release_freed_memory() -> None:
    """Hand freed heap pages back to the OS. Called between tiles: the CLI tells glibc to keep
    freed memory (faster steps), and tiles of a few different shapes would otherwise fragment
    the heap until a 4096x4096 dream held 1 GB more than it uses. Costs about 1% of a tile."""
    if _malloc_trim is not None:
        _malloc_trim(0)
