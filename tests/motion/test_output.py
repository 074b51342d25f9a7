"""FrameWriter: every output kind, the codec fallback, and no trace left by a failed write."""

from __future__ import annotations

import numpy as np
import pytest

from deepdreamer.errors import OutputError
from deepdreamer.motion import FrameWriter, output_kind
from deepdreamer.motion import output as output_module

from .videos import make_frame, read_video


def test_output_kind_by_suffix(tmp_path):
    assert output_kind("a.mp4") == "video" and output_kind("a.MKV") == "video"
    assert output_kind("a.gif") == "gif"
    assert output_kind("frames") == "folder" and output_kind("frames.d/") == "folder"
    with pytest.raises(OutputError, match="unsupported suffix"):
        output_kind("a.avi")


def test_mpeg4_is_the_fallback_when_h264_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(output_module, "_VIDEO_CODECS", ("no-such-encoder", "mpeg4"))
    with FrameWriter(tmp_path / "v.mp4", 24) as out:
        for i in range(4):
            out.write(make_frame(i))
        out.commit()
    frames, rate, _ = read_video(tmp_path / "v.mp4")
    assert len(frames) == 4 and rate == 24
    assert np.abs(frames[2].astype(float) - make_frame(2)).mean() < 12  # the same picture


def test_settings_are_kept_in_the_video(tmp_path):
    import av

    with FrameWriter(tmp_path / "v.mkv", 10, metadata={"seed": 5}) as out:
        out.write(make_frame(0))
        out.commit()
    with av.open(str(tmp_path / "v.mkv")) as c:
        assert '"seed": 5' in c.metadata.get("comment", c.metadata.get("COMMENT", ""))


@pytest.mark.parametrize("name", ["v.mp4", "v.gif", "frames"])
def test_a_failure_midway_leaves_nothing(tmp_path, name):
    with pytest.raises(RuntimeError):
        with FrameWriter(tmp_path / name, 24) as out:
            out.write(make_frame(0))
            out.write(make_frame(1))
            raise RuntimeError("the dream failed")
    assert list(tmp_path.iterdir()) == []


def test_frames_must_all_have_one_size(tmp_path):
    with FrameWriter(tmp_path / "v.mp4", 24) as out:
        out.write(make_frame(0))
        with pytest.raises(ValueError, match="the first was"):
            out.write(make_frame(0)[:32])
        out.abort()
    assert list(tmp_path.iterdir()) == []


def test_no_frames_is_an_error_not_an_empty_file(tmp_path):
    with pytest.raises(OutputError, match="no frames"):
        with FrameWriter(tmp_path / "v.mp4", 24) as out:
            out.commit()
    assert list(tmp_path.iterdir()) == []


def test_force_replaces_only_a_folder_of_frames(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a folder of PNG frames"):
        FrameWriter(mine, 24, force=True)
    assert (mine / "notes.txt").read_text() == "keep me"
    frames = tmp_path / "frames"
    for run in range(2):
        with FrameWriter(frames, 24, force=True) as out:
            for i in range(3 - run):
                out.write(make_frame(i))
            out.commit()
    assert sorted(p.name for p in frames.iterdir()) == ["frame_000001.png", "frame_000002.png"]
