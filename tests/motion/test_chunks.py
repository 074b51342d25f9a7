"""Chunked video, without dreaming or Ray: where the frames are split (scene cuts, every N),
the warm-up before each chunk, the cut detection, the settings' checks and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from deepdreamer.cli import cli
from deepdreamer.errors import ConfigError
from deepdreamer.motion.chunked import chunk_jobs
from deepdreamer.config import ChunkConfig
from deepdreamer.motion.chunks import Chunk, cross_fade, plan_chunks, split_chunks
from deepdreamer.motion.cuts import scene_starts

from .videos import make_frame


def test_every_n_frames_with_warmup_from_the_frames_before():
    assert plan_chunks(10, [], 4, 2) == [Chunk(0, 4, 0), Chunk(4, 8, 2), Chunk(8, 10, 2)]
    assert plan_chunks(10, [], 4, 0) == [Chunk(0, 4), Chunk(4, 8), Chunk(8, 10)]
    assert plan_chunks(3, [], 4, 2) == [Chunk(0, 3)]
    assert plan_chunks(1, [], 1, 5) == [Chunk(0, 1)]
    assert plan_chunks(0, [], 4, 2) == []


def test_chunks_start_at_cuts_without_warmup_and_count_n_from_the_cut():
    # cuts at 7 and 9; every 5 frames otherwise, counted from each chunk's start
    assert plan_chunks(20, [7, 9], 5, 3) == [
        Chunk(0, 5), Chunk(5, 7, 3), Chunk(7, 9), Chunk(9, 14), Chunk(14, 19, 3), Chunk(19, 20, 3),
    ]


def test_warmup_stops_at_the_cut_before():
    # two frames after the cut at 3: only those two can warm up, never frames 0-2
    assert plan_chunks(8, [3], 2, 5) == [Chunk(0, 2), Chunk(2, 3, 2), Chunk(3, 5), Chunk(5, 7, 2), Chunk(7, 8, 4)]
    assert plan_chunks(8, [3], 2, 5)[1].first == 0


@pytest.mark.parametrize("trial", range(200))
def test_random_plans_cover_every_frame_once_and_never_warm_up_across_a_cut(trial):
    rng = np.random.default_rng(trial)
    total = int(rng.integers(1, 120))
    n, k = int(rng.integers(1, 30)), int(rng.integers(0, 12))
    cuts = sorted(set(rng.integers(1, max(total, 2), size=int(rng.integers(0, 8))).tolist()) & set(range(1, total)))
    plan = plan_chunks(total, cuts, n, k)
    kept = [i for c in plan for i in range(c.start, c.end)]
    assert kept == list(range(total))  # every frame exactly once, in order
    starts = {c.start for c in plan}
    assert set(cuts) <= starts
    for c in plan:
        scene = max([0] + [x for x in cuts if x <= c.start])
        assert 1 <= len(c) <= n
        assert c.first >= scene  # the warm-up stays inside the chunk's scene
        if c.start == scene:
            assert c.warmup == 0  # a scene's first chunk has nothing to carry in
        else:
            assert c.warmup == min(k, c.start - scene)


def test_chunks_are_planned_while_the_frames_are_read():
    def flags():
        yield from [False] * 5
        raise AssertionError("read past the first chunk's end")

    chunks = split_chunks(flags(), 4, 1)
    assert next(chunks) == Chunk(0, 4)


def test_the_loops_flow_mask_finds_cuts_and_flashes_not_motion():
    cut = np.random.default_rng(0).integers(0, 256, make_frame(0).shape, dtype=np.uint8)
    flash = np.clip(make_frame(6).astype(int) + 60, 0, 255).astype(np.uint8)
    frames = [make_frame(i) for i in range(4)] + [cut, make_frame(5), flash, make_frame(7)]
    flags = [is_cut for _, is_cut in scene_starts(frames)]
    assert flags == [True, False, False, False, True, True, True, True]
    # flow_blend 0: nothing is carried, no flow is computed, only the first frame starts a scene
    assert [c for _, c in scene_starts(frames, detect=False)] == [True] + [False] * 7


def test_jobs_carry_their_warmup_frames_and_absolute_index():
    frames = [np.full((4, 4, 3), i, np.uint8) for i in range(11)]
    jobs = list(chunk_jobs(iter(frames), ChunkConfig(chunk_frames=4, warmup=3), carry=False, offset=100))
    assert [j.chunk for j in jobs] == [Chunk(0, 4), Chunk(4, 8), Chunk(8, 11)]  # no carry: no warm-up
    # a cut at 6: to the moving square lit far brighter (the flow mask is 0 there, 0.98 within)
    moving = [make_frame(i) for i in range(6)] + [_brighter(make_frame(i)) for i in range(5)]
    jobs = list(chunk_jobs(iter(moving), ChunkConfig(chunk_frames=4, warmup=3), carry=True, offset=100,
                           skip=lambda c: c.start == 4))
    assert [j.chunk for j in jobs] == [Chunk(0, 4), Chunk(6, 10), Chunk(10, 11, 3)]
    assert [j.first for j in jobs] == [100, 106, 107]
    assert all(len(j.frames) == j.chunk.end - j.chunk.first for j in jobs)
    assert np.array_equal(jobs[2].frames[0], _brighter(make_frame(1)))  # the warm-up: frames 7-9
    assert np.array_equal(jobs[1].frames[0], _brighter(make_frame(0)))


@pytest.mark.parametrize("warmup", [1, 2, 4, 7])
def test_a_cross_fade_moves_evenly_from_the_earlier_dream_to_the_warm_ups(warmup):
    rng = np.random.default_rng(warmup)
    earlier, warm = (rng.integers(0, 256, (6, 8, 3), dtype=np.uint8) for _ in range(2))
    faded = [cross_fade(earlier, warm, j, warmup) for j in range(warmup)]
    gap = np.abs(earlier.astype(float) - warm.astype(float))
    for j, frame in enumerate(faded):
        # between the two everywhere, (j+1)/(warmup+1) of the way (to rounding)
        assert frame.dtype == np.uint8 and frame.shape == earlier.shape
        assert np.all(np.minimum(earlier, warm) <= frame) and np.all(frame <= np.maximum(earlier, warm))
        assert np.allclose(np.abs(frame.astype(float) - earlier), gap * (j + 1) / (warmup + 1), atol=0.51)
    assert np.array_equal(cross_fade(warm, warm, 0, warmup), warm)  # nothing to fade


def _brighter(frame: np.ndarray) -> np.ndarray:
    return np.clip(frame.astype(int) + 80, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("settings, contains", [
    (dict(chunk_frames=0), "chunk frames"), (dict(warmup=-1), "warm-up"), (dict(workers=0), "workers"),
    (dict(chunk_frames=4, warmup=5), r"warm-up \(5 frames\) must be at most the chunk length \(4 frames\)"),
])
def test_bad_chunk_settings_are_one_line(settings, contains):
    with pytest.raises(ConfigError, match=contains):
        ChunkConfig(**settings)


def test_ray_only_flags_need_the_ray_backend(tmp_path):
    result = CliRunner().invoke(cli, ["video", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "o.mp4"),
                                      "--chunk-frames", "8", "--workers", "2"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["error: --chunk-frames, --workers need --backend ray"]
