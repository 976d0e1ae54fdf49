"""Naive persistence with empirical change paths: whole paths, recent only, gaps, speed."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from foresight import forecasting
from foresight.forecasting.naive import Naive

START = pd.Timestamp("2024-01-01", tz="UTC")


def _series(values: np.ndarray, step_seconds: int = 60) -> forecasting.Series:
    return forecasting.Series(np.asarray(values, dtype=float), START, step_seconds)


def test_every_path_is_a_historical_change_path_from_the_last_value() -> None:
    # A sawtooth: ramps of +1 for 9 steps, then a drop of 9. Independent one-step draws would
    # mix ramps and drops freely; whole paths keep each k-step change a real one.
    y = 100 + np.tile(np.r_[np.arange(10.0)], 30)
    paths = Naive().sample([_series(y)], horizon_steps=12, n_samples=200, seed=1)[0]
    changes = {tuple(y[j + 1 : j + 13] - y[j]) for j in range(len(y) - 12)}
    assert all(tuple(p - y[-1]) in changes for p in paths)
    assert len({tuple(p) for p in paths}) == 10  # all ten phases of the sawtooth are drawn


def test_spread_grows_like_the_history_says() -> None:
    walk = 1_000 + np.cumsum(np.random.default_rng(0).normal(0, 1, 3 * 1440))
    paths = Naive().sample([_series(walk)], horizon_steps=16, n_samples=4_000, seed=0)[0]
    spread = paths.std(axis=0)
    assert 0.8 < spread[0] < 1.2 and 3.2 < spread[15] < 4.8  # sqrt(16) = 4 for a random walk


def test_only_the_recent_history_sets_the_spread() -> None:
    wild = 100 + np.random.default_rng(0).normal(0, 30, 2 * 1440)
    calm = np.full(3 * 1440, 100.0)
    paths = Naive().sample([_series(np.r_[wild, calm])], horizon_steps=5, n_samples=100)[0]
    np.testing.assert_array_equal(paths, 100.0)
    wider = Naive(history_seconds=5 * 86_400).sample([_series(np.r_[wild, calm])], 5, 100)[0]
    assert wider.std() > 1.0


def test_gaps_inside_and_at_the_end_start_from_the_last_reading() -> None:
    y = np.arange(200.0)
    y[50:80] = np.nan
    y[-10:] = np.nan  # the last readings are missing: persist the last real one
    paths = Naive().sample([_series(y)], horizon_steps=4, n_samples=50)[0]
    assert np.isfinite(paths).all()
    assert set(paths[:, 0].tolist()) <= {189.0, 190.0}  # 189 was the last reading; changes are 0 or +1


def test_a_history_shorter_than_the_horizon_cycles_its_changes() -> None:
    paths = Naive().sample([_series([1.0, 2.0, 3.0, 4.0])], horizon_steps=10, n_samples=5)[0]
    np.testing.assert_array_equal(paths, np.broadcast_to(np.arange(5.0, 15.0), (5, 10)))


def test_a_thousand_series_in_well_under_a_second(nasa: forecasting.Series) -> None:
    ends = np.linspace(500, len(nasa), 1_000).astype(int)
    histories = [nasa.head(int(e)).tail(2_000) for e in ends]
    model = forecasting.get("naive")
    best = float("inf")
    for seed in range(3):
        started = time.perf_counter()
        paths = model.sample(histories, horizon_steps=30, n_samples=100, seed=seed)
        best = min(best, time.perf_counter() - started)
    assert paths.shape == (1_000, 100, 30) and np.isfinite(paths).all()
    assert best < 1.0, f"{best:.2f} s"
