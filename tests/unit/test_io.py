"""Property tests for deepdreamer.io.images; every input is generated under tmp_path."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest
import torch
from PIL import Image

from deepdreamer.errors import InputImageError, OutputError
from deepdreamer.io import (
    SUPPORTED_OUTPUT_SUFFIXES,
    LoadedImage,
    load_image,
    merge_alpha,
    read_settings,
    save_image,
    to_pil,
    to_tensor,
)


def _gradient(w: int = 40, h: int = 30) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.float64)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.float64)[:, None].repeat(w, 1)
    a = np.stack([x, y, 255 - x], axis=-1).astype(np.uint8)
    return Image.fromarray(a, mode="RGB")


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif", ".bmp", ".gif"])
def test_each_format_loads_as_rgb(tmp_path: pathlib.Path, suffix: str) -> None:
    p = tmp_path / f"in{suffix}"
    _gradient().save(p)
    got = load_image(p)
    assert isinstance(got, LoadedImage)
    assert got.rgb.mode == "RGB" and got.rgb.size == (40, 30)
    assert got.original_size == (40, 30)
    assert got.source == str(p)
    if suffix in (".png", ".tif", ".bmp", ".webp"):
        diff = np.abs(np.asarray(got.rgb, int) - np.asarray(_gradient(), int))
        assert diff.max() <= (0 if suffix != ".webp" else 40)


def test_exif_orientation_is_applied(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "rot.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    _gradient(40, 30).save(p, exif=exif)
    got = load_image(p)
    assert got.rgb.size == (30, 40)
    assert got.original_size == (30, 40)


def test_grayscale_becomes_rgb(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "g.png"
    Image.new("L", (10, 8), 100).save(p)
    got = load_image(p)
    assert got.rgb.mode == "RGB" and got.alpha is None
    assert np.asarray(got.rgb).tolist()[0][0] == [100, 100, 100]


def test_palette_with_transparency_keeps_alpha(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "pal.png"
    im = Image.new("P", (6, 4), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.putpixel((0, 0), 1)
    im.info["transparency"] = 0
    im.save(p, transparency=0)
    got = load_image(p)
    assert got.rgb.mode == "RGB" and got.alpha is not None
    assert got.alpha.mode == "L" and got.alpha.size == got.rgb.size
    assert got.alpha.getpixel((0, 0)) == 255 and got.alpha.getpixel((1, 0)) == 0
    assert got.rgb.getpixel((0, 0)) == (0, 255, 0)


def test_16bit_png_is_scaled_not_clipped(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "deep.png"
    a = np.linspace(0, 65535, 64 * 4, dtype=np.uint16).reshape(4, 64)
    Image.fromarray(a).save(p)
    assert Image.open(p).mode.startswith("I")
    got = np.asarray(load_image(p).rgb)[..., 0].astype(int)
    assert not (got == 255).all()
    assert got.min() == 0 and got.max() == 255
    np.testing.assert_allclose(got, np.rint(a / 257.0), atol=1)


def test_cmyk_jpeg_becomes_rgb(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (12, 10), (0, 255, 255, 0)).save(p)
    got = load_image(p)
    assert got.rgb.mode == "RGB" and got.rgb.size == (12, 10) and got.alpha is None
    r, g, b = got.rgb.getpixel((5, 5))
    assert r > 200 and g < 60 and b < 60  # full magenta + yellow is red


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_channel_is_kept_separately(tmp_path: pathlib.Path, mode: str) -> None:
    p = tmp_path / "a.png"
    im = Image.new(mode, (8, 6), (50, 128) if mode == "LA" else (10, 20, 30, 128))
    im.save(p)
    got = load_image(p)
    assert got.rgb.mode == "RGB" and got.alpha is not None
    assert got.alpha.mode == "L" and set(np.unique(np.asarray(got.alpha)).tolist()) == {128}


def test_gif_first_frame(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (10, 10), c) for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(p).n_frames == 2
    r, g, b = load_image(p).rgb.getpixel((5, 5))
    assert r > 200 and b < 50


def test_max_size_downscales_keeping_aspect(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "big.png"
    Image.new("RGBA", (200, 100), (1, 2, 3, 200)).save(p)
    got = load_image(p, max_size=50)
    assert got.rgb.size == (50, 25) and got.alpha is not None and got.alpha.size == (50, 25)
    assert got.original_size == (200, 100)
    assert load_image(p, max_size=0).rgb.size == (200, 100)
    assert load_image(p, max_size=500).rgb.size == (200, 100)


def test_load_from_pil_image() -> None:
    got = load_image(Image.new("L", (30, 60)), max_size=20)
    assert got.source == "<PIL image>" and got.rgb.size == (10, 20)
    assert got.original_size == (30, 60)


def test_missing_file(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "nope.png"
    with pytest.raises(InputImageError) as e:
        load_image(p)
    assert str(e.value) == f"cannot read {p}: no such file"


def test_empty_file(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(InputImageError) as e:
        load_image(p)
    assert str(e.value) == f"cannot read {p}: the file is empty"


def test_text_file_named_png(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "notes.png"
    p.write_text("hello, I am not a picture\n")
    with pytest.raises(InputImageError) as e:
        load_image(p)
    assert str(e.value) == (
        f"cannot read {p}: not an image file (or a format deepdreamer does not read)"
    )


def test_truncated_jpeg(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "cut.jpg"
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    Image.fromarray(noise).save(p, quality=95)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputImageError) as e:
        load_image(p)
    assert str(e.value) == f"cannot read {p}: the image data is truncated or corrupt"


def test_decompression_bomb(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "bomb.png"
    Image.new("L", (12000, 8000)).save(p)
    assert p.stat().st_size < 1_000_000
    with pytest.raises(InputImageError) as e:
        load_image(p)
    assert str(e.value) == (
        f"cannot read {p}: 12000x8000 pixels is more than the {Image.MAX_IMAGE_PIXELS} "
        "pixel safety limit (a decompression bomb?)"
    )
    small = tmp_path / "one.png"
    Image.new("L", (1, 1)).save(small)
    assert load_image(small).rgb.size == (1, 1)


def test_directory_is_one_line_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(InputImageError) as e:
        load_image(tmp_path)
    msg = str(e.value)
    assert str(tmp_path) in msg and "\n" not in msg and "directory" in msg


def test_save_refuses_existing_without_force(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "out.png"
    p.write_bytes(b"keep me")
    with pytest.raises(OutputError) as e:
        save_image(_gradient(), p)
    assert str(e.value) == f"{p} exists; use --force to overwrite it"
    assert p.read_bytes() == b"keep me"
    assert save_image(_gradient(), p, force=True) == p
    assert Image.open(p).size == (40, 30)
    assert sorted(os.listdir(tmp_path)) == ["out.png"]


def test_save_refuses_the_input_unless_forced(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "in.png"
    _gradient().save(p)
    before = p.read_bytes()
    with pytest.raises(OutputError) as e:
        save_image(Image.new("RGB", (5, 5)), tmp_path / "." / "in.png", protect=[p])
    assert str(e.value) == f"refusing to overwrite the input {tmp_path / 'in.png'}"
    assert p.read_bytes() == before
    save_image(Image.new("RGB", (5, 5)), p, force=True, protect=[p])
    assert Image.open(p).size == (5, 5)


def test_save_unsupported_suffix(tmp_path: pathlib.Path) -> None:
    with pytest.raises(OutputError) as e:
        save_image(_gradient(), tmp_path / "out.xyz")
    assert ".xyz" in str(e.value) and all(s in str(e.value) for s in SUPPORTED_OUTPUT_SUFFIXES)


def test_save_missing_parent(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "no" / "such" / "out.png"
    with pytest.raises(OutputError) as e:
        save_image(_gradient(), p)
    assert str(e.value).startswith(f"cannot write {p}: ") and "\n" not in str(e.value)


def test_failed_save_is_atomic(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "out.png"
    p.write_bytes(b"original bytes")

    def boom(self: Image.Image, *a: object, **k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OutputError) as e:
        save_image(_gradient(), p, force=True)
    assert str(e.value) == f"cannot write {p}: disk full"
    assert p.read_bytes() == b"original bytes"
    assert os.listdir(tmp_path) == ["out.png"]


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"])
def test_settings_round_trip(tmp_path: pathlib.Path, suffix: str) -> None:
    settings = {"model": "inception", "octaves": 4, "lr": 0.01, "layers": ["a", "b"], "x": None}
    p = save_image(_gradient(), tmp_path / f"out{suffix}", settings=settings)
    assert read_settings(p) == settings
    assert load_image(p).rgb.size == (40, 30)
    q = save_image(_gradient(), tmp_path / f"plain{suffix}")
    assert read_settings(q) is None


def test_bmp_has_no_settings(tmp_path: pathlib.Path) -> None:
    p = save_image(_gradient(), tmp_path / "out.bmp", settings={"a": 1})
    assert read_settings(p) is None


def test_read_settings_bad_file(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "bad.png"
    p.write_text("nope")
    with pytest.raises(InputImageError):
        read_settings(p)


@pytest.mark.parametrize("suffix", [".jpg", ".bmp"])
def test_rgba_saved_as_rgb_where_alpha_is_impossible(tmp_path: pathlib.Path, suffix: str) -> None:
    p = save_image(Image.new("RGBA", (8, 8), (9, 99, 199, 100)), tmp_path / f"o{suffix}")
    assert Image.open(p).mode == "RGB"


def test_rgba_png_keeps_alpha(tmp_path: pathlib.Path) -> None:
    p = save_image(Image.new("RGBA", (8, 8), (9, 99, 199, 100)), tmp_path / "o.png")
    got = load_image(p)
    assert got.alpha is not None and set(np.unique(np.asarray(got.alpha)).tolist()) == {100}


def test_merge_alpha() -> None:
    rgb = Image.new("RGB", (20, 10), (1, 2, 3))
    assert merge_alpha(rgb, None).mode == "RGB"
    out = merge_alpha(rgb, Image.new("L", (10, 5), 77))
    assert out.mode == "RGBA" and out.size == (20, 10)
    assert out.getpixel((3, 3)) == (1, 2, 3, 77)


def test_tensor_round_trip() -> None:
    img = _gradient(17, 11)
    t = to_tensor(img)
    assert t.shape == (1, 3, 11, 17) and t.dtype == torch.float32
    assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0
    back = to_pil(t)
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), np.asarray(img))


def test_to_pil_clamps() -> None:
    t = torch.tensor([-1.0, 0.5, 2.0]).view(1, 3, 1, 1)
    assert to_pil(t).getpixel((0, 0)) == (0, 128, 255)
    assert to_pil(t[0]).size == (1, 1)
