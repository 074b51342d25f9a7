"""`deepdreamer zoom` and `deepdreamer video` from the command line: outputs and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from deepdreamer.cli import cli

from .videos import read_video

CHELSEA = Path(__file__).parents[2] / "examples" / "chelsea.jpg"
CHEAP = ["--max-size", "80", "--octaves", "1", "--steps", "2", "--seed", "0"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)


def assert_one_line_error(result, contains: str) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert contains in lines[0], lines[0]
    return lines[0]


def test_zoom_writes_an_mp4(tmp_path):
    out = tmp_path / "z.mp4"
    result = run("zoom", CHELSEA, "-o", out, "--frames", "3", "--zoom", "1.1", "--rotate", "2",
                 "--pan", "1,-1", "--fps", "10", *CHEAP)
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stderr
    assert result.stderr.count("eta") == 3  # piped: a line per frame with its ETA
    assert "frame 3/3" in result.stderr
    frames, rate, _ = read_video(out)
    assert len(frames) == 3 and rate == 10


def test_zoom_from_noise_with_a_layer_cycle(tmp_path):
    out = tmp_path / "n.gif"
    result = run("zoom", "-o", out, "--init", "noise", "--size", "64x48", "--frames", "2",
                 "--layers-cycle", "blocks.2", "--layers-cycle", "blocks.4:3", "--cycle-every", "1",
                 "-q", *CHEAP)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert out.exists()


@pytest.mark.parametrize(
    "args, contains",
    [
        (["zoom", CHELSEA, "--init", "noise"], "not both"),
        (["zoom"], "needs an input image"),
        (["zoom", "missing.jpg"], "no such file"),
        (["zoom", CHELSEA, "--zoom", "0"], "zoom must be"),
        (["zoom", CHELSEA, "--layers-cycle", "blocks.99"], "unknown layer"),
    ],
)
def test_zoom_bad_input_is_one_line(tmp_path, args, contains):
    out = tmp_path / "z.mp4"
    result = run(*args, "-o", out, "--frames", "2", *CHEAP)
    assert_one_line_error(result, contains)
    assert list(tmp_path.iterdir()) == []


def test_zoom_bad_output_is_one_line(tmp_path):
    assert_one_line_error(run("zoom", CHELSEA, "-o", tmp_path / "z.avi", *CHEAP), "unsupported suffix")
    existing = tmp_path / "z.mp4"
    existing.write_bytes(b"mine")
    assert_one_line_error(run("zoom", CHELSEA, "-o", existing, *CHEAP), "--force")
    assert existing.read_bytes() == b"mine"


def test_bad_pan_and_size_are_usage_errors(tmp_path):
    assert run("zoom", CHELSEA, "-o", tmp_path / "z.mp4", "--pan", "1").exit_code == 2
    assert run("zoom", "-o", tmp_path / "z.mp4", "--init", "noise", "--size", "64").exit_code == 2


def test_video_command_keeps_rate_and_renders_a_range(tmp_path):
    from .videos import make_video

    src = make_video(tmp_path / "in.mp4", frames=8)
    out = tmp_path / "out.mp4"
    result = run("video", src, "-o", out, "--start", "2f", "--end", "6f", "--flow-blend", "0.5",
                 "--octaves", "1", "--steps", "1", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "frame 4/4" in result.stderr
    frames, rate, has_audio = read_video(out)
    assert len(frames) == 4 and rate == 24 and has_audio


def test_video_bad_times_are_usage_errors(tmp_path):
    result = run("video", tmp_path / "in.mp4", "-o", tmp_path / "o.mp4", "--start", "soon")
    assert result.exit_code == 2
    assert "seconds" in result.output
