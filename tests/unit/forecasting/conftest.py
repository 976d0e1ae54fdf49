"""Shared fixtures: real held-out slices (see data/README.md) and tiny-budget forecasters."""

from __future__ import annotations

import pathlib

import pytest

from foresight import forecasting
from foresight.forecasting import datasets

DATA = pathlib.Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def azure() -> forecasting.Series:
    return datasets.read_trace(DATA / "azure_v2_cpu_usage_test_tail_300s.csv", columns=["cpu_usage"])[0]


@pytest.fixture(scope="session")
def nasa() -> forecasting.Series:
    return datasets.read_trace(DATA / "nasa_http_test_tail_60s.csv")[0]


def tiny(name: str) -> forecasting.BaseForecaster:
    """A forecaster with the smallest budget that still exercises its code paths."""
    from foresight.forecasting import auto, deepar

    if name == "deepar":
        return deepar.DeepAR(max_steps=3, batch_size=8, hidden_size=8, context_length=24)
    if name == "auto":
        small = tiny("deepar")
        return auto.Auto(
            candidates=["deepar", "seasonal-naive", "holt-winters", "fft"],
            backtest_origins=2,
            eval_samples=10,
            models={"deepar": small},
        )
    return forecasting.get(name)
