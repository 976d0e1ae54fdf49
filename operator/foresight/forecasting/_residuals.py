"""Helpers the statistical baselines share: season length by data length, residual bootstrap.

Every baseline turns its point forecast into sample paths the same way (adding bootstrapped
historical errors of the *same* forecasting rule), so that all models are scored on equal
terms by sample-based CRPS and interval coverage.
"""

from __future__ import annotations

import numpy as np

DAY_SECONDS = 86_400
WEEK_SECONDS = 7 * DAY_SECONDS
# Cap on how many past errors are kept for the bootstrap: recent behaviour matters most and
# it bounds the cost per call.
MAX_RESIDUALS = 2_000


def season_steps(step_seconds: int, length: int, min_cycles: int = 2, day_seconds: int = DAY_SECONDS) -> int:
    """Weekly season if ``min_cycles`` weeks fit, else daily if days fit, else 1 (none).

    ``day_seconds``: the daily cycle on the series' clock (``Series.season_seconds``).

    >>> season_steps(300, 288 * 14), season_steps(300, 288 * 3), season_steps(300, 100)
    (2016, 288, 1)
    >>> season_steps(60, 24 * 3, day_seconds=1440)  # a day replayed in 24 minutes
    24
    """
    for period in (7 * day_seconds, day_seconds):
        m = max(1, round(period / step_seconds))
        if length >= min_cycles * m:
            return m
    return 1


def bootstrap(residuals: np.ndarray, size: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """iid draws from the finite ``residuals`` (zeros if there are none)."""
    pool = residuals[np.isfinite(residuals)][-MAX_RESIDUALS:]
    if pool.size == 0:
        return np.zeros(size)
    return pool[rng.integers(0, pool.size, size=size)]


def seasonal_accumulate(noise: np.ndarray, season: int) -> np.ndarray:
    """Make errors of steps ``h > season`` add up over cycles, as repeating a season does.

    With ``k = (h - 1) // season`` the error at step ``h`` is a sum of ``k + 1`` draws,
    which is the textbook variance ``sigma^2 (k + 1)`` of the seasonal naive method.
    """
    out = noise.copy()
    for h in range(season, out.shape[-1]):
        out[..., h] += out[..., h - season]
    return out
