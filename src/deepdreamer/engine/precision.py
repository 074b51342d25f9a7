"""Forward-pass precision: bf16 autocast where the CPU does bf16 natively, else fp32."""

from __future__ import annotations

import torch

from ..cpu import native_bf16

__all__ = ["resolve_precision"]


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """'auto' -> 'bf16' on a CPU with native bf16, else 'fp32'; explicit values pass through."""
    if precision != "auto":
        return precision
    return "bf16" if torch.device(device).type == "cpu" and native_bf16() else "fp32"
