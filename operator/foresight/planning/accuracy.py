"""Live accuracy: score past forecasts against what happened, per scaler.

Each forecast is kept as a few quantiles per future step (not all sample paths: memory stays small
with 1,000 scalers). When the actual values arrive, every step is scored with

- CRPS, approximated by twice the mean pinball loss over the kept quantile levels and normalized by
  the mean absolute actual (so workloads of different size compare);
- coverage of the central 90% interval (the 5%-95% quantiles);
- under-forecast rate: how often the actual exceeded the quantile the scaler sizes for.

Kept in memory: a restarted operator starts scoring afresh, which is harmless (nothing acts on it
except the report).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

LEVELS = np.round(np.arange(0.05, 0.96, 0.05), 2)


@dataclass(frozen=True)
class _Pending:
    first_target: datetime
    step_seconds: int
    quantiles: np.ndarray  # [len(LEVELS), horizon]
    sized_for: np.ndarray  # [horizon], the quantile the scaler sizes for


@dataclass
class AccuracyTracker:
    """Rolling forecast scores for one scaler.

    >>> from datetime import UTC, datetime, timedelta
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> tracker = AccuracyTracker()
    >>> tracker.record(np.full((100, 3), 10.0), last_observed=t0, step_seconds=60, quantile=0.9)
    >>> tracker.observe_values(t0 + timedelta(minutes=1), 60, np.array([10.0, 10.0, 30.0]))
    >>> summary = tracker.summary()
    >>> summary["scored_forecasts"], round(summary["under_forecast_rate"], 2)
    (1, 0.33)
    """

    max_pending: int = 64
    window_points: int = 500
    pending: deque[_Pending] = field(default_factory=deque)
    _crps: deque[float] = field(default_factory=deque)
    _scale: deque[float] = field(default_factory=deque)
    _covered: deque[bool] = field(default_factory=deque)
    _under: deque[bool] = field(default_factory=deque)
    scored_forecasts: int = 0

    def record(
        self, paths: np.ndarray, *, last_observed: datetime, step_seconds: int, quantile: float
    ) -> None:
        """Keep a forecast whose first step is one step after ``last_observed``."""
        quantiles = np.quantile(paths, LEVELS, axis=0)
        sized_for = np.quantile(paths, quantile, axis=0)
        first = last_observed + timedelta(seconds=step_seconds)
        if self.pending and self.pending[-1].first_target == first:
            return  # same origin seen twice (two ticks inside one step)
        self.pending.append(_Pending(first, step_seconds, quantiles, sized_for))
        while len(self.pending) > self.max_pending:
            self.pending.popleft()

    def observe_values(self, start: datetime, step_seconds: int, values: np.ndarray) -> None:
        """Score every pending forecast whose horizon is fully covered by these actuals."""
        end = start + timedelta(seconds=step_seconds * (len(values) - 1))
        keep: deque[_Pending] = deque()
        for forecast in self.pending:
            horizon = forecast.quantiles.shape[1]
            last_target = forecast.first_target + timedelta(seconds=forecast.step_seconds * (horizon - 1))
            if last_target > end or forecast.step_seconds != step_seconds:
                keep.append(forecast)
                continue
            offset = round((forecast.first_target - start).total_seconds() / step_seconds)
            if offset < 0:
                continue  # history no longer reaches back to it
            actual = values[offset : offset + horizon]
            self._score(forecast, actual)
        self.pending = keep

    def _score(self, forecast: _Pending, actual: np.ndarray) -> None:
        ok = np.isfinite(actual)
        if not ok.any():
            return
        q, y = forecast.quantiles[:, ok], actual[ok]
        diff = y[None, :] - q
        pinball = np.maximum(LEVELS[:, None] * diff, (LEVELS[:, None] - 1) * diff)
        for value in 2 * pinball.mean(axis=0):
            self._push(self._crps, float(value))
        for value in np.abs(y):
            self._push(self._scale, float(value))
        for lo, hi, a in zip(q[0], q[-1], y, strict=True):
            self._push(self._covered, bool(lo <= a <= hi))
        for bound, a in zip(forecast.sized_for[ok], y, strict=True):
            self._push(self._under, bool(a > bound))
        self.scored_forecasts += 1

    def _push(self, queue: deque[Any], value: Any) -> None:
        queue.append(value)
        while len(queue) > self.window_points:
            queue.popleft()

    def summary(self) -> dict[str, Any]:
        """Rolling scores, ``None`` until something was scored."""
        if not self._crps:
            return {"crps": None, "coverage_90": None, "under_forecast_rate": None, "scored_forecasts": 0}
        scale = float(np.mean(self._scale)) or 1.0
        return {
            "crps": float(np.mean(self._crps)) / scale,
            "coverage_90": float(np.mean(self._covered)),
            "under_forecast_rate": float(np.mean(self._under)),
            "scored_forecasts": self.scored_forecasts,
        }
