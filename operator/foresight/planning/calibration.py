"""Conformal calibration of the lead-window peak: size for what past forecasts missed, not what they said.

A sample-path forecast can be right on average and still under-dispersed exactly where the planner looks
(the peak of a one-minute window a few minutes ahead), or miss peaks finer than its step. The planner
therefore keeps score: every decision leaves its *raw* predicted peak at the configured quantile for its
lead window, and once that window has been observed, the ratio ``realized peak / predicted peak`` joins a
rolling record. The calibration factor is the split-conformal quantile of those ratios at the same level,
``r_(ceil((n + 1) q))``: had every past prediction been multiplied by it, a share ``q`` of the windows
would have been covered. The planner multiplies the raw peak by the factor (bounded to ``[min_factor,
max_factor]``; 1 until ``min_windows`` windows are scored).

Errors are not the same at every level: a model that regresses towards the mean under-forecasts the
daily peaks, which is exactly where a deficit of one replica becomes an outage. The record is therefore
split by level (Mondrian conformal): the windows whose predicted peak was among the highest
``high_share`` of the record form their own group, and a decision whose predicted peak is that high is
calibrated on that group alone (when it holds ``min_windows``), the others on the rest.

Ratios use the raw prediction, never the calibrated one, so the factor measures the forecaster alone and
cannot feed back on itself. Everything is pure: the caller passes observations and ``now``.

>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
>>> cal = PeakCalibration(min_windows=3)
>>> for k in range(4):  # predicted 100, realized 120 every time
...     now = t0 + timedelta(minutes=k)
...     cal = cal.expect(now + timedelta(minutes=3), now + timedelta(minutes=4), 100.0)
>>> seconds = t0.timestamp() + 60.0 * np.arange(10)  # readings, one a minute
>>> cal = cal.observe(seconds, [120.0] * 10)
>>> len(cal.ratios), round(cal.factor(0.9), 3)
(4, 1.2)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from foresight.planning._quantile import linear_quantile

__all__ = ["PeakCalibration"]


@dataclasses.dataclass(frozen=True)
class PeakCalibration:
    """Rolling record of realized / predicted lead-window peaks (immutable: methods return a new one)."""

    keep: int = 2880  # scored windows kept: a day of decisions at the default 30 s reconcile
    min_windows: int = 60
    min_factor: float = 0.75
    max_factor: float = 3.0
    high_share: float = 0.2
    pending: tuple[tuple[datetime, datetime, float], ...] = ()
    ratios: tuple[float, ...] = ()
    predicted: tuple[float, ...] = ()  # the raw predicted peak of each scored window
    # ``ratios`` and ``predicted`` as arrays, kept beside the tuples they were built from: the planner reads
    # them at every decision, and converting 2 × ``keep`` floats each time was most of a decision's cost.
    _arrays: tuple[tuple[float, ...], np.ndarray, tuple[float, ...], np.ndarray] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )

    def expect(self, window_start: datetime, window_end: datetime, predicted_peak: float) -> PeakCalibration:
        """Remember a decision's raw predicted peak for ``[window_start, window_end]``."""
        if not math.isfinite(predicted_peak) or predicted_peak <= 0:
            return self
        # Pending windows are bounded too: at most one per decision over the lead time.
        pending = (*self.pending, (window_start, window_end, float(predicted_peak)))[-self.keep :]
        return dataclasses.replace(self, pending=pending)

    def observe(
        self, seconds: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray
    ) -> PeakCalibration:
        """Score every pending window that ``seconds`` (ascending Unix times of ``values``) covers to its end.

        Pass readings from the earliest pending window's start on (:attr:`observe_from`); NaN is skipped.
        A window is scored by the highest reading inside it (or, with no reading inside, at the reading
        nearest after its start); windows with no finite reading at all are dropped unscored.
        """
        if not self.pending or not len(seconds):
            return self
        stamps = np.asarray(seconds, dtype=float)
        load = np.asarray(values, dtype=float)
        last = stamps[-1]
        ratios: list[float] = []
        predicted_peaks: list[float] = []
        still: list[tuple[datetime, datetime, float]] = []
        for start, end, predicted in self.pending:
            lo, hi = start.timestamp(), end.timestamp()
            if hi > last:
                still.append((start, end, predicted))
                continue
            inside = (stamps >= lo) & (stamps <= hi)
            if not inside.any():
                after = np.flatnonzero(stamps >= lo)
                inside = np.zeros_like(inside)
                if after.size:
                    inside[after[0]] = True
            window = load[inside]
            window = window[np.isfinite(window)]
            if window.size:
                ratios.append(float(window.max()) / predicted)
                predicted_peaks.append(predicted)
        if not ratios:
            return dataclasses.replace(self, pending=tuple(still))
        old_ratios, old_predicted = self._as_arrays()
        kept_ratios = (*self.ratios, *ratios)[-self.keep :]
        kept_predicted = (*self.predicted, *predicted_peaks)[-self.keep :]
        ratio_array = np.concatenate([old_ratios, ratios])[-self.keep :]
        predicted_array = np.concatenate([old_predicted, predicted_peaks])[-self.keep :]
        return dataclasses.replace(
            self,
            pending=tuple(still),
            ratios=kept_ratios,
            predicted=kept_predicted,
            _arrays=(kept_ratios, ratio_array, kept_predicted, predicted_array),
        )

    def _as_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ratios, predicted)`` as float arrays: the kept ones when they were built from these tuples."""
        kept = self._arrays
        if kept is not None and kept[0] is self.ratios and kept[2] is self.predicted:
            return kept[1], kept[3]
        return np.asarray(self.ratios, dtype=float), np.asarray(self.predicted, dtype=float)

    def observe_grid(
        self, t0: float, step_seconds: float, values: Sequence[float] | np.ndarray
    ) -> PeakCalibration:
        """:meth:`observe` for readings on a regular grid: ``values[k]`` is at ``t0 + k * step_seconds``.

        >>> from datetime import timezone
        >>> cal = PeakCalibration().expect(
        ...     datetime.fromtimestamp(120, timezone.utc), datetime.fromtimestamp(180, timezone.utc), 2.0)
        >>> cal.observe_grid(0.0, 60.0, [1.0, 1.0, 3.0, 4.0]).ratios  # readings at 120 s and 180 s
        (2.0,)
        """
        since = self.observe_from
        if since is None:
            return self
        first = max(0, math.floor((since - t0) / step_seconds))
        if first >= len(values):
            return self
        seconds = t0 + np.arange(first, len(values)) * float(step_seconds)
        return self.observe(seconds, np.asarray(values, dtype=float)[first:])

    @property
    def observe_from(self) -> float | None:
        """Unix time of the earliest pending window's start (readings before it are not needed)."""
        return min((start.timestamp() for start, _, _ in self.pending), default=None)

    def factor(self, quantile: float, predicted_peak: float | None = None) -> float:
        """The multiplier on the raw peak that would have covered a share ``quantile`` of scored windows.

        With ``predicted_peak``, only the windows of its level group count (see the module docstring).

        >>> PeakCalibration(min_windows=2, ratios=(0.5, 0.6, 0.7, 0.8)).factor(0.5)
        0.75
        >>> PeakCalibration(min_windows=5, ratios=(2.0,) * 4).factor(0.9)  # too few windows yet
        1.0
        >>> cal = PeakCalibration(min_windows=2, high_share=0.5, ratios=(1, 1, 1.5, 1.5),
        ...                       predicted=(1, 2, 9, 9))
        >>> cal.factor(0.5, predicted_peak=9.5), cal.factor(0.5, predicted_peak=1.5)
        (1.5, 1.0)
        """
        if len(self.ratios) < self.min_windows:
            return 1.0
        ratios, levels = self._as_arrays()
        if predicted_peak is not None and levels.size == ratios.size:
            threshold = float(linear_quantile(levels, 1.0 - self.high_share))
            group = ratios[levels >= threshold] if predicted_peak >= threshold else ratios[levels < threshold]
            if group.size >= self.min_windows:
                ratios = group
        n = ratios.size
        rank = min(n, math.ceil((n + 1) * quantile)) - 1
        value = float(np.partition(ratios, rank)[rank])  # the rank-th smallest, without a full sort
        return min(max(value, self.min_factor), self.max_factor)
