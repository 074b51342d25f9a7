"""End-to-end tests of the `deepdreamer` CLI, run in-process with click's CliRunner.

Every dream is kept cheap (96 px, 2 octaves, 2 steps) and every file goes under tmp_path.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from deepdreamer.cli import cli
from deepdreamer.models import get_entry

CHELSEA = Path(__file__).parents[2] / "examples" / "chelsea.jpg"
CHEAP = ["--max-size", "96", "--octaves", "2", "--steps", "2", "--seed", "0", "-q"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)


def dream_args(inp, out, *extra):
    return ["dream", str(inp), "-o", str(out), *CHEAP, *extra]


def expected_size(path: Path, max_size: int) -> tuple[int, int]:
    w, h = Image.open(path).size
    scale = max_size / max(w, h)
    if scale >= 1:
        return w, h
    return round(w * scale), round(h * scale)


def assert_one_line_error(result, expected_start: str | None = None, contains: str | None = None):
    """Exit 1, exactly one line `error: ...` on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.stderr)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("error: "), line
    if expected_start is not None:
        assert line.startswith(expected_start), line
    if contains is not None:
        assert contains in line, line
    return line


def assert_no_leftovers(tmp_path: Path, *allowed: Path) -> None:
    """Only the files the test itself created remain; no output and no atomic-save temp file."""
    present = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert present == {Path(a) for a in allowed}, sorted(map(str, present))
    assert not list(tmp_path.rglob(".*.tmp"))


# ---------------------------------------------------------------- success


def test_sample_photo_exists():
    assert CHELSEA.is_file()


def test_dream_writes_output_of_downscaled_size_with_settings(runner, tmp_path):
    out = tmp_path / "dream.png"
    result = run(runner, *dream_args(CHELSEA, out))
    assert result.exit_code == 0, result.stderr
    assert out.is_file()
    assert result.stdout == ""  # -q: nothing printed
    with Image.open(out) as img:
        assert img.size == expected_size(CHELSEA, 96)
        assert max(img.size) == 96
        # the dream actually changed the pixels
        src = Image.open(CHELSEA).convert("RGB").resize(img.size, Image.LANCZOS)
        assert not np.array_equal(np.asarray(img.convert("RGB")), np.asarray(src))
    assert not list(tmp_path.glob(".*.tmp"))

    info = run(runner, "info", out)
    assert info.exit_code == 0, info.stderr
    settings = json.loads(info.stdout)
    assert settings["seed"] == 0
    assert settings["layers"] == [[get_entry("efficientnet-lite0").default_layer, 1.0]]  # none given
    assert settings["model"] == "efficientnet-lite0"
    assert settings["octaves"] == 2 and settings["steps"] == 2 and settings["max_size"] == 96


def test_dream_without_quiet_reports_written_path(runner, tmp_path):
    out = tmp_path / "loud.png"
    args = [a for a in dream_args(CHELSEA, out) if a != "-q"]
    result = run(runner, *args)
    assert result.exit_code == 0, result.stderr
    assert f"wrote {out}" in result.stderr
    assert out.is_file()


def test_explicit_layer_is_recorded(runner, tmp_path):
    out = tmp_path / "layer.png"
    result = run(runner, *dream_args(CHELSEA, out, "--layer", "blocks.2:0.5"))
    assert result.exit_code == 0, result.stderr
    settings = json.loads(run(runner, "info", out).stdout)
    assert settings["layers"] == [["blocks.2", 0.5]]


def test_same_seed_gives_identical_pixels(runner, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert run(runner, *dream_args(CHELSEA, a)).exit_code == 0
    assert run(runner, *dream_args(CHELSEA, b)).exit_code == 0
    with Image.open(a) as ia, Image.open(b) as ib:
        assert ia.size == ib.size
        assert np.array_equal(np.asarray(ia), np.asarray(ib))


def test_force_overwrites_existing_output(runner, tmp_path):
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    result = run(runner, *dream_args(CHELSEA, out, "--force"))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() != b"old"
    with Image.open(out) as img:
        assert img.size == expected_size(CHELSEA, 96)


def test_info_on_image_without_settings_fails(runner, tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (40, 40)).save(plain)
    result = run(runner, "info", plain)
    assert result.exit_code == 1
    assert "no deepdreamer settings" in result.output + result.stderr
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- models / layers


def test_models_lists_embedded_model_offline(runner):
    result = run(runner, "models")
    assert result.exit_code == 0
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    assert lines["efficientnet-lite0"][1] == "offline"
    assert lines["googlenet"][1] == "download"


def test_layers_lists_blocks_with_the_default_marked(runner):
    result = run(runner, "layers", "efficientnet-lite0")
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["blocks.3"][1:3] == ["80", "16"]
    assert "(default)" in " ".join(rows["blocks.4"])
    assert [name for name, row in rows.items() if "(default)" in " ".join(row)] == ["blocks.4"]
    assert rows["blocks.6"][1] == "320"


def test_layers_unknown_model(runner):
    result = run(runner, "layers", "foo")
    assert_one_line_error(result, expected_start="error: unknown model 'foo'")


# ---------------------------------------------------------------- one-line errors


def test_unknown_model(runner, tmp_path):
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(CHELSEA, out, "--model", "foo"))
    assert_one_line_error(result, expected_start="error: unknown model 'foo'")
    assert_no_leftovers(tmp_path)


def test_unknown_layer_suggests_closest(runner, tmp_path):
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(CHELSEA, out, "--layer", "blocks.9"))
    line = assert_one_line_error(result, expected_start="error: unknown layer")
    assert "'blocks.9'" in line
    assert "did you mean 'blocks.6'" in line
    assert_no_leftovers(tmp_path)


def test_empty_input_file(runner, tmp_path):
    inp = tmp_path / "empty.jpg"
    inp.write_bytes(b"")
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(inp, out))
    assert_one_line_error(result, expected_start=f"error: cannot read {inp}: the file is empty")
    assert_no_leftovers(tmp_path, inp)


def test_missing_input_file(runner, tmp_path):
    inp = tmp_path / "nope.jpg"
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(inp, out))
    assert_one_line_error(result, expected_start=f"error: cannot read {inp}: no such file")
    assert_no_leftovers(tmp_path)


def test_truncated_jpeg(runner, tmp_path):
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    inp = tmp_path / "cut.jpg"
    inp.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(inp, out))
    assert_one_line_error(result, expected_start=f"error: cannot read {inp}:", contains="truncated")
    assert_no_leftovers(tmp_path, inp)


def test_text_file_named_png(runner, tmp_path):
    inp = tmp_path / "x.png"
    inp.write_text("this is not an image\n")
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(inp, out))
    assert_one_line_error(result, expected_start=f"error: cannot read {inp}: not an image file")
    assert_no_leftovers(tmp_path, inp)


def test_decompression_bomb(runner, tmp_path):
    inp = tmp_path / "bomb.png"
    Image.new("L", (12000, 8000), 0).save(inp)
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(inp, out))
    line = assert_one_line_error(result, expected_start=f"error: cannot read {inp}:")
    assert "12000x8000" in line
    assert "decompression bomb" in line
    assert_no_leftovers(tmp_path, inp)


def test_one_pixel_image(runner, tmp_path):
    inp = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), (200, 10, 10)).save(inp)
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(inp, out))
    line = assert_one_line_error(result)
    assert line == "error: the image is 1x1 pixels; efficientnet-lite0 needs at least 32x32"
    assert_no_leftovers(tmp_path, inp)


def test_output_in_missing_directory(runner, tmp_path):
    out = tmp_path / "missing" / "o.png"
    result = run(runner, *dream_args(CHELSEA, out))
    assert_one_line_error(
        result,
        expected_start=f"error: cannot write {out}: the directory {out.parent} does not exist",
    )
    assert not out.parent.exists()
    assert_no_leftovers(tmp_path)


def test_existing_output_without_force_is_untouched(runner, tmp_path):
    out = tmp_path / "keep.png"
    Image.new("RGB", (10, 10), (1, 2, 3)).save(out)
    before = out.read_bytes()
    result = run(runner, *dream_args(CHELSEA, out))
    assert_one_line_error(result, expected_start=f"error: {out} exists; use --force")
    assert out.read_bytes() == before
    assert_no_leftovers(tmp_path, out)


def test_output_equal_to_input_without_force(runner, tmp_path):
    inp = tmp_path / "photo.png"
    Image.open(CHELSEA).convert("RGB").resize((96, 64)).save(inp)
    before = inp.read_bytes()
    result = run(runner, *dream_args(inp, inp))
    assert_one_line_error(result, expected_start=f"error: refusing to overwrite the input {inp}")
    assert inp.read_bytes() == before
    assert_no_leftovers(tmp_path, inp)


def test_unsupported_output_suffix(runner, tmp_path):
    out = tmp_path / "o.gif"
    result = run(runner, *dream_args(CHELSEA, out))
    assert_one_line_error(
        result, expected_start=f"error: cannot write {out}: unsupported suffix '.gif'"
    )
    assert_no_leftovers(tmp_path)


# ---------------------------------------------------------------- usage and value errors


def test_missing_output_option_is_usage_error(runner, tmp_path):
    result = run(runner, "dream", CHELSEA, *CHEAP)
    assert result.exit_code == 2
    assert "Missing option '-o'" in result.stderr
    assert "Traceback" not in result.output
    assert_no_leftovers(tmp_path)


def test_non_integer_octaves_is_usage_error(runner, tmp_path):
    out = tmp_path / "o.png"
    result = run(runner, "dream", CHELSEA, "-o", out, "--octaves", "abc")
    assert result.exit_code == 2
    assert "'abc' is not a valid integer" in result.stderr
    assert_no_leftovers(tmp_path)


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--octaves", "0", "error: octaves must be between 1 and 64, got 0"),
        ("--steps", "-1", "error: steps must be between 0 and 100000, got -1"),
        ("--octave-scale", "1.0", "error: octave scale must be greater than 1, got 1.0"),
        ("--max-size", "-5", "error: max size must be between 0 and 65536, got -5"),
        ("--tile-size", "64", "error: tile size must be auto, 0 (never tile) or at least 128, got 64"),
    ],
)
def test_bad_values_are_one_line_errors(runner, tmp_path, option, value, message):
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(CHELSEA, out), option, value)  # later option wins
    line = assert_one_line_error(result)
    assert line == message
    assert_no_leftovers(tmp_path)


def test_bad_layer_weight(runner, tmp_path):
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(CHELSEA, out, "--layer", "blocks.3:lots"))
    assert_one_line_error(result, expected_start="error: layer spec 'blocks.3:lots'")
    assert_no_leftovers(tmp_path)


# ---------------------------------------------------------------- --weights


def test_weights_missing_file(runner, tmp_path):
    weights = tmp_path / "nope.pt"
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(CHELSEA, out, "--weights", weights))
    line = assert_one_line_error(result)
    assert str(weights) in line
    assert_no_leftovers(tmp_path)


def test_weights_not_a_state_dict(runner, tmp_path):
    weights = tmp_path / "junk.pt"
    weights.write_text("not torch")
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(CHELSEA, out, "--weights", weights))
    line = assert_one_line_error(result, contains=str(weights))
    assert "state dict" in line
    assert_no_leftovers(tmp_path, weights)


def test_weights_local_state_dict(runner, tmp_path):
    from deepdreamer.models import load_model

    weights = tmp_path / "lite0.pt"
    torch.save(load_model(pretrained=False).net.state_dict(), weights)
    out = tmp_path / "w.png"
    result = run(runner, *dream_args(CHELSEA, out, "--weights", weights))
    assert result.exit_code == 0, result.stderr
    with Image.open(out) as img:
        assert img.size == expected_size(CHELSEA, 96)
    settings = json.loads(run(runner, "info", out).stdout)
    assert settings["weights"] == str(weights)


# ---------------------------------------------------------------- notices


def test_octaves_reduced_note(runner, tmp_path):
    out = tmp_path / "small.png"
    args = ["dream", CHELSEA, "-o", out, "--max-size", "64", "--octaves", "4",
            "--steps", "1", "--seed", "0"]
    result = run(runner, *args)
    assert result.exit_code == 0, result.stderr
    notes = [ln for ln in result.stderr.splitlines() if ln.startswith("note: ")]
    assert len(notes) == 1, result.stderr
    assert notes[0].startswith("note: using ")
    assert "instead of 4: smaller octaves would be under the model's minimum of 32 px" in notes[0]
    settings = json.loads(run(runner, "info", out).stdout)
    assert settings["octaves"] == 4
    assert 1 <= settings["octaves_used"] < 4
    assert f"note: using {settings['octaves_used']} octave" in notes[0]


def test_quiet_suppresses_note(runner, tmp_path):
    out = tmp_path / "small.png"
    args = ["dream", CHELSEA, "-o", out, "--max-size", "64", "--octaves", "4",
            "--steps", "1", "--seed", "0", "-q"]
    result = run(runner, *args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


def _class_logit(image: Image.Image, name: str) -> float:
    from deepdreamer.engine import evaluate_objective
    from deepdreamer.io import to_tensor
    from deepdreamer.models import load_model
    from deepdreamer.objectives import parse_objective

    model = load_model()
    return evaluate_objective(model, parse_objective(f"class:{name}", model.entry), to_tensor(image))


def test_objective_spec_dreams_toward_a_class(runner, tmp_path):
    """`--objective class:goldfish` is parsed with the model's catalogue, recorded, and the
    dream raises the goldfish logit."""
    from deepdreamer.io import load_image

    out = tmp_path / "fish.png"
    result = run(runner, *dream_args(CHELSEA, out, "--objective", "class:goldfish", "--steps", "5"))
    assert result.exit_code == 0, result.stderr
    info = run(runner, "info", out)
    assert json.loads(info.stdout)["objective"] == "class:goldfish"
    before = _class_logit(load_image(CHELSEA, max_size=96).rgb, "goldfish")  # what was dreamed
    after = _class_logit(Image.open(out).convert("RGB"), "goldfish")
    assert after > before + 3, (before, after)


def test_objective_with_layers_is_one_line_error(runner, tmp_path):
    out = tmp_path / "x.png"
    args = dream_args(CHELSEA, out, "--objective", "blocks.5:3", "--layer", "blocks.2")
    line = assert_one_line_error(run(runner, *args))
    assert line == "error: give either layers or an objective, not both"
    assert not out.exists()


def test_objective_channel_out_of_range(runner, tmp_path):
    out = tmp_path / "x.png"
    line = assert_one_line_error(run(runner, *dream_args(CHELSEA, out, "--objective", "blocks.5:192")))
    assert line == "error: channel 192 is out of range for blocks.5 (192 channels)"


def test_tile_size_is_used_and_recorded(runner, tmp_path, monkeypatch):
    """--tile-size 128 really cuts the image (the progress events count tiles) and is recorded."""
    import importlib

    from deepdreamer.engine import Progress

    command = importlib.import_module("deepdreamer.cli.dream")  # the module, not the click command
    events = []
    real = command.dream_image

    def recording(config, source, progress=None, **kw):
        return real(config, source, progress=lambda e: events.append(e) or progress(e), **kw)

    monkeypatch.setattr(command, "dream_image", recording)
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(CHELSEA, out, "--tile-size", "128", "--max-size", "300"))
    assert result.exit_code == 0, result.output
    settings = json.loads(run(runner, "info", out).stdout)
    assert settings["tile_size"] == 128
    tiles = {e.tiles for e in events if isinstance(e, Progress)}
    assert max(tiles) >= 4, tiles  # 300x200 in 128 px tiles: at least 2 x 2 at full size
    events.clear()
    assert run(runner, *dream_args(CHELSEA, tmp_path / "whole.png", "--max-size", "300")).exit_code == 0
    assert {e.tiles for e in events if isinstance(e, Progress)} == {1}  # auto: small images whole
    bad = run(runner, *dream_args(CHELSEA, tmp_path / "p.png", "--tile-size", "big"))
    assert bad.exit_code == 2
    assert "'big' is not 'auto' or a whole number of pixels" in bad.stderr
    assert not (tmp_path / "p.png").exists()


def test_class_objective_refuses_explicit_tiles(runner, tmp_path):
    out = tmp_path / "o.png"
    result = run(runner, *dream_args(CHELSEA, out, "--objective", "class:goldfish", "--tile-size", "128"))
    assert_one_line_error(result, expected_start="error: the objective 'class:goldfish'")
    assert_no_leftovers(tmp_path)
