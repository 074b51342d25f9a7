"""Per-frame seeds derived from the run's seed: frame k always gets the same seed, so a resumed
run dreams every remaining frame exactly as an uninterrupted one would."""

from __future__ import annotations

import numpy as np

__all__ = ["frame_seed"]


def frame_seed(run_seed: int, index: int) -> int:
    """A well-mixed 31-bit seed for frame `index` (neighbouring frames get unrelated seeds)."""
    state = np.random.SeedSequence([int(run_seed) & 0xFFFFFFFF, int(index)]).generate_state(1)
    return int(state[0]) & 0x7FFFFFFF
