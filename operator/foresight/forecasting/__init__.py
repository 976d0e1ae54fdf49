"""Probabilistic load forecasting: sample paths from a registry of interchangeable models.

>>> import numpy as np, pandas as pd
>>> from foresight import forecasting
>>> s = forecasting.Series(np.full(60, 5.0), pd.Timestamp("2024-01-01", tz="UTC"), 60)
>>> paths = forecasting.get("seasonal-naive").sample([s], horizon_steps=30, n_samples=100, seed=0)
>>> paths.shape, forecasting.quantiles(paths, [0.1, 0.5, 0.9]).shape
((1, 100, 30), (1, 3, 30))

Models: ``analog`` (the default: smoothed level plus the changes that followed similar moments),
``naive`` (persistence, the reference), ``theta`` (statsmodels), ``deepar`` (shipped, pretrained
global model), ``seasonal-naive``, ``holt-winters``, ``fft`` (Crane-style), and ``auto`` (per-series
blend by recent out-of-sample CRPS).
"""

from foresight.forecasting._protocol import (
    BaseForecaster,
    Forecast,
    Forecaster,
    NonFiniteForecastError,
    nonfinite_items,
    quantiles,
)
from foresight.forecasting._registry import ModelUnavailable, available, get, names, register
from foresight.forecasting._series import Series
from foresight.forecasting.artifacts import load, save

__all__ = [
    "BaseForecaster",
    "Forecast",
    "Forecaster",
    "ModelUnavailable",
    "NonFiniteForecastError",
    "Series",
    "available",
    "get",
    "load",
    "names",
    "nonfinite_items",
    "quantiles",
    "register",
    "save",
]
