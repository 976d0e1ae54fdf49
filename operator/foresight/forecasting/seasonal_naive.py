"""Seasonal naive: tomorrow looks like today (or next week like this week).

The forecast for step ``h`` repeats the value one season earlier; the season is weekly when
two weeks of history exist, daily when two days do, and otherwise the method degrades to
plain persistence (season 1). Sample paths add bootstrapped seasonal differences
``y[t] - y[t - m]`` of the history, accumulated across cycles for horizons beyond a season.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from foresight.forecasting import _residuals
from foresight.forecasting._protocol import BaseForecaster
from foresight.forecasting._series import Series, interpolate_gaps

__all__ = ["SeasonalNaive"]


class SeasonalNaive(BaseForecaster):
    """Seasonal naive with residual-bootstrap paths.

    >>> import numpy as np, pandas as pd
    >>> day = np.tile(np.r_[np.zeros(144), np.full(144, 10.0)], 3)   # 3 days at 5 min
    >>> s = Series(day, pd.Timestamp("2024-01-01", tz="UTC"), 300)
    >>> SeasonalNaive().sample([s], horizon_steps=2, n_samples=4)[0].tolist()
    [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    """

    name: ClassVar[str] = "seasonal-naive"

    def __init__(self, season_steps: int | None = None) -> None:
        # None: chosen per series from its length and step (see module docstring).
        self.season_steps = season_steps

    def config(self) -> dict[str, Any]:
        return {"season_steps": self.season_steps}

    def _sample_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((len(series), n_samples, horizon_steps))
        for i, s in enumerate(series):
            filled, observed = interpolate_gaps(s.clean())
            m = self.season_steps or _residuals.season_steps(
                s.step_seconds, len(filled), day_seconds=s.season_seconds
            )
            m = min(m, len(filled) - 1) if len(filled) > 1 else 1
            idx = len(filled) - m + (np.arange(horizon_steps) % m)
            point = filled[idx]
            # Errors of the same rule on the history, only where both ends were observed.
            tail = slice(max(m, len(filled) - _residuals.MAX_RESIDUALS - m), len(filled))
            lagged = np.arange(len(filled))[tail] - m
            both = observed[tail] & observed[lagged]
            residuals = np.where(both, filled[tail] - filled[lagged], np.nan)
            noise = _residuals.bootstrap(residuals, (n_samples, horizon_steps), rng)
            out[i] = point + _residuals.seasonal_accumulate(noise, m)
        return out
