"""Holt-Winters on a batch mixing a full history with one that starts late (a new or gappy series)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from foresight import forecasting


def test_late_start_beside_a_full_history() -> None:
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    day = 1440
    full = forecasting.Series(50 + 10 * np.sin(np.arange(3 * day) * 2 * np.pi / day), start, 60)
    values = np.r_[np.full(2 * day + 500, np.nan), rng.random(day - 500) * 10 + 50]
    late = forecasting.Series(values, start, 60)
    paths = forecasting.get("holt-winters").sample([full, late], horizon_steps=30, n_samples=50, seed=0)
    assert paths.shape == (2, 50, 30) and np.isfinite(paths).all()
