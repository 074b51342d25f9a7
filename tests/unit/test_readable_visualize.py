"""What makes feature visualisations readable (issue: robust pictures, not high-frequency
patterns): the down-and-up transform, the strong transform set, the spectrum's decay, the
phase-only (MACO) parameterisation, and the settings that choose them."""

from __future__ import annotations

import random

import pytest
import torch

from deepdreamer.config import VisualizeConfig
from deepdreamer.errors import ConfigError
from deepdreamer.visualize import make_param
from deepdreamer.visualize.param import MacoParam
from deepdreamer.visualize.transforms import SETS, STRONG, RobustnessTransforms, TransformParams, transforms_for


def high_share(image: torch.Tensor) -> float:
    """Spectral energy above half the Nyquist frequency, of the mean over colours."""
    y = image.mean(dim=1)[0].double()
    y = y - y.mean()
    power = torch.fft.fft2(y).abs() ** 2
    fy = torch.fft.fftfreq(y.shape[0])[:, None]
    fx = torch.fft.fftfreq(y.shape[1])[None, :]
    r = torch.sqrt(fx**2 + fy**2)
    return float(power[r > 0.25].sum() / power[r > 0].sum())


def test_shrinking_and_growing_back_removes_what_a_thumbnail_cannot_hold():
    checker = (torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2
    image = checker.float().expand(1, 3, 64, 64).contiguous()
    t = RobustnessTransforms(pad=0, jitter1=0, jitter2=0)
    kept = t.apply(image, TransformParams(0, (0, 0), 1.0, 0.0, (0, 0), down=1.0))
    shrunk = t.apply(image, TransformParams(0, (0, 0), 1.0, 0.0, (0, 0), down=2.0))
    assert torch.equal(kept, image)
    assert shrunk.shape == image.shape
    assert float(shrunk.std()) < 0.05 * float(image.std())  # the 1-px pattern is gone
    smooth = torch.linspace(0, 1, 64).expand(1, 3, 64, 64).contiguous()  # a ramp survives
    assert float((t.apply(smooth, TransformParams(0, (0, 0), 1.0, 0.0, (0, 0), down=2.0)) - smooth).abs().mean()) < 0.02


def test_the_strong_set_reaches_further_than_lucids_and_stays_differentiable():
    rng = random.Random(0)
    drawn = [STRONG.sample(rng) for _ in range(400)]
    assert min(p.scale for p in drawn) < 0.85 and max(p.scale for p in drawn) > 1.15
    assert max(abs(p.angle) for p in drawn) > 10
    downs = [p.down for p in drawn]
    assert 0.35 < sum(d > 1 for d in downs) / len(downs) < 0.65 and set(downs) == {1.0, 1.5, 2.0}
    lucid = [RobustnessTransforms().sample(random.Random(0)) for _ in range(50)]
    assert all(p.down == 1.0 and 0.9 <= p.scale <= 1.1 for p in lucid)
    image = torch.rand(2, 3, 48, 48, requires_grad=True)
    out = STRONG.apply(image, TransformParams(12, (3, 4), 0.75, 12.0, (1, 2), down=2.0))
    out.sum().backward()
    assert image.grad is not None and float(image.grad.abs().sum()) > 0


def test_config_chooses_the_transforms_and_checks_its_settings():
    assert transforms_for(VisualizeConfig(objective="class:goldfish")) is SETS["strong"]
    assert transforms_for(VisualizeConfig(objective="class:goldfish", robustness="lucid")) == RobustnessTransforms()
    assert transforms_for(VisualizeConfig(objective="class:goldfish", transforms=False)) is None
    with pytest.raises(ConfigError, match="robustness"):
        VisualizeConfig(objective="class:goldfish", robustness="heavy")
    with pytest.raises(ConfigError, match="decay"):
        VisualizeConfig(objective="class:goldfish", decay=float("nan"))


def test_a_steeper_decay_starts_smoother():
    with torch.no_grad():
        shares = [high_share(make_param("fourier", 1, 96, 96, 0, decay=d)() - 0.5) for d in (1.0, 1.5, 2.0)]
    assert shares[0] > 2 * shares[1] > 4 * shares[2], shares


def test_maco_keeps_its_magnitude_whatever_the_optimiser_does():
    """Only the phase is a parameter: after steps that try to add speckle, the image's spectrum
    (before the colours and the sigmoid) still has the fixed 1/f magnitude, up to its scale."""
    param = make_param("maco", 1, 64, 64, 0, decay=1.5)
    assert isinstance(param, MacoParam) and [n for n, _ in param.named_parameters()] == ["phase"]
    checker = ((torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2).float()
    optimiser = torch.optim.Adam(param.parameters(), lr=0.1)
    for _ in range(20):  # reward a 1-px checkerboard: what a pixel parameterisation would grow
        optimiser.zero_grad()
        (-(param()[0].mean(0) * checker).mean()).backward()
        optimiser.step()
    with torch.no_grad():
        spectrum = torch.polar(param.magnitude.expand_as(param.phase), param.phase)
        grey = torch.fft.irfft2(spectrum, s=(64, 64))
        magnitude = torch.fft.rfft2(grey).abs()[0, 0]
    expected = param.magnitude
    # away from the columns an inverse real FFT forces to be real (0 and Nyquist)
    ratio = (magnitude[1:, 1:-1] / expected[1:, 1:-1]).flatten()
    assert float(ratio.std() / ratio.mean()) < 0.01
    with torch.no_grad():
        image = param()
    assert image.shape == (1, 3, 64, 64) and 0 <= float(image.min()) and float(image.max()) <= 1


def test_the_defaults_are_recognised_and_survive_a_thumbnail(lite0):
    """The quality bar with today's defaults: each class the model's top 1 at full size, and
    still in its top 5 after a 2x downscale and JPEG quality 75 (benchmarks/readable.py asks the
    same of two other networks, for 20 classes at 512 steps)."""
    import io

    import torch.nn.functional as F
    from PIL import Image

    from deepdreamer.io import to_pil, to_tensor
    from deepdreamer.objectives import class_index, class_logit, per_item
    from deepdreamer.visualize import render

    config = VisualizeConfig(objective="class:goldfish")
    names = ["goldfish", "dumbbell", "volcano"]
    objective = per_item([class_logit(lite0, n) for n in names])
    param = make_param(config.param, 3, 224, 224, 0, decay=config.decay)
    out = render(lite0, objective, param, steps=64, lr=config.lr, seed=0, transforms=transforms_for(config))
    thumbs = []
    for i in range(3):
        small = to_pil(out.images[i:i + 1]).resize((112, 112), Image.BOX)
        buf = io.BytesIO()
        small.save(buf, format="JPEG", quality=75)
        thumbs.append(to_tensor(Image.open(io.BytesIO(buf.getvalue())).convert("RGB").resize((224, 224), Image.BICUBIC)))
    with torch.no_grad():
        full = F.softmax(lite0.net(lite0.normalize(out.images)), dim=1)
        thumb = F.softmax(lite0.net(lite0.normalize(torch.cat(thumbs))), dim=1)
    for i, name in enumerate(names):
        k = class_index(name)
        assert int(full[i].argmax()) == k, name
        assert k in thumb[i].topk(5).indices.tolist(), name
    assert high_share(out.images[:1]) < high_share(render(
        lite0, objective, make_param("fourier", 3, 224, 224, 0), steps=64, lr=config.lr, seed=0,
        transforms=RobustnessTransforms()).images[:1])
