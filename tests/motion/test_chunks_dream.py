"""The chunk function and the chunked run's driver, dreaming in this process (no Ray): warm-up
frames are dreamed and dropped, a chunk whose warm-up reaches back to the range's start gives
exactly the one-process frames, and the driver's output, seeds and resume."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import deepdreamer as dd
from deepdreamer.config import ChunkConfig, DreamConfig, VideoConfig, parse_frame_time
from deepdreamer.errors import ConfigError, DreamCancelled
from deepdreamer.motion import FrameProgress
from deepdreamer.motion.chunked import render_video_chunked
from deepdreamer.motion.chunks import cross_fade, dream_chunk
from deepdreamer.motion.loops import video_loop
from deepdreamer.pipeline import prepare_dream

from .videos import FPS, FRAMES, audio_seconds, make_frame, make_video, read_video

CHEAP = DreamConfig(layers=(("blocks.3", 1.0),), octaves=1, steps=2, seed=0)


@pytest.fixture(scope="module")
def prepared(lite0):
    return prepare_dream(CHEAP, lite0)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("chunks") / "moving.mp4")


def test_warmup_frames_are_dreamed_apart_from_the_chunks(prepared):
    frames = [make_frame(i) for i in range(6)]
    warm, out = dream_chunk(prepared, 0.5, frames, seed=3, first=0, warmup=2)
    assert len(warm) == 2 and len(out) == 4
    assert all(f.shape == frames[0].shape and f.dtype == np.uint8 for f in warm + out)
    with pytest.raises(ValueError, match="warm-up"):
        dream_chunk(prepared, 0.5, frames, seed=3, first=0, warmup=6)


@pytest.mark.parametrize("offset", [0, 10])
def test_a_warmup_back_to_the_start_gives_the_one_process_frames(prepared, offset):
    """Chunk 4..7 with K = 4 >= its start: the same frames, bytes and all, as one process; the
    seeds count from the video's start (`offset`: where the range starts in the file)."""
    frames = [make_frame(i) for i in range(8)]
    whole = list(video_loop(prepared, 0.5, frames, seed=3, first=offset))
    warm, chunk = dream_chunk(prepared, 0.5, frames[0:8], seed=3, first=offset, warmup=4)
    assert len(warm) == len(chunk) == 4
    for mine, theirs in zip(warm + chunk, whole):
        assert np.array_equal(mine, theirs)
    # a shorter warm-up starts the chunk from another state: it is not the same
    _, cold = dream_chunk(prepared, 0.5, frames[2:8], seed=3, first=offset + 2, warmup=2)
    assert not np.array_equal(cold[0], whole[4])


def test_the_driver_writes_every_frame_at_the_source_rate_with_the_sound(clip, lite0, tmp_path):
    out = tmp_path / "c.mp4"
    events = []
    result = render_video_chunked(CHEAP, VideoConfig(), ChunkConfig(chunk_frames=5, warmup=2), clip, out,
                                  backend="inline", model=lite0, progress=events.append)
    frames, rate, has_audio = read_video(out)
    assert result.frames == len(frames) == FRAMES and rate == FPS and has_audio
    assert audio_seconds(out) == pytest.approx(FRAMES / FPS, abs=0.05)
    assert [e.frame for e in events if isinstance(e, FrameProgress)] == [0, 5, 10, 15, 20, 24]
    assert result.settings["chunks"] == {"chunk_frames": 5, "warmup": 2, "cut_below": 0.1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4"]  # the work folder is gone


def test_the_frames_before_each_join_are_cross_faded_into_the_next_chunks_warm_up(clip, lite0, tmp_path):
    """Kept frames (--keep-frames): every written frame is the chunk's own dream, except the K
    before a mid-scene join, which fade from the earlier chunk's dream into the warm-up's."""
    out = tmp_path / "faded"
    render_video_chunked(CHEAP, VideoConfig(end=parse_frame_time("12f")), ChunkConfig(chunk_frames=5, warmup=2),
                         clip, out, backend="inline", model=lite0, keep_frames=True)
    kept = tmp_path / "faded.frames"
    # chunks 0-4, 5-9 (warm-up 3-4), 10-11 (warm-up 8-9): no cut in the moving test clip
    assert sorted(p.name for p in kept.glob("warm-*.png")) == [f"warm-{i:06d}.png" for i in (3, 4, 8, 9)]
    written = sorted(out.iterdir())
    assert len(written) == 12

    def png(path):
        return np.asarray(Image.open(path).convert("RGB"))

    for index, path in enumerate(written):
        own = png(kept / f"{index:06d}.png")
        place = {3: 0, 4: 1, 8: 0, 9: 1}.get(index)
        if place is None:
            assert np.array_equal(png(path), own), index
        else:
            warm = png(kept / f"warm-{index:06d}.png")
            assert not np.array_equal(own, warm)  # two dreams of one frame: different patterns
            assert np.array_equal(png(path), cross_fade(own, warm, place, 2)), index


def test_without_flow_the_chunks_are_the_one_process_frames(clip, lite0, tmp_path):
    """flow_blend 0 carries nothing: the chunked frames (seeds by absolute index, here from
    frame 3 of the file) are exactly the one-process ones."""
    video = VideoConfig(flow_blend=0.0, start=parse_frame_time("3f"), end=parse_frame_time("14f"))
    render_video_chunked(CHEAP, video, ChunkConfig(chunk_frames=4), clip, tmp_path / "chunked",
                         backend="inline", model=lite0)
    dd.dream_video(clip, tmp_path / "whole", lite0, flow_blend=0.0, start="3f", end="14f",
                   layers="blocks.3", octaves=1, steps=2, seed=0)
    names = sorted(p.name for p in (tmp_path / "whole").iterdir())
    assert len(names) == 11
    for name in names:
        assert np.array_equal(np.asarray(Image.open(tmp_path / "chunked" / name)),
                              np.asarray(Image.open(tmp_path / "whole" / name))), name


def test_an_interrupted_chunked_run_resumes_skipping_the_chunks_done(clip, lite0, tmp_path):
    video = VideoConfig(end=parse_frame_time("12f"))
    chunking = ChunkConfig(chunk_frames=4, warmup=2)
    whole = tmp_path / "whole"
    render_video_chunked(CHEAP, video, chunking, clip, whole, backend="inline", model=lite0)

    def stop_after_a_chunk(event):
        return not (isinstance(event, FrameProgress) and event.frame == 4)

    out = tmp_path / "cut"
    with pytest.raises(DreamCancelled):
        render_video_chunked(CHEAP, video, chunking, clip, out, backend="inline", model=lite0,
                             progress=stop_after_a_chunk)
    assert not out.exists() and len(list((tmp_path / "cut.frames").glob("*.png"))) == 4
    with pytest.raises(ConfigError, match="chunks"):  # other chunks: other frames at the joins
        render_video_chunked(CHEAP, video, ChunkConfig(chunk_frames=4, warmup=3), clip, out,
                             backend="inline", model=lite0, resume=True)
    with pytest.raises(ConfigError, match="chunks"):  # nor are they a one-process run's frames
        dd.dream_video(clip, out, lite0, end="12f", layers="blocks.3", octaves=1, steps=2, seed=0, resume=True)
    events = []
    result = render_video_chunked(CHEAP, video, chunking, clip, out, backend="inline", model=lite0,
                                  resume=True, progress=events.append)
    assert result.resumed == 4 and result.frames == 12
    assert [e.frame for e in events if isinstance(e, FrameProgress)] == [4, 8, 12]
    for name in sorted(p.name for p in whole.iterdir()):
        assert np.array_equal(np.asarray(Image.open(out / name)), np.asarray(Image.open(whole / name))), name
