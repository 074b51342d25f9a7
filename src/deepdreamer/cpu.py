"""What this CPU does natively, asked once: the fast paths depend on it."""

from __future__ import annotations

from functools import lru_cache

import torch

__all__ = ["native_bf16"]


@lru_cache(maxsize=1)
def native_bf16() -> bool:
    """True on CPUs with native bf16 (AVX-512 with avx512_bf16, or AMX): elsewhere bf16 is
    emulated and slower than fp32, and oneDNN's bf16 primitives refuse to run."""
    try:
        return "AVX512" in torch.backends.cpu.get_cpu_capability() and bool(
            torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):  # private op missing in some builds
        return False
