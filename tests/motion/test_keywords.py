"""One keyword-to-config function behind dream, zoom, dream_video and visualize: the same
keywords mean the same in each, `preset=` works in each, an unknown keyword is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

import deepdreamer as dd
from deepdreamer.api import configs_from_keywords
from deepdreamer.config import DreamConfig, FrameTime, VideoConfig, VisualizeConfig, ZoomConfig
from deepdreamer.errors import UnknownNameError
from deepdreamer.presets import PRESETS, VISUALIZE_PRESETS

from .videos import make_video

CHELSEA = str(Path(__file__).resolve().parents[2] / "examples" / "chelsea.jpg")


def test_keywords_are_split_between_the_configs_and_a_preset_is_overridden():
    dream, (zoom,), loaded = configs_from_keywords(
        DreamConfig, dict(preset="deep", steps=2, frames=3, pan=[1, 2], cycle="blocks.2"),
        model="efficientnet-lite0", layers={"blocks.5": 0.5}, extra=(ZoomConfig,))
    assert loaded is None and dream.preset == "deep"
    assert dream.steps == 2 and dream.octaves == PRESETS["deep"].settings["octaves"]
    assert dream.layers == (("blocks.5", 0.5),)  # the keyword beats the preset's layer
    assert zoom == ZoomConfig(frames=3, pan=(1.0, 2.0), cycle=("blocks.2",))
    _, (video,), _ = configs_from_keywords(DreamConfig, dict(start="4f", end=0.5), extra=(VideoConfig,))
    assert video.start == FrameTime(4, "f") and video.end == FrameTime(0.5, "s")


def test_an_unknown_keyword_is_one_line_with_the_closest_name(lite0):
    with pytest.raises(UnknownNameError) as info:
        dd.dream(CHELSEA, lite0, step=3)
    assert str(info.value).startswith("unknown setting 'step'; did you mean 'steps'")
    with pytest.raises(UnknownNameError, match="did you mean 'frames'"):
        dd.zoom(CHELSEA, None, lite0, frame=3)
    with pytest.raises(UnknownNameError, match="unknown preset 'dep'; did you mean 'deep'"):
        dd.dream(CHELSEA, lite0, preset="dep")
    with pytest.raises(UnknownNameError, match="unknown preset 'deep' for visualize"):
        dd.visualize("blocks.3:1", lite0, preset="deep")


def test_preset_works_in_dream_zoom_video_and_visualize(lite0, tmp_path):
    deep = PRESETS["deep"].settings
    small = dict(steps=1, octaves=1, max_size=64, seed=0)
    image = dd.dream(CHELSEA, lite0, preset="deep", **small)
    assert image.info["deepdreamer"]["preset"] == "deep"
    assert image.info["deepdreamer"]["layers"] == [[n, w] for n, w in deep["layers"]]

    zoom = dd.zoom(CHELSEA, tmp_path / "z.gif", lite0, preset="deep", frames=2, **small)
    assert zoom.settings["preset"] == "deep" and zoom.settings["step_size"] == deep["step_size"]

    video = make_video(tmp_path / "in.mp4", frames=3, audio=False)
    clip = dd.dream_video(video, tmp_path / "v.gif", lite0, preset="deep", **small)
    assert clip.frames == 3 and clip.settings["preset"] == "deep"
    assert clip.settings["layers"] == [[n, w] for n, w in deep["layers"]]

    quick = VISUALIZE_PRESETS["quick"].settings
    images = dd.visualize("blocks.3:1", lite0, preset="quick", steps=2, seed=0)
    settings = images[0].info["deepdreamer"]
    assert settings["preset"] == "quick" and settings["steps"] == 2  # the keyword wins
    assert images[0].size == (quick["size"], quick["size"])  # the preset's size


def test_visualize_presets_build_valid_configs():
    for name in VISUALIZE_PRESETS:
        config, _, _ = configs_from_keywords(VisualizeConfig, dict(objective="class:1", preset=name))
        assert config.preset == name
