"""The one input type every forecaster takes, and how raw readings are cleaned.

A :class:`Series` is a regular grid (``start`` + ``step_seconds``) of readings where
``NaN`` marks a gap. Cleaning rules are explicit and shared by all models, so that
no model silently invents a policy of its own:

* ``+/-Inf`` is a broken reading and becomes a gap (``NaN``).
* For a non-negative series (the default: load, CPU, request rates), a negative reading is
  a glitch (for example a ``rate()`` over a counter reset the caller missed) and becomes a
  gap too, and forecasts are clipped at zero. Pass ``nonnegative=False`` for signed series.
* Gaps are imputed only *inside* models, by linear interpolation between the neighbouring
  readings (as Crane's DSP predictor does) and carried forward at the end; the mask of real
  observations travels with them so that scores and scales only use real readings.
* A series with no observed reading at all has no forecast: its sample paths are ``NaN``
  (never zeros, which a planner would read as "no load").
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

__all__ = ["SPIKE_FACTOR", "Series", "clean_values", "despike", "interpolate_gaps"]

SPIKE_FACTOR = 10.0
"""A reading this many times the window's mean absolute value away from its neighbours is a spike."""


@dataclasses.dataclass(frozen=True, eq=False)
class Series:
    """A regularly sampled history that ends at the decision time.

    >>> import numpy as np, pandas as pd
    >>> s = Series(np.array([1.0, np.nan, 3.0, -1.0, np.inf]), pd.Timestamp("2024-01-01", tz="UTC"), 60)
    >>> s.clean().tolist()
    [1.0, nan, 3.0, nan, nan]
    >>> s.observed_count, s.end
    (2, Timestamp('2024-01-01 00:05:00+0000', tz='UTC'))
    """

    values: np.ndarray
    start: pd.Timestamp
    step_seconds: int
    item_id: str = ""
    nonnegative: bool = True
    season_seconds: int = 86_400
    """The workload's daily cycle on this series' clock: a day, unless the load is a replay sped up."""

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=float).reshape(-1)
        object.__setattr__(self, "values", values)
        start = pd.Timestamp(self.start)
        # Naive timestamps are taken as UTC: the whole code base speaks UTC.
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        object.__setattr__(self, "start", start)
        if int(self.step_seconds) <= 0:
            raise ValueError(f"step_seconds must be positive, got {self.step_seconds}")
        object.__setattr__(self, "step_seconds", int(self.step_seconds))
        if int(self.season_seconds) <= 0:
            raise ValueError(f"season_seconds must be positive, got {self.season_seconds}")
        object.__setattr__(self, "season_seconds", int(self.season_seconds))

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def end(self) -> pd.Timestamp:
        """Timestamp of the first step *after* the history (the first forecast step)."""
        return self.start + pd.Timedelta(seconds=self.step_seconds * len(self))

    @property
    def start_seconds(self) -> int:
        """Unix seconds of ``start`` (whole seconds), without pandas arithmetic."""
        return int(self.start.value // 1_000_000_000)

    @property
    def end_seconds(self) -> int:
        """Unix seconds of :attr:`end`, without pandas arithmetic (a cache lookup reads it per tick)."""
        return self.start_seconds + self.step_seconds * len(self)

    def clean(self) -> np.ndarray:
        """Values with broken readings turned into gaps (see the module docstring)."""
        return clean_values(self.values, self.nonnegative)

    @property
    def observed_count(self) -> int:
        """Readings that :meth:`clean` keeps (counted without its copy: every forecast asks)."""
        return int(np.count_nonzero(_kept(self.values, self.nonnegative)))

    def timestamps(self, offset_steps: int = 0, length: int | None = None) -> np.ndarray:
        """Unix seconds of steps ``offset_steps .. offset_steps + length`` (relative to ``start``)."""
        n = len(self) if length is None else length
        return self.start_seconds + (offset_steps + np.arange(n, dtype=np.int64)) * self.step_seconds

    def head(self, length: int) -> Series:
        """The first ``length`` steps: a history ending earlier (used by backtests)."""
        return dataclasses.replace(self, values=self.values[:length])

    def tail(self, length: int) -> Series:
        """The last ``length`` steps, with ``start`` moved so timestamps stay right."""
        length = min(length, len(self))
        skip = len(self) - length
        return dataclasses.replace(
            self,
            values=self.values[skip:],
            start=self.start + pd.Timedelta(seconds=skip * self.step_seconds),
        )


def clean_values(values: np.ndarray, nonnegative: bool = True) -> np.ndarray:
    """Copy of ``values`` with Inf (and negatives, for non-negative series) made NaN."""
    out = np.array(values, dtype=float, copy=True)
    out[~_kept(out, nonnegative)] = np.nan
    return out


def _kept(values: np.ndarray, nonnegative: bool) -> np.ndarray:
    """Which readings are real: finite, and not negative in a non-negative series."""
    kept = np.isfinite(values)
    if nonnegative:
        kept &= values >= 0
    return kept


def interpolate_gaps(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation inside gaps, carry first/last reading outwards.

    Returns ``(filled, observed)``; an all-NaN input gives zeros and an all-False mask.

    >>> filled, observed = interpolate_gaps(np.array([np.nan, 1.0, np.nan, 3.0, np.nan]))
    >>> filled.tolist(), observed.tolist()
    ([1.0, 1.0, 2.0, 3.0, 3.0], [False, True, False, True, False])
    """
    observed = np.isfinite(values)
    if observed.all():
        return values.astype(float, copy=True), observed
    if not observed.any():
        return np.zeros_like(values, dtype=float), observed
    idx = np.arange(values.shape[0])
    filled = np.interp(idx, idx[observed], values[observed])
    return filled, observed


def despike(y: np.ndarray) -> np.ndarray:
    """``y`` with one-off spikes (single interior readings far from both neighbours) smoothed over.

    >>> y = np.full(40, 5.0); y[[10, 39]] = 5000.0
    >>> despike(y)[[9, 10, 39]].tolist()                   # the last reading stays
    [5.0, 5.0, 5000.0]
    >>> y[11] = 5000.0                                     # two readings are a burst: it stays
    >>> despike(y)[10:12].tolist()
    [5000.0, 5000.0]
    """
    if y.shape[0] < 3:
        return y
    threshold = SPIKE_FACTOR * float(np.mean(np.abs(y)))
    left, middle, right = y[:-2], y[1:-1], y[2:]
    spike = (np.abs(middle - left) > threshold) & (np.abs(middle - right) > threshold)
    if not spike.any():
        return y
    out = y.copy()
    out[1:-1][spike] = 0.5 * (left[spike] + right[spike])
    return out
