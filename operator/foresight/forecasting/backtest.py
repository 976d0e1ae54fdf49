"""Rolling-origin backtests: forecast from many past decision times, score against what followed.

Origins are spread evenly over the test split (the last 20 % of each series by time) so that
a model trained on the first 80 % is only ever scored on data it never saw. Every history
handed to a model ends at its origin: the backtest cannot leak even for a careless model.
All origins of all series go to the model in one batched ``sample`` call (chunked for memory).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from foresight.forecasting import _metrics, _residuals
from foresight.forecasting._protocol import BaseForecaster
from foresight.forecasting._series import Series
from foresight.forecasting.datasets import TEST_FRACTION, split_index

__all__ = ["Backtest", "origins", "prepare", "score"]

# Histories handed to models are capped: two weeks and a day covers weekly seasonal naive.
MAX_HISTORY_SECONDS = 15 * _residuals.DAY_SECONDS
MAX_BATCH = 4_096


@dataclasses.dataclass
class Backtest:
    """Histories (one per origin), what followed each, and the per-row MASE scale."""

    histories: list[Series]
    actual: np.ndarray  # [rows, horizon], NaN where not observed
    scales: np.ndarray  # [rows]
    origin_index: np.ndarray  # [rows] step index of each origin in its series
    row_series: np.ndarray  # [rows] which input series


def origins(length: int, horizon: int, max_origins: int, test_fraction: float = TEST_FRACTION) -> np.ndarray:
    """Evenly spaced origins ``t`` (history ``[:t]``) with the whole horizon inside the test split.

    >>> origins(100, 5, 4).tolist()
    [80, 85, 90, 95]
    """
    first = split_index(length, test_fraction)
    last = length - horizon
    if last < first:
        return np.array([], dtype=int)
    count = min(max_origins, last - first + 1)
    return np.unique(np.linspace(first, last, count).round().astype(int))


def prepare(
    series: Sequence[Series], horizon: int, max_origins: int = 100, test_fraction: float = TEST_FRACTION
) -> Backtest:
    """Cut every series at its origins (the history before the test split sets the MASE scale)."""
    histories, actual, scales, idx, rows = [], [], [], [], []
    for k, s in enumerate(series):
        values = s.clean()
        cut = split_index(len(s), test_fraction)
        season = _residuals.season_steps(s.step_seconds, cut, min_cycles=2)
        season = min(season, max(1, round(_residuals.DAY_SECONDS / s.step_seconds)))
        scale = _metrics.naive_scale(values[:cut], season)
        keep = max(1, int(MAX_HISTORY_SECONDS // s.step_seconds))
        for t in origins(len(s), horizon, max_origins, test_fraction):
            histories.append(s.head(int(t)).tail(keep))
            actual.append(values[t : t + horizon])
            scales.append(scale if scale > 0 else np.nan)
            idx.append(t)
            rows.append(k)
    return Backtest(
        histories,
        np.array(actual, dtype=float).reshape(len(histories), horizon),
        np.array(scales, dtype=float),
        np.array(idx, dtype=int),
        np.array(rows, dtype=int),
    )


def sample(
    forecaster: BaseForecaster, histories: Sequence[Series], horizon: int, n_samples: int = 100, seed: int = 0
) -> np.ndarray:
    """``forecaster.sample`` in chunks of ``MAX_BATCH`` histories."""
    parts = [
        forecaster.sample(histories[i : i + MAX_BATCH], horizon, n_samples, seed)
        for i in range(0, len(histories), MAX_BATCH)
    ]
    return np.concatenate(parts) if parts else np.empty((0, n_samples, horizon))


def score(paths: np.ndarray, bt: Backtest) -> dict[str, Any]:
    """The metrics of ``foresight evaluate`` for one model, pooled over all origins."""
    return {
        "crps": _metrics.crps(paths, bt.actual),
        "wql": _metrics.wql(paths, bt.actual, (0.1, 0.5, 0.9)),
        "mase": _metrics.mase(paths, bt.actual, bt.scales),
        "coverage_80": _metrics.coverage(paths, bt.actual, 0.8),
        "coverage_90": _metrics.coverage(paths, bt.actual, 0.9),
        "under_forecast_error": _metrics.under_forecast_error(paths, bt.actual),
    }
