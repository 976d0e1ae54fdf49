"""The operator's taint hysteresis on a risk sequence, and the runs it leaves.

:func:`foresight.planning.failover.plan_actions` taints a node once its risk reaches the threshold and lifts
the taint only when the risk falls below ``untaintBelowProbability`` (half the threshold by default); in
between, the state holds. The replays apply that rule to a sequence of risks checked one tick apart
(``tests/unit/simulation/test_failover_taint.py`` drives the real planner with the same sequences).
"""

from __future__ import annotations

import numpy as np

__all__ = ["hysteresis", "runs_of"]


def hysteresis(risk: np.ndarray, threshold: float, release_below: float) -> np.ndarray:
    """Whether the node is tainted after each check, starting untainted.

    ``NaN`` (no risk this tick) holds the state, as the planner holds it for a node without data.

    >>> hysteresis(np.array([0.1, 0.6, 0.3, 0.2, 0.6, np.nan, 0.1]), 0.5, 0.25).tolist()
    [False, True, True, False, True, True, False]
    """
    on = False
    out = np.zeros(len(risk), dtype=bool)
    for i, p in enumerate(np.asarray(risk, dtype=float)):
        if on and p < release_below:
            on = False
        elif not on and p >= threshold:
            on = True
        out[i] = on
    return out


def runs_of(flags: np.ndarray) -> np.ndarray:
    """``[[first, stop), ...]`` index ranges where ``flags`` is true; ``stop == len`` for a run still on.

    >>> runs_of(np.array([0, 1, 1, 0, 1], dtype=bool)).tolist()
    [[1, 3], [4, 5]]
    """
    f = np.concatenate([[False], np.asarray(flags, dtype=bool), [False]]).astype(np.int8)
    edges = np.diff(f)
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1)
