"""Rolling-origin backtests: forecast from many past decision times, score against what followed.

Origins are spread evenly over the test split (the last 20 % of each series by time) so that
a model trained on the first 80 % is only ever scored on data it never saw. Every history
handed to a model ends at its origin: the backtest cannot leak even for a careless model.
All origins of all series go to the model in one batched ``sample`` call (chunked for memory).

Besides per-step scores, :func:`score` can score the planner's decision variable: the peak of
the lead window ``[origin + startup, origin + startup + window]`` (see :func:`lead_window_steps`
for which forecast steps that is), as predicted quantiles of the per-path peaks against the
actual peak.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from foresight.forecasting import _metrics, _residuals
from foresight.forecasting._protocol import BaseForecaster, Forecast
from foresight.forecasting._series import Series
from foresight.forecasting.datasets import TEST_FRACTION, split_index

__all__ = ["Backtest", "lead_window_steps", "origins", "prepare", "score"]

# Histories handed to models are capped: two weeks and a day covers weekly seasonal naive.
MAX_HISTORY_SECONDS = 15 * _residuals.DAY_SECONDS
MAX_BATCH = 4_096
# Peak quantiles scored: the planner's default risk level and a cautious one.
PEAK_LEVELS = (0.9, 0.99)


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
    return forecast(forecaster, histories, horizon, n_samples, seed).paths


def forecast(
    forecaster: BaseForecaster, histories: Sequence[Series], horizon: int, n_samples: int = 100, seed: int = 0
) -> Forecast:
    """``forecaster.forecast`` in chunks of ``MAX_BATCH`` histories: the paths and who made each."""
    parts = [
        forecaster.forecast(histories[i : i + MAX_BATCH], horizon, n_samples, seed)
        for i in range(0, len(histories), MAX_BATCH)
    ]
    paths = np.concatenate([p.paths for p in parts]) if parts else np.empty((0, n_samples, horizon))
    return Forecast(paths, [model for p in parts for model in p.models])


def lead_window_steps(step_seconds: float, startup_seconds: float, window_seconds: float) -> tuple[int, int]:
    """Forecast columns ``(first, last)``, both included, inside ``[startup, startup + window]``.

    The origin is the decision time, when the last reading of the history was taken; column
    ``k`` of a forecast is the reading ``k + 1`` steps later (as in ``planning.decide``). A
    window narrower than a step still gets one column: the first one at or after its start.

    >>> lead_window_steps(60, 180, 600)      # one-minute steps: minutes 3..13 are columns 2..12
    (2, 12)
    >>> lead_window_steps(300, 180, 600), lead_window_steps(300, 180, 60)
    ((0, 1), (0, 0))
    """
    if step_seconds <= 0 or startup_seconds < 0 or window_seconds < 0:
        raise ValueError("need step_seconds > 0, startup_seconds >= 0 and window_seconds >= 0")
    first = max(0, math.ceil(startup_seconds / step_seconds - 1e-9) - 1)
    last = math.floor((startup_seconds + window_seconds) / step_seconds + 1e-9) - 1
    return first, max(first, last)


def score(paths: np.ndarray, bt: Backtest, peak_steps: tuple[int, int] | None = None) -> dict[str, Any]:
    """The metrics of ``foresight evaluate`` for one model, pooled over all origins.

    With ``peak_steps`` (see :func:`lead_window_steps`) the result also has ``peak``: the
    normalised pinball loss (``wql``) and the coverage of the predicted p90 and p99 of the
    lead-window peak against the actual peak, one peak per origin.
    """
    scores: dict[str, Any] = {
        "crps": _metrics.crps(paths, bt.actual),
        "wql": _metrics.wql(paths, bt.actual, (0.1, 0.5, 0.9)),
        "mase": _metrics.mase(paths, bt.actual, bt.scales),
        "coverage_80": _metrics.coverage(paths, bt.actual, 0.8),
        "coverage_90": _metrics.coverage(paths, bt.actual, 0.9),
        "under_forecast_error": _metrics.under_forecast_error(paths, bt.actual),
    }
    if peak_steps is not None:
        predicted, actual = _metrics.window_peaks(paths, bt.actual, *peak_steps)
        scores["peak"] = {
            "wql": {str(q): _metrics.quantile_loss(predicted, actual, q) for q in PEAK_LEVELS},
            "coverage": {str(q): _metrics.quantile_coverage(predicted, actual, q) for q in PEAK_LEVELS},
        }
    return scores
