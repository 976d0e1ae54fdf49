"""One linear-method quantile for the planner, without ``np.quantile``'s overhead.

The planner takes a few quantiles of 100 peaks per decision, and the calibration one of a record of a
day of windows; ``np.quantile`` spends more time checking its arguments than computing either.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["linear_quantile"]


def linear_quantile(values: np.ndarray, level: float, ordered: bool = False) -> np.ndarray:
    """``np.quantile(values, level, axis=0)``, same (linear) method and arithmetic.

    ``ordered``: ``values`` are sorted along axis 0 already; otherwise a partial sort finds the two
    neighbours. A row of values gives a scalar array, a matrix one quantile per column.

    >>> x = np.random.default_rng(0).lognormal(size=(2880, 3))
    >>> levels = (0.0, 0.1, 0.5, 0.8, 0.9, 0.97, 1.0)
    >>> all((linear_quantile(x, q) == np.quantile(x, q, axis=0)).all() for q in levels)
    True
    >>> all(linear_quantile(np.sort(x[:, 0]), q, ordered=True) == np.quantile(x[:, 0], q) for q in levels)
    True
    """
    last = values.shape[0] - 1
    index = last * level
    lo = min(math.floor(index), last)
    hi = min(lo + 1, last)
    if not ordered:
        values = np.partition(values, (lo, hi), axis=0)
    below, above, gamma = values[lo], values[hi], index - lo
    # numpy's lerp: from the nearer end, so that the result stays within [below, above]
    if gamma >= 0.5:
        return above - (above - below) * (1.0 - gamma)
    return below + (above - below) * gamma
