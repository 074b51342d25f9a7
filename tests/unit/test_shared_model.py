"""One DreamModel shared by many callers: threads dreaming at once, a progress callback that
evaluates an objective mid-dream, nested captures; no hook is left behind on any net."""

from __future__ import annotations

import threading

import pytest
import torch

import deepdreamer as dd
from deepdreamer.engine import Progress, evaluate_objective, run_dream
from deepdreamer.models import capture, load_model
from deepdreamer.objectives import channel, layer_l2

FAST = dict(octaves=2, octave_scale=1.4, steps=4, step_size=0.015, jitter=8)


def _hooks(model) -> int:
    return sum(len(m._forward_hooks) for net in model.cached_nets() for m in net.modules())


def _run_in_threads(jobs):
    """Start every job at once (a barrier), return their results in order; re-raise failures."""
    results, errors = [None] * len(jobs), []
    barrier = threading.Barrier(len(jobs))

    def work(i, job):
        try:
            barrier.wait()
            results[i] = job()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_threads_dreaming_on_one_model_match_the_same_dreams_run_in_turn(lite0, photo):
    jobs = [
        lambda: run_dream(lite0, photo, layer_l2("blocks.2"), seed=1, **FAST).image,
        lambda: run_dream(lite0, photo, layer_l2("blocks.4"), seed=2, **FAST).image,
        lambda: run_dream(lite0, photo, layer_l2("conv_stem"), seed=3, **FAST).image,
        lambda: run_dream(lite0, photo, channel("blocks.3", 5), seed=4, **FAST).image,
    ]
    alone = [job() for job in jobs]  # also builds the fast nets, so the threads share them
    together = _run_in_threads(jobs)
    for a, b in zip(together, alone):
        assert torch.equal(a, b)
    assert not torch.equal(alone[0], alone[1])  # the dreams really differ
    assert _hooks(lite0) == 0


def test_racing_threads_build_each_fast_net_once(photo, monkeypatch):
    from deepdreamer.models import _registry

    model = load_model()  # fresh: no fast net yet
    builds = []
    real = _registry.fold_batchnorm
    monkeypatch.setattr(_registry, "fold_batchnorm", lambda net, keep: builds.append(keep) or real(net, keep))
    nets = _run_in_threads([lambda: model.fast_net_for(["blocks.3"])] * 4
                           + [lambda: model.fast_net_for(["conv_stem"])] * 4)
    assert sorted(map(sorted, builds)) == [[], ["conv_stem"]]  # one build per set of conv layers
    assert len({id(n) for n in nets[:4]}) == 1 and len({id(n) for n in nets[4:]}) == 1
    assert nets[0] is not nets[4]


def test_threads_sharing_one_model_through_the_api(lite0, sample_photo):
    kw = dict(octaves=1, steps=3, max_size=96)
    jobs = [lambda s=s, layer=layer: dd.dream(sample_photo, lite0, layer, seed=s, **kw).tobytes()
            for s, layer in ((0, "blocks.3"), (1, "blocks.5"), (2, "blocks.1"))]
    assert _run_in_threads(jobs) == [job() for job in jobs]
    assert _hooks(lite0) == 0


def test_a_progress_callback_can_evaluate_an_objective_mid_dream(lite0, photo):
    """The callback runs a forward pass of its own (another layer) while the dream's hooks
    are in place: each pass must see only its own layers and stop only itself."""
    watched = layer_l2("blocks.5")
    seen = []

    def watch(event):
        if isinstance(event, Progress):
            seen.append(evaluate_objective(lite0, watched, photo))

    plain = run_dream(lite0, photo, layer_l2("blocks.2"), seed=0, **FAST)
    watched_run = run_dream(lite0, photo, layer_l2("blocks.2"), seed=0, progress=watch, **FAST)
    assert len(seen) == 8 and len(set(seen)) == 1  # the same image gives the same value each time
    assert seen[0] == evaluate_objective(lite0, watched, photo)
    assert torch.equal(plain.image, watched_run.image)  # watching did not disturb the dream
    assert plain.objective_history == watched_run.objective_history
    assert _hooks(lite0) == 0


def test_nested_captures_of_one_net_keep_their_own_layers(lite0, photo):
    with capture(lite0, ["blocks.3"], fast=True) as outer:
        with capture(lite0, ["blocks.3", "blocks.5"], fast=True) as inner:
            assert _hooks(lite0) == 2  # one shared hook per module, not one per capture
            with torch.no_grad():
                both = inner.run(photo)
                one = outer.run(photo)
        assert set(both) == {"blocks.3", "blocks.5"} and set(one) == {"blocks.3"}
        assert torch.equal(both["blocks.3"], one["blocks.3"])
        assert _hooks(lite0) == 1  # the inner capture gave its hook back
    assert _hooks(lite0) == 0


def test_hooks_are_given_back_when_a_dream_fails(lite0, photo):
    def fail(event):
        if isinstance(event, Progress) and event.done == 3:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_dream(lite0, photo, layer_l2("conv_stem") + layer_l2("blocks.3"), seed=0,
                  progress=fail, **FAST)
    assert len(lite0.cached_nets()) >= 2 and _hooks(lite0) == 0
