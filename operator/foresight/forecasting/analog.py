"""Analog: the smoothed level now, plus what followed the most comparable moments of the past.

Persistence ("the next half hour looks like now, give or take the changes we have seen") is the
reference to beat at minute horizons, and it is hard to beat because it assumes nothing. This model
keeps its one strength, an empirical, multi-step change distribution taken from the series itself,
and fixes its two weaknesses:

* **Noise in the anchor.** Persistence starts every path from the last reading, noise included.
  Here paths start from an exponentially smoothed level ``L_t`` and add the change that followed a
  past moment *measured from that moment's smoothed level*: ``path_k = L_t + y[j+k] - L_j``. The
  reading noise is then inside the change distribution (where it belongs) instead of in the level,
  and a spike does not become the new baseline.
* **Blindness to the time of day.** A share of the past moments ``j`` is drawn at the same time of
  day on the previous days (within ``phase_seconds``), so a daily ramp that happened every morning
  is in the paths before it happens again.
* **Blindness to shorter cycles.** Many workloads repeat within the day: a batch job at the top of
  every hour, a collector every minute. The series' cycle is the lag (up to a third of the lookback)
  at which its changes correlate best with themselves, if they correlate by at least
  ``min_cycle_correlation``; a setting may draw its analogs from the moments exactly a whole number of
  cycles back, whose futures are at the same phase of the cycle as now's.

Whole past change *paths* are sampled, so the paths keep the real correlation between steps (a
ramp stays a ramp), which matters for the lead-window peak the planner sizes for.

The smoothing and the analogs' sources are chosen per series, on the series' own recent past: each
candidate setting forecasts the last ``tail_origins`` horizons from the history before them and is
scored by CRPS; samples are allotted to the settings by softmax weights of their relative CRPS gap
to the best (as :mod:`foresight.forecasting.auto` does for models). Nothing beyond the decision
time is read. The weights of a series are reused for ``rescore_horizons`` horizons of new readings,
so a steady tick rescores one series in ``rescore_horizons * horizon`` on average. Cost is numpy
only (no torch): a few small array operations per series and setting.

Method: the "analog ensemble" of Delle Monache et al. (2013, Monthly Weather Review 141(10),
"Probabilistic weather prediction with an analog ensemble"), here with the level anchored to a
smoothed value and analogs chosen by recency and time of day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.signal import lfilter

from foresight.forecasting import _metrics
from foresight.forecasting._choices import ChoiceCache, allot, gap_softmax
from foresight.forecasting._protocol import BaseForecaster
from foresight.forecasting._residuals import DAY_SECONDS
from foresight.forecasting._series import Series

__all__ = ["Analog"]

# (smoothing weight of the newest reading, share of same-time-of-day analogs). Weight 1.0 is
# plain persistence of the last reading; 0.03 a level that remembers most of the last day. The grid
# and ``similarity`` were chosen on the validation span (60-80 %) of the shared traces with
# hack/compare-analog-settings.py; the test split that docs/forecasting.md scores was never read.
MAX_CACHED = 100_000
"""Series whose settings' weights are remembered between calls."""

POOL_SIZE = 720
"""Most recent moments whose similarity is weighed: a longer lookback is thinned to every k-th moment
(the newest kept). Neighbouring moments' futures overlap almost entirely, so thinning loses little:
on the validation span 720 scored as well as every moment (hack/compare-analog-settings.py), and it
bounds the per-tick cost at fine steps (4,320 moments at one minute and 3 days). 0: every moment."""

_CHUNK = 8
"""Histories smoothed and weighed together (memory: a few arrays of chunk × settings × readings)."""

DEFAULT_SETTINGS = tuple(
    (alpha, day, cycle)
    for alpha in (1.0, 0.3, 0.1, 0.03)
    for day, cycle in ((0.0, 0.0), (0.5, 0.0), (0.0, 1.0))
)
"""(smoothing weight of the newest reading, share of analogs at the same time of day, share at the
same phase of the series' cycle); the rest are recent moments weighed by similarity."""

MIN_CYCLE_CORRELATION = 0.2
"""Least autocorrelation of a series' changes at a lag for that lag to count as its cycle. Noise's
is about ``1/sqrt(n)``: 0.015 for three days of minutes, 0.034 for three days at five minutes."""


class Analog(BaseForecaster):
    """Level-anchored empirical analogs, settings chosen per series on its own recent past."""

    name: ClassVar[str] = "analog"

    def __init__(
        self,
        lookback_seconds: int = 3 * DAY_SECONDS,
        season_days: int = 7,
        phase_seconds: int = 1_800,
        settings: tuple[tuple[float, ...], ...] | list[list[float]] = DEFAULT_SETTINGS,
        tail_origins: int = 24,
        eval_samples: int = 50,
        temperature: float = 0.1,
        similarity: float = 0.2,
        pool_size: int = POOL_SIZE,
        rescore_horizons: int = 4,
        min_cycle_correlation: float = MIN_CYCLE_CORRELATION,
    ) -> None:
        self.lookback_seconds = int(lookback_seconds)
        self.season_days = int(season_days)
        self.phase_seconds = int(phase_seconds)
        # (alpha, day share) pairs are read as settings without cycle analogs.
        self.settings = tuple(
            (float(s[0]), float(s[1]), float(s[2]) if len(s) > 2 else 0.0) for s in settings
        )
        if any(day < 0 or cycle < 0 or day + cycle > 1 for _, day, cycle in self.settings):
            raise ValueError(f"analog settings' shares must be >= 0 and add up to at most 1: {settings}")
        levels = list(self._alphas())
        self._levels = len(levels)
        self._rows = np.array([levels.index(a) for a, _, _ in self.settings], dtype=int)
        self._shares = np.array([[day for _, day, _ in self.settings], [c for _, _, c in self.settings]])
        self.tail_origins = int(tail_origins)
        self.eval_samples = int(eval_samples)
        self.temperature = float(temperature)
        self.similarity = float(similarity)
        self.pool_size = int(pool_size)
        self.rescore_horizons = int(rescore_horizons)
        self.min_cycle_correlation = float(min_cycle_correlation)
        self.last_weights: list[np.ndarray] = []
        self.last_cycles: list[int] = []
        self._cache: ChoiceCache[tuple[np.ndarray, int]] = ChoiceCache(
            MAX_CACHED, horizons=self.rescore_horizons
        )

    def config(self) -> dict[str, Any]:
        return {
            "lookback_seconds": self.lookback_seconds,
            "season_days": self.season_days,
            "phase_seconds": self.phase_seconds,
            "settings": [list(s) for s in self.settings],
            "tail_origins": self.tail_origins,
            "eval_samples": self.eval_samples,
            "temperature": self.temperature,
            "similarity": self.similarity,
            "pool_size": self.pool_size,
            "rescore_horizons": self.rescore_horizons,
            "min_cycle_correlation": self.min_cycle_correlation,
        }

    def _sample_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        out = np.empty((len(series), n_samples, horizon_steps))
        self.last_weights = [np.empty(0)] * len(series)
        self.last_cycles = [0] * len(series)
        clocks = [_day_clock_step(s) for s in series]
        filled = [
            _filled(s, self._keep_steps(step, horizon_steps)) for s, step in zip(series, clocks, strict=True)
        ]
        # Histories of one length and clock are smoothed and weighed together, a chunk at a time:
        # the same arithmetic as one series at a time, without a Python round trip per series and
        # smoothing level (the steady tick of a thousand scalers is mostly that).
        groups: dict[tuple[int, float], list[int]] = {}
        for i, (f, step) in enumerate(zip(filled, clocks, strict=True)):
            groups.setdefault((len(f), step), []).append(i)
        for (origin, step), members in groups.items():
            same_phase: dict[int, np.ndarray] = {}
            for first in range(0, len(members), _CHUNK):
                chunk = members[first : first + _CHUNK]
                block = np.stack([filled[i] for i in chunk])
                levels = np.stack([_smooth(block, alpha) for alpha in self._alphas()], axis=1)
                pools = self._pools(block, levels, origin, step, horizon_steps)
                for j, i in enumerate(chunk):
                    rng = np.random.default_rng([seed, i])
                    weights, cycle = self._cached_weights(series[i], filled[i], levels[j], horizon_steps, rng)
                    self.last_weights[i], self.last_cycles[i] = weights, cycle
                    if cycle not in same_phase:  # the chunk's series share the origin: a few cycles
                        same_phase[cycle] = _same_cycle_phase(
                            origin, horizon_steps, cycle, self._lookback_steps(pools)
                        )
                    out[i] = self._draw(
                        filled[i],
                        levels[j],
                        pools,
                        j,
                        weights,
                        same_phase[cycle],
                        horizon_steps,
                        n_samples,
                        rng,
                    )
        return out

    def _draw(
        self,
        filled: np.ndarray,
        levels: np.ndarray,
        pools: _Pools,
        index: int,
        weights: np.ndarray,
        same_phase: np.ndarray,
        horizon_steps: int,
        n_samples: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """The paths of one series (``index`` in ``pools``), its samples allotted by ``weights``;
        ``same_phase``: where analogs at now's phase of its cycle start (:func:`_same_cycle_phase`)."""
        counts = allot(weights, n_samples)
        # One draw per smoothing level: the settings that share it differ only in how many
        # of their analogs come from the same time of day or the same phase of the cycle.
        # (Array arithmetic: this runs for every series and tick.)
        day, cyc = self._split(counts)
        drawn = np.bincount(self._rows, counts, self._levels).astype(int)
        n_seasonal = np.bincount(self._rows, day, self._levels).astype(int).tolist()
        n_cyclic = np.bincount(self._rows, cyc, self._levels).astype(int).tolist()
        rows = np.flatnonzero(drawn).tolist()
        sizes = drawn[rows].tolist()
        origin = pools.origin
        if pools.recent.size == 0:  # no analog has a whole future yet: flat paths
            return np.repeat(levels[rows, origin - 1], sizes)[:, None].repeat(horizon_steps, axis=1)
        starts = [
            _starts(pools, pools.cdf(index, k), n, n_seasonal[k], rng, same_phase, n_cyclic[k])
            for k, n in zip(rows, sizes, strict=True)
        ]
        return _follow(filled, levels, np.repeat(rows, sizes), origin, np.concatenate(starts), horizon_steps)

    def _keep_steps(self, step_seconds: float, horizon_steps: int) -> int:
        days = max(self.lookback_seconds, self.season_days * DAY_SECONDS)
        tail = (self.tail_origins + 1) * horizon_steps
        return int(days // step_seconds) + tail + horizon_steps

    def _split(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How many of each setting's ``counts`` analogs come from the same time of day, and how many
        from the same phase of the cycle (the rest are recent moments)."""
        day = np.round(self._shares[0] * counts).astype(int)
        return day, np.minimum(np.round(self._shares[1] * counts).astype(int), counts - day)

    def _lookback_steps(self, pools: _Pools) -> int:
        """How far back analogs may start: the recent pool's reach."""
        return pools.origin - 1 - int(pools.recent[0]) if pools.recent.size else 0

    def _alphas(self) -> dict[float, None]:
        """The settings' smoothing weights, each once, in the order the draws have always used
        (a set's, fixed for given floats): the paths of a seed stay the same."""
        return dict.fromkeys({a for a, _, _ in self.settings})

    def _cached_weights(
        self, s: Series, filled: np.ndarray, levels: np.ndarray, horizon_steps: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, int]:
        """The settings' weights and the series' cycle (0: none), rescored once per ``rescore_horizons``
        horizons of new readings of the same series.

        Between rescoring, a tick costs only the final draws (see :class:`ChoiceCache`, which never
        serves weights scored on a later history). ``levels`` are the history smoothed at each of
        ``_alphas()``; smoothing is causal, so the level of any earlier origin is a prefix of them.
        """
        choice = self._cache.get(s, horizon_steps)
        if choice is None:
            step = _day_clock_step(s)
            cycle = 0
            if self._shares[1].any():
                cycle = _cycle(filled, int(self.lookback_seconds // step), self.min_cycle_correlation)
            choice = self._weights(filled, levels, step, horizon_steps, cycle, rng), cycle
            self._cache.put(s, horizon_steps, choice)
        return choice

    def _weights(
        self,
        filled: np.ndarray,
        levels: np.ndarray,
        step_seconds: float,
        horizon_steps: int,
        cycle: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Softmax weights of the settings by CRPS on the last ``tail_origins`` horizons.

        ``levels`` holds the smoothed series of each of ``_alphas()``, one row each, in that order.
        Settings that draw from a cycle get no weight when the series has none (``cycle`` 0).
        """
        n_settings = len(self.settings)
        origins = [len(filled) - m * horizon_steps for m in range(1, self.tail_origins + 1)]
        origins = [t for t in origins if t >= 4 * horizon_steps]
        if n_settings == 1 or not origins:
            return np.eye(n_settings)[0]
        actual = np.stack([filled[t : t + horizon_steps] for t in origins])
        at_origin = [self._pools(filled, levels, t, step_seconds, horizon_steps) for t in origins]
        same_phase = [
            _same_cycle_phase(pools.origin, horizon_steps, cycle, self._lookback_steps(pools))
            for pools in at_origin
        ]
        n_seasonal, n_cyclic = self._split(np.full(n_settings, self.eval_samples))
        scores = np.empty(n_settings)
        for c, row in enumerate(self._rows):
            if self._shares[1, c] > 0 and not cycle:
                scores[c] = np.nan
                continue
            starts = [
                _starts(pools, pools.cdf(row), self.eval_samples, n_seasonal[c], rng, phase, n_cyclic[c])
                for pools, phase in zip(at_origin, same_phase, strict=True)
            ]
            paths = _follow(
                filled,
                levels,
                row,
                np.repeat(origins, self.eval_samples),
                np.concatenate(starts),
                horizon_steps,
            )
            scores[c] = _metrics.crps(paths.reshape(len(origins), self.eval_samples, horizon_steps), actual)
        return gap_softmax(scores, self.temperature)

    def _pools(
        self,
        filled: np.ndarray,
        levels: np.ndarray,
        origin: int,
        step_seconds: float,
        horizon_steps: int,
    ) -> _Pools:
        """Where analogs of the moment ``origin`` may start: recent moments, weighted by similarity
        to the origin on each smoothing level, and the same time of day.

        ``filled`` is one history (shape ``(n,)``) or a stack of them (``(m, n)``), ``levels`` the
        history smoothed at each weight (``(k, n)`` or ``(m, k, n)``); the pools' weights have the
        shape of ``levels`` with the moments of the recent pool on the last axis.
        """
        last_start = origin - horizon_steps  # analogs whose whole future is before the origin
        if last_start < 1:
            return _Pools(origin, np.empty(0, dtype=int), None, np.empty(0, dtype=int))
        recent = max(1, min(last_start, int(self.lookback_seconds // step_seconds)))
        stride = -(-recent // self.pool_size) if self.pool_size else 1
        first = last_start - 1 - (recent - 1) // stride * stride
        pool = np.arange(first, last_start, stride)
        seasonal = _same_phase(origin, last_start, step_seconds, self.phase_seconds, self.season_days)
        if not self.similarity:
            return _Pools(origin, pool, None, seasonal)
        # The typical one-step change since the pool's start: the unit of similarity on every level.
        scale = np.std(np.diff(filled[..., pool[0] : origin], axis=-1), axis=-1) + 1e-12
        cdf = _similarity(levels[..., :origin], pool, self.similarity, scale[..., None, None])
        return _Pools(origin, pool, cdf, seasonal)


def _day_clock_step(s: Series) -> float:
    """Seconds of the workload's day per step: the step itself, unless the series' day is not 24 hours.

    Every time-of-day rule of the model (lookback, same-phase analogs, their width) is written in a
    day's seconds; a replay whose day lasts 24 minutes is read as if each of its steps were 60 times
    as long.

    >>> import pandas as pd
    >>> _day_clock_step(Series(np.zeros(3), pd.Timestamp("2024-01-01"), 60, season_seconds=1440))
    3600.0
    """
    return s.step_seconds * DAY_SECONDS / s.season_seconds


@dataclass(frozen=True)
class _Pools:
    origin: int
    recent: np.ndarray
    recent_cdf: np.ndarray | None  # cumulative sampling weights of ``recent`` (last axis); None: uniform
    seasonal: np.ndarray

    def cdf(self, *index: int) -> np.ndarray | None:
        """The recent pool's cumulative weights for one history and smoothing level."""
        return None if self.recent_cdf is None else self.recent_cdf[index]


def _starts(
    pools: _Pools,
    cdf: np.ndarray | None,
    n: int,
    n_seasonal: int,
    rng: np.random.Generator,
    same_phase: np.ndarray | None = None,
    n_cyclic: int = 0,
) -> np.ndarray:
    """Where ``n`` analogs start, ``n_seasonal`` of them at the same time of day (when the history
    holds an earlier day) and ``n_cyclic`` at the same phase of the cycle (``same_phase``, when it
    holds any); the rest from the recent pool (which must not be empty), by the cumulative weights
    ``cdf`` (one row of ``pools.recent_cdf``; None: uniformly)."""
    n_seasonal = n_seasonal if pools.seasonal.size else 0
    n_cyclic = n_cyclic if same_phase is not None and same_phase.size else 0
    n_recent = n - n_seasonal - n_cyclic
    # Indexing by ``rng.integers`` draws what ``rng.choice`` would, without its argument checks.
    if cdf is None:
        recent = pools.recent[rng.integers(0, pools.recent.size, n_recent)]
    else:  # inverse-CDF draws: Generator.choice(p=...) would re-validate the weights on every call
        recent = pools.recent[cdf.searchsorted(rng.random(n_recent) * cdf[-1], side="right")]
    if n_seasonal:
        recent = np.concatenate([pools.seasonal[rng.integers(0, pools.seasonal.size, n_seasonal)], recent])
    if n_cyclic:
        assert same_phase is not None
        recent = np.concatenate([recent, same_phase[rng.integers(0, same_phase.size, n_cyclic)]])
    return recent


def _follow(
    filled: np.ndarray,
    levels: np.ndarray,
    rows: np.ndarray | int,
    origin: np.ndarray | int,
    starts: np.ndarray,
    horizon_steps: int,
) -> np.ndarray:
    """One path per analog start: the smoothed level at its origin (on that path's row of
    ``levels``) plus the change that followed the analog, measured from the analog's smoothed level.
    ``rows`` and ``origin`` are one per path, or one for all."""
    steps = np.arange(1, horizon_steps + 1)
    now = np.reshape(levels[rows, origin - 1], (-1, 1))
    return now + filled[starts[:, None] + steps] - levels[rows, starts][:, None]


def _similarity(
    level: np.ndarray, moments: np.ndarray, bandwidth: float, scale: np.ndarray | float
) -> np.ndarray:
    """Sampling weights of the past ``moments`` (evenly spaced, ascending) by how close their level and recent
    trend are to now's (a row's last value), in units of the one-step change ``scale``; one row of
    weights for each row of ``level`` (any leading axes: histories, smoothing levels), with
    ``scale`` broadcast over them.

    Returned as running sums over those moments, which is what inverse-CDF draws read; uniform
    on a row whose every weight would underflow.

    >>> level = np.array([[0.0, 0, 0, 0, 0, 0, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0]])
    >>> cdf = _similarity(level, np.arange(6, 10), 0.5, 1.0)
    >>> np.round(np.diff(cdf[0], prepend=0.0) / cdf[0, -1], 2).tolist()   # level 9 is unlike the present 0
    [0.0, 0.0, 0.0, 1.0]
    """
    length = level.shape[-1]
    lag = min(5, length - 1)
    lo, hi = int(moments[0]), int(moments[-1]) + 1
    stride = int(moments[1] - moments[0]) if moments.size > 1 else 1
    past = level[..., lo:hi:stride]
    before = (
        level[..., np.maximum(moments - lag, 0)] if lo < lag else level[..., lo - lag : hi - lag : stride]
    )
    now = level[..., -1:]
    # -0.5 (level_gap² + trend_gap²) / bandwidth², written in place: this runs for every series,
    # smoothing level and tick over days of readings.
    level_gap = past - now
    level_gap *= 1.0 / (10 * scale)
    level_gap *= level_gap
    trend_gap = past - before
    trend_gap -= now - level[..., length - 1 - lag : length - lag]
    trend_gap *= 1.0 / (lag * scale)
    trend_gap *= trend_gap
    log_weights = level_gap
    log_weights += trend_gap
    log_weights *= -0.5 / bandwidth**2
    # In log space, so that a moment unlike any other (all weights underflowing) still has analogs.
    top = log_weights.max(axis=-1, keepdims=True)
    underflow = ~np.isfinite(top[..., 0])
    top[underflow] = 0.0
    log_weights -= top
    cdf = np.cumsum(np.exp(log_weights, out=log_weights), axis=-1, out=log_weights)
    cdf[underflow] = np.arange(1.0, moments.size + 1)
    return cdf


def _filled(series: Series, keep: int) -> np.ndarray:
    """The last ``keep`` readings from the first observed one, gaps carried forward."""
    values = series.clean()[-keep:]
    observed = np.isfinite(values)
    first = int(np.argmax(observed))
    index = np.maximum.accumulate(np.where(observed, np.arange(values.size), first))
    return values[index][first:]


def _smooth(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential smoothing ``L_t = alpha y_t + (1 - alpha) L_{t-1}``, started at the first reading
    (along the last axis).

    >>> _smooth(np.array([0.0, 10.0, 10.0]), 0.5).tolist()
    [0.0, 5.0, 7.5]
    """
    if alpha >= 1.0:
        return values
    zi = (1.0 - alpha) * values[..., :1]
    smoothed, _ = lfilter([alpha], [1.0, alpha - 1.0], values, axis=-1, zi=zi)
    return np.asarray(smoothed)


def _same_phase(
    length: int, last_start: int, step_seconds: float, phase_seconds: int, days: int
) -> np.ndarray:
    """Start indices at the time of day of ``length`` on each of the previous ``days`` days.

    >>> _same_phase(length=3 * 24, last_start=70, step_seconds=3600, phase_seconds=3600, days=7).tolist()
    [47, 48, 49, 23, 24, 25, 0, 1]
    """
    day = int(DAY_SECONDS // step_seconds)
    if day < 2:
        return np.empty(0, dtype=int)
    return _periods_back(length, last_start, day, int(phase_seconds // step_seconds), days)


def _periods_back(moment: int, last_start: int, period: int, width: int, count: int) -> np.ndarray:
    """Start indices within ``width`` steps of ``moment - d * period`` for ``d`` = 1..``count``, in
    ``[0, last_start)``: the latest period first, each period's ascending.

    >>> _periods_back(moment=30, last_start=25, period=10, width=1, count=4).tolist()
    [19, 20, 21, 9, 10, 11, 0, 1]
    """
    moments = moment - period * np.arange(1, count + 1)
    starts = (moments[:, None] + np.arange(-width, width + 1)).ravel()
    return starts[(starts >= 0) & (starts < last_start)]


def _cycle(filled: np.ndarray, lookback_steps: int, min_correlation: float) -> int:
    """The series' cycle in steps: the lag, from 2 to a third of the last ``lookback_steps`` changes,
    at which those changes correlate best with themselves; 0 when that correlation is below
    ``min_correlation`` (or the history is too short to tell).

    >>> minutes = np.arange(3 * 1440)
    >>> hourly = np.where(minutes % 60 < 5, 50.0, 10.0) + np.random.default_rng(0).normal(0, 1, minutes.size)
    >>> _cycle(hourly, 3 * 1440, 0.2), _cycle(np.random.default_rng(0).normal(0, 1, 4320), 4320, 0.2)
    (60, 0)
    """
    changes = np.diff(filled[-lookback_steps - 1 :])
    if changes.size < 16:
        return 0
    changes = changes - changes.mean()
    spectrum = np.fft.rfft(changes, 2 * changes.size)  # zero-padded: no wrap-around
    auto = np.fft.irfft(spectrum * np.conj(spectrum))[: changes.size // 3]
    if auto.size < 3 or auto[0] <= 0:
        return 0
    lag = int(np.argmax(auto[2:])) + 2
    return lag if auto[lag] >= min_correlation * auto[0] else 0


def _same_cycle_phase(origin: int, horizon_steps: int, cycle: int, lookback_steps: int) -> np.ndarray:
    """Start indices a whole number of ``cycle`` steps before the moment ``origin - 1``, whose whole
    future precedes the origin, at most ``lookback_steps`` back (ascending).

    >>> _same_cycle_phase(origin=100, horizon_steps=6, cycle=12, lookback_steps=50).tolist()
    [51, 63, 75, 87]
    """
    if cycle <= 0:
        return np.empty(0, dtype=int)
    return _periods_back(origin - 1, origin - horizon_steps, cycle, 0, lookback_steps // cycle)[::-1]
