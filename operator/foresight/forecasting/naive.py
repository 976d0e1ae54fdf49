"""Naive: persistence with empirical multi-step changes, the reference every model must beat.

The forecast starts from the last observed reading and adds whole change paths of the recent
history: for a random past origin ``j`` in the last ``history_seconds`` (3 days by default),
``path[k] = y_last + (y[j + k] - y[j])`` for ``k = 1 .. horizon``. Drawing whole paths (not
independent one-step changes) keeps the real multi-step correlation: a ramp that lasted ten
minutes stays a ramp, and the spread of the ``k``-step change is the history's own. Gaps are
filled by the shared linear interpolation (a change across a gap is its average slope), and
histories shorter than the horizon reuse their one-step changes cyclically.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from foresight.forecasting import _residuals
from foresight.forecasting._protocol import BaseForecaster
from foresight.forecasting._series import Series, interpolate_gaps

__all__ = ["Naive"]


class Naive(BaseForecaster):
    """Last value plus sampled historical change paths.

    >>> import numpy as np, pandas as pd
    >>> ramp = Series(np.arange(10.0), pd.Timestamp("2024-01-01", tz="UTC"), 60)
    >>> Naive().sample([ramp], horizon_steps=3, n_samples=2)[0].tolist()   # every change path is +1/step
    [[10.0, 11.0, 12.0], [10.0, 11.0, 12.0]]
    """

    name: ClassVar[str] = "naive"

    def __init__(self, history_seconds: int = 3 * _residuals.DAY_SECONDS) -> None:
        # Recent changes only: the volatility of last week's incident is not today's.
        self.history_seconds = history_seconds

    def config(self) -> dict[str, Any]:
        return {"history_seconds": self.history_seconds}

    def _sample_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((len(series), n_samples, horizon_steps))
        steps = np.arange(1, horizon_steps + 1)
        for i, s in enumerate(series):
            keep = max(2, int(self.history_seconds // s.step_seconds) + 1)
            # Interpolate before cutting: a window that is all gap still ends at the last reading.
            filled = interpolate_gaps(s.clean())[0][-keep:]
            changes = np.diff(filled)
            if changes.size >= horizon_steps:
                n_origins = changes.size - horizon_steps + 1
            else:
                # Too short for one whole path: cycle through the one-step changes.
                n_origins = changes.size
                changes = np.resize(changes, changes.size + horizon_steps)
            level = np.concatenate([[0.0], np.cumsum(changes)])  # level[j] = y[j] - y[0]
            origin = rng.integers(0, n_origins, size=n_samples)[:, None]
            out[i] = filled[-1] + level[origin + steps] - level[origin]
        return out
