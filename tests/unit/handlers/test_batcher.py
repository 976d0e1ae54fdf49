"""ForecastBatcher: bad input through every model, broken models fall back, no waiter hangs."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd
import pytest

from foresight import forecasting
from foresight.handlers.batcher import ForecastBatcher

START = pd.Timestamp("2024-01-01", tz="UTC")
HORIZON = 30
SAMPLES = 40


def _bad_inputs() -> dict[str, forecasting.Series]:
    """One series per bad-input rule of ``BaseForecaster.sample``."""
    rng = np.random.default_rng(0)
    steady = 50 + 5 * np.sin(np.arange(600) / 10) + rng.normal(0, 1, 600)
    gaps, nan_end, negative, spike = (steady.copy() for _ in range(4))
    gaps[200:260] = np.nan
    nan_end[-20:] = np.nan
    negative[::5] = -10.0
    spike[300] = 1000 * np.median(steady)
    day_wave = 50 + 20 * np.sin(2 * np.pi * np.arange(60 * 1440) / 1440)
    cases = {
        "gaps": (gaps, 60),
        "nan-at-end": (nan_end, 60),
        "constant": (np.full(300, 7.0), 60),
        "negative": (negative, 60),
        "spike": (spike, 60),
        "one-reading": (np.array([40.0]), 60),
        "three-readings-15s": (np.array([40.0, 41.0, 42.0]), 15),
        "60-days-at-1min": (day_wave, 60),
    }
    return {name: forecasting.Series(v, START, step, item_id=name) for name, (v, step) in cases.items()}


@pytest.fixture(scope="module")
def shared_models() -> dict[str, forecasting.BaseForecaster]:
    """Loaded once for the module (the shipped DeepAR and auto over it), as the operator does."""
    return {name: forecasting.get(name) for name in forecasting.names()}


@pytest.mark.parametrize("model", forecasting.names())
async def test_bad_input_through_every_model(model: str, shared_models: dict[str, Any]) -> None:
    batcher = ForecastBatcher(window_seconds=0.01, get_model=shared_models.__getitem__)
    cases = _bad_inputs()
    results = await asyncio.gather(
        *(batcher.sample(model, s, HORIZON, SAMPLES) for s in cases.values()),
    )
    assert batcher.calls == 1, "one batched call for all of them"
    for name, (paths, used) in zip(cases, results, strict=True):
        assert paths.shape == (SAMPLES, HORIZON), name
        assert np.isfinite(paths).all() and (paths >= 0).all(), name
        assert "fallback" not in used, f"{name}: {used}"


async def test_a_series_without_readings_is_no_forecast_not_a_failure() -> None:
    batcher = ForecastBatcher(window_seconds=0)
    empty = forecasting.Series(np.full(60, np.nan), START, 60)
    paths, used = await batcher.sample("seasonal-naive", empty, HORIZON, SAMPLES)
    assert np.isnan(paths).all() and used == "seasonal-naive"


async def test_failover_node_signals_use_auto_not_the_fallback(shared_models: dict[str, Any]) -> None:
    """What the FailoverPolicy sends for a 5m horizon: 15 s steps, nodes from minutes to an hour
    old, constant or not. Every ``auto`` batch used to fail with ``index 0 is out of bounds`` and
    fall back to Holt-Winters."""
    batcher = ForecastBatcher(window_seconds=0.01, get_model=shared_models.__getitem__)
    rng = np.random.default_rng(1)
    nodes = {}
    for n in (3, 4, 10, 19, 20, 21, 41, 120, 240):
        nodes[f"node-{n}/const"] = np.full(n, 1.0)
        nodes[f"node-{n}/noisy"] = rng.uniform(0.1, 0.3, n)
    series = [forecasting.Series(v, START, 15, item_id=name) for name, v in nodes.items()]
    results = await asyncio.gather(*(batcher.sample("auto", s, 30, 100) for s in series))
    for name, (paths, used) in zip(nodes, results, strict=True):
        assert paths.shape == (100, 30) and np.isfinite(paths).all(), name
        assert "fallback" not in used, f"{name}: {used}"


class _Fake:
    """A model that answers with whatever ``make(n_series, n_samples, horizon)`` returns."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def sample(self, series: list[forecasting.Series], horizon_steps: int, n_samples: int, seed: int) -> Any:
        return self.make(len(series), n_samples, horizon_steps)

    def forecast(
        self, series: list[forecasting.Series], horizon_steps: int, n_samples: int, seed: int
    ) -> forecasting.Forecast:
        paths = self.sample(series, horizon_steps, n_samples, seed)
        return forecasting.Forecast(paths, ["fake"] * len(series))


def _with_fake(make: Any, name: str = "fake") -> ForecastBatcher:
    return ForecastBatcher(
        window_seconds=0,
        get_model=lambda model: _Fake(make) if model == name else forecasting.get(model),
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda b, s, h: np.full((b, s, h), np.nan),  # NaN paths for a series with readings
        lambda b, s, h: np.r_[np.ones(s * h - 1), np.inf].reshape(1, s, h).repeat(b, 0),  # one Inf
        lambda b, s, h: np.ones((b, s, h + 1)),  # wrong horizon
        lambda b, s, h: np.ones((b + 1, s, h)),  # an extra series
        lambda b, s, h: [[1.0]],  # not an array at all
    ],
    ids=["nan", "inf", "wrong-horizon", "wrong-batch", "not-an-array"],
)
async def test_bad_paths_count_as_a_failure_and_fall_back(make: Any) -> None:
    series = forecasting.Series(np.full(120, 5.0), START, 60, item_id="web")
    paths, used = await asyncio.wait_for(_with_fake(make).sample("fake", series, HORIZON, SAMPLES), 30)
    assert paths.shape == (SAMPLES, HORIZON) and np.isfinite(paths).all()
    assert used == "holt-winters (fallback: fake failed)"


async def test_a_model_whose_extra_is_missing_falls_back_and_names_the_extra() -> None:
    def unavailable(model: str) -> Any:
        if model == "deepar":
            raise forecasting.ModelUnavailable("deepar needs foresight[deepar]", extra="deepar")
        return forecasting.get(model)

    batcher = ForecastBatcher(window_seconds=0, get_model=unavailable)
    series = forecasting.Series(np.full(120, 5.0), START, 60, item_id="web")
    paths, used = await asyncio.wait_for(batcher.sample("deepar", series, HORIZON, SAMPLES), 30)
    assert np.isfinite(paths).all()
    assert used == "holt-winters (fallback: deepar needs foresight[deepar])"


async def test_a_broken_fallback_fails_every_waiter_instead_of_hanging() -> None:
    batcher = _with_fake(lambda b, s, h: np.full((b, s, h), np.nan), name="holt-winters")
    series = [forecasting.Series(np.full(120, float(k + 1)), START, 60, item_id=f"s{k}") for k in range(3)]
    tasks = [batcher.sample("holt-winters", s, HORIZON, SAMPLES) for s in series]
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
    assert all(isinstance(r, ValueError) and "non-finite paths" in str(r) for r in results)
