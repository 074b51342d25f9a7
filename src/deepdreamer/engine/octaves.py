"""The octave pyramid: dream the smallest scale first and carry the detail gained up."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["plan_octaves", "resize"]


def plan_octaves(
    height: int, width: int, octaves: int, scale: float, min_size: int
) -> tuple[list[tuple[int, int]], str | None]:
    """Sizes (h, w) from smallest to the full size, and a notice when octaves had to be dropped
    because the smallest would be below the model's minimum input size."""
    sizes = []
    for i in range(octaves):
        h, w = round(height / scale**i), round(width / scale**i)
        if min(h, w) < min_size:
            break
        sizes.append((h, w))
    notice = None
    if len(sizes) < octaves:
        notice = (
            f"using {len(sizes)} octave{'s' if len(sizes) != 1 else ''} instead of {octaves}: "
            f"smaller octaves would be under the model's minimum of {min_size} px"
        )
    return sizes[::-1], notice


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    downscaling = size[0] < image.shape[-2]
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=downscaling)
