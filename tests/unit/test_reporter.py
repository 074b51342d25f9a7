"""cli._common.Reporter, the one progress reporter of every command, fed events by hand."""

from __future__ import annotations

import sys

import pytest

from deepdreamer.cli._common import Reporter
from deepdreamer.engine import Notice, Progress
from deepdreamer.motion import FrameProgress

STEP = Progress(octave=1, octaves=2, step=1, steps=3, done=1, total=6, objective=0.0, size=(32, 24))


def _feed(reporter: Reporter) -> None:
    with reporter as r:
        r(FrameProgress(1, 4, resumed=1))  # the run starts: one frame was kept
        r(Notice("using 2 octaves"))
        r(STEP)
        r(Notice("using 2 octaves"))  # every frame repeats the engine's notes
        r(FrameProgress(2, 4, resumed=1))
        r(FrameProgress(3, 4, resumed=1))


def test_piped_frames_print_a_line_each_and_every_note_once(monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    _feed(Reporter(quiet=False, frames=True))
    assert capsys.readouterr().err.splitlines() == [
        "resuming: 1 of 4 frames already done",
        "note: using 2 octaves",
        "frame 2/4  eta 0s",
        "frame 3/4  eta 0s",
    ]


@pytest.mark.parametrize("frames", [False, True])
def test_quiet_prints_nothing(monkeypatch, capsys, frames):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    _feed(Reporter(quiet=True, frames=frames))
    assert capsys.readouterr() == ("", "")


def test_a_terminal_bar_counts_steps_or_frames(monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with Reporter(quiet=False) as steps:
        steps(STEP)
    task = steps._bar.tasks[0]
    assert (task.completed, task.total) == (1, 6)
    assert task.description == "octave 1/2 (32x24) step 1/3"
    frames = Reporter(quiet=False, frames=True)
    _feed(frames)
    task = frames._bar.tasks[0]
    assert (task.completed, task.total, task.description) == (3, 4, "dreaming")
    assert capsys.readouterr().err.count("note: using 2 octaves") == 1
