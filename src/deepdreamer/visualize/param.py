"""Image parameterisations for feature visualisation (Lucid's `param/`): what the optimiser
changes, and how that becomes an (N, 3, H, W) image in [0, 1].

`FourierParam` (the default) optimises a scaled spectrum and decorrelated colours, after Lucid's
`fft_image` and `to_valid_rgb`: every frequency and colour direction starts with a comparable
gradient, so the optimiser does not favour the high-frequency patterns that fool a network
("Feature Visualization", Olah et al., Distill 2017). `PixelParam` optimises pixels directly.
"""

from __future__ import annotations

import math

import torch

__all__ = ["ImageParam", "FourierParam", "MacoParam", "PixelParam", "make_param"]

# Lucid's square root of ImageNet's colour correlation matrix (from an SVD), scaled so that its
# largest column has norm 1: a step in the decorrelated space changes colours as photos do.
_COLOR_SQRT = torch.tensor(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=torch.float32
)
_COLOR = _COLOR_SQRT / _COLOR_SQRT.norm(dim=0).max()


def _decorrelate(t: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in the decorrelated colour basis -> RGB (before the sigmoid)."""
    return torch.einsum("nchw,dc->ndhw", t, _COLOR.to(t.device))


def _falloff(freqs: torch.Tensor, height: int, width: int, power: float) -> torch.Tensor:
    """1 / frequency^power, equal to Lucid's 1 / frequency at the lowest frequency: a steeper
    fall-off takes gain from the high frequencies and leaves the broad shapes' as they were
    (scaling every frequency up instead saturates the colours behind the sigmoid)."""
    lowest = 1.0 / max(height, width)
    return (1.0 / lowest) * (lowest / torch.clamp(freqs, min=lowest)) ** power


class ImageParam(torch.nn.Module):
    """A parameterised batch of images: `param()` is (N, 3, H, W) in [0, 1]."""

    def __init__(self, batch: int, height: int, width: int) -> None:
        super().__init__()
        if batch < 1 or height < 1 or width < 1:
            raise ValueError(f"need a positive batch and size, got {batch}x{height}x{width}")
        self.batch, self.height, self.width = batch, height, width


class PixelParam(ImageParam):
    """Plain pixels behind a sigmoid (keeps [0, 1] without clipping), starting near grey."""

    def __init__(self, batch: int, height: int, width: int, *, generator: torch.Generator,
                 sd: float = 0.01) -> None:
        super().__init__(batch, height, width)
        self.raw = torch.nn.Parameter(torch.randn(batch, 3, height, width, generator=generator, device="cpu") * sd)

    def forward(self) -> torch.Tensor:
        return torch.sigmoid(self.raw)


class FourierParam(ImageParam):
    """A spectrum scaled by 1/frequency, turned into an image by an inverse real FFT, then
    decorrelated colours and a sigmoid (Lucid's `fft_image` + `to_valid_rgb`)."""

    def __init__(self, batch: int, height: int, width: int, *, generator: torch.Generator,
                 sd: float = 0.01, decay_power: float = 1.0, decorrelate: bool = True) -> None:
        super().__init__(batch, height, width)
        fy = torch.fft.fftfreq(height, device="cpu")[:, None]
        fx = torch.fft.rfftfreq(width, device="cpu")[None, :]
        freqs = torch.sqrt(fx * fx + fy * fy)
        self.register_buffer("scale", _falloff(freqs, height, width, decay_power) * math.sqrt(height * width),
                             persistent=False)
        shape = (batch, 3) + tuple(freqs.shape) + (2,)  # real and imaginary parts
        self.spectrum = torch.nn.Parameter(torch.randn(shape, generator=generator, device="cpu") * sd)
        self.decorrelate = decorrelate

    def forward(self) -> torch.Tensor:
        spectrum = torch.view_as_complex(self.spectrum) * self.scale
        image = torch.fft.irfft2(spectrum, s=(self.height, self.width)) / 4.0
        if self.decorrelate:
            image = _decorrelate(image)
        return torch.sigmoid(image)


class MacoParam(ImageParam):
    """Phase only (MACO, Fel et al. 2023, torch-dreams' `maco`): the spectrum's magnitude is
    fixed to a natural image's 1/frequency fall-off and only its phase is optimised, so the
    picture can never put more energy into high frequencies than a photo does. The image is
    standardised, given decorrelated colours and a sigmoid, as the Fourier one."""

    def __init__(self, batch: int, height: int, width: int, *, generator: torch.Generator,
                 decay_power: float = 1.0, contrast: float = 2.0) -> None:
        super().__init__(batch, height, width)
        fy = torch.fft.fftfreq(height, device="cpu")[:, None]
        fx = torch.fft.rfftfreq(width, device="cpu")[None, :]
        freqs = torch.sqrt(fx * fx + fy * fy)
        magnitude = _falloff(freqs, height, width, decay_power)
        magnitude[0, 0] = 0.0  # no DC: the mean is set by the standardising below
        self.register_buffer("magnitude", magnitude, persistent=False)
        shape = (batch, 3) + tuple(freqs.shape)
        self.phase = torch.nn.Parameter((torch.rand(shape, generator=generator, device="cpu") * 2 - 1) * math.pi)
        self.contrast = contrast

    def forward(self) -> torch.Tensor:
        spectrum = torch.polar(self.magnitude.expand_as(self.phase), self.phase)
        image = torch.fft.irfft2(spectrum, s=(self.height, self.width))
        image = (image - image.mean(dim=(1, 2, 3), keepdim=True)) / (image.std(dim=(1, 2, 3), keepdim=True) + 1e-6)
        return torch.sigmoid(self.contrast * _decorrelate(image))


def make_param(kind: str, batch: int, height: int, width: int, seed: int,
               device: torch.device | str = "cpu", decay: float = 1.0) -> ImageParam:
    """'fourier', 'maco' or 'pixel', initialised from `seed` (the same seed gives the same start on
    every device: the start is drawn on the CPU), on `device` (the model's). `decay`: the
    spectrum's 1/frequency power (Fourier and MACO)."""
    generator = torch.Generator().manual_seed(seed)
    if kind == "fourier":
        param = FourierParam(batch, height, width, generator=generator, decay_power=decay)
    elif kind == "pixel":
        param = PixelParam(batch, height, width, generator=generator)
    elif kind == "maco":
        param = MacoParam(batch, height, width, generator=generator, decay_power=decay)
    else:
        raise ValueError(f"unknown parameterisation {kind!r}")
    return param.to(device)
