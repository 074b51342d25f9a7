"""Laplacian-pyramid gradient normalisation (Mordvintsev's TF DeepDream notebook, `lap_normalize`):
split the gradient into frequency bands, give every band the same spread, merge. Low frequencies
then move as much as high ones, which paints smoother, more colourful structure than the raw
gradient (dominated by pixel-level detail) at the cost of a few small convolutions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["lap_split", "lap_merge", "lap_normalize"]

_K1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
_K = torch.outer(_K1, _K1) / 256.0  # the notebook's 5x5 binomial kernel (sums to 1)


def _kernel(x: torch.Tensor) -> torch.Tensor:
    return _K.to(x.device, x.dtype).expand(x.shape[1], 1, 5, 5)


def _down(x: torch.Tensor) -> torch.Tensor:
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), _kernel(x), stride=2, groups=x.shape[1])


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    h, w = x.shape[-2:]  # the transposed conv gives 2n - 1 (+1 with output padding) per side
    pad = (int(size[0] >= 2 * h), int(size[1] >= 2 * w))
    y = F.conv_transpose2d(x, _kernel(x) * 4, stride=2, padding=2, groups=x.shape[1], output_padding=pad)
    return y[..., : size[0], : size[1]]


def lap_split(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Bands from the finest (high frequencies) to the coarsest (the low-pass residual)."""
    bands = []
    for _ in range(levels - 1):
        if min(x.shape[-2:]) < 4:
            break
        low = _down(x)
        bands.append(x - _up(low, x.shape[-2:]))
        x = low
    bands.append(x)
    return bands


def lap_merge(bands: list[torch.Tensor]) -> torch.Tensor:
    x = bands[-1]
    for high in reversed(bands[:-1]):
        x = _up(x, high.shape[-2:]) + high
    return x


def lap_normalize(grad: torch.Tensor, levels: int, eps: float = 1e-8) -> torch.Tensor:
    """Each band scaled to unit spread. Each band's per-channel mean is removed first (the
    notebook keeps it): a mean left in the low-pass band shifts the whole image one way every
    step, and over many steps the dream drifts darker."""
    if levels <= 1:
        return grad
    bands = []
    for band in lap_split(grad, levels):
        band = band - band.mean(dim=(-2, -1), keepdim=True)
        bands.append(band / band.square().mean().sqrt().clamp_min(eps))
    return lap_merge(bands)
