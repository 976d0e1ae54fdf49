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

Whole past change *paths* are sampled, so the paths keep the real correlation between steps (a
ramp stays a ramp), which matters for the lead-window peak the planner sizes for.

The smoothing and the seasonal share are chosen per series, on the series' own recent past: each
candidate setting forecasts the last ``tail_origins`` horizons from the history before them and is
scored by CRPS; samples are allotted to the settings by softmax weights of their relative CRPS gap
to the best (as :mod:`foresight.forecasting.auto` does for models). Nothing beyond the decision
time is read. Cost is numpy only (no torch): a few small array operations per series and setting.

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

DEFAULT_SETTINGS = tuple((alpha, share) for alpha in (1.0, 0.3, 0.1, 0.03) for share in (0.0, 0.5))


class Analog(BaseForecaster):
    """Level-anchored empirical analogs, settings chosen per series on its own recent past."""

    name: ClassVar[str] = "analog"

    def __init__(
        self,
        lookback_seconds: int = 3 * DAY_SECONDS,
        season_days: int = 7,
        phase_seconds: int = 1_800,
        settings: tuple[tuple[float, float], ...] | list[list[float]] = DEFAULT_SETTINGS,
        tail_origins: int = 6,
        eval_samples: int = 50,
        temperature: float = 0.1,
        similarity: float = 0.2,
    ) -> None:
        self.lookback_seconds = int(lookback_seconds)
        self.season_days = int(season_days)
        self.phase_seconds = int(phase_seconds)
        self.settings = tuple((float(a), float(s)) for a, s in settings)
        self.tail_origins = int(tail_origins)
        self.eval_samples = int(eval_samples)
        self.temperature = float(temperature)
        self.similarity = float(similarity)
        self.last_weights: list[np.ndarray] = []
        self._cache: ChoiceCache[np.ndarray] = ChoiceCache(MAX_CACHED)

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
        }

    def _sample_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        out = np.empty((len(series), n_samples, horizon_steps))
        self.last_weights = []
        for i, s in enumerate(series):
            rng = np.random.default_rng([seed, i])
            step = _day_clock_step(s)
            filled = _filled(s, self._keep_steps(step, horizon_steps))
            weights = self._cached_weights(s, filled, horizon_steps, rng)
            self.last_weights.append(weights)
            counts = allot(weights, n_samples)
            # One draw per smoothing level: the settings that share it differ only in how many
            # of their analogs come from the same time of day.
            drawn, seasonal = dict.fromkeys(self._alphas(), 0), dict.fromkeys(self._alphas(), 0)
            for (alpha, share), n in zip(self.settings, counts, strict=True):
                drawn[alpha] += int(n)
                seasonal[alpha] += round(share * n)
            # Only the levels drawn from are smoothed (most series use one or two).
            used = {a: _smooth(filled, a) for a, n in drawn.items() if n > 0}
            pools = self._pools(filled, used, len(filled), step, horizon_steps)
            out[i] = np.concatenate(
                [_draw(filled, used[a], pools[a], horizon_steps, drawn[a], seasonal[a], rng) for a in used]
            )
        return out

    def _keep_steps(self, step_seconds: float, horizon_steps: int) -> int:
        days = max(self.lookback_seconds, self.season_days * DAY_SECONDS)
        tail = (self.tail_origins + 1) * horizon_steps
        return int(days // step_seconds) + tail + horizon_steps

    def _alphas(self) -> dict[float, None]:
        """The settings' smoothing weights, each once, in the order the draws have always used
        (a set's, fixed for given floats): the paths of a seed stay the same."""
        return dict.fromkeys({a for a, _ in self.settings})

    def _cached_weights(
        self, s: Series, filled: np.ndarray, horizon_steps: int, rng: np.random.Generator
    ) -> np.ndarray:
        """The settings' weights, rescored once per horizon of new readings of the same series.

        Between rescoring, a tick costs only the final draws (see :class:`ChoiceCache`, which never
        serves weights scored on a later history).
        """
        weights = self._cache.get(s, horizon_steps)
        if weights is None:
            # Smoothing is causal: the level of any earlier origin is a prefix of this one.
            levels = {alpha: _smooth(filled, alpha) for alpha in self._alphas()}
            weights = self._weights(filled, levels, _day_clock_step(s), horizon_steps, rng)
            self._cache.put(s, horizon_steps, weights)
        return weights

    def _weights(
        self,
        filled: np.ndarray,
        levels: dict[float, np.ndarray],
        step_seconds: float,
        horizon_steps: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Softmax weights of the settings by CRPS on the last ``tail_origins`` horizons."""
        n_settings = len(self.settings)
        origins = [len(filled) - m * horizon_steps for m in range(1, self.tail_origins + 1)]
        origins = [t for t in origins if t >= 4 * horizon_steps]
        if n_settings == 1 or not origins:
            return np.eye(n_settings)[0]
        actual = np.stack([filled[t : t + horizon_steps] for t in origins])
        at_origin = {t: self._pools(filled, levels, t, step_seconds, horizon_steps) for t in origins}
        pools = {(a, t): at_origin[t][a] for a in levels for t in origins}
        scores = np.empty(n_settings)
        for c, (alpha, share) in enumerate(self.settings):
            n_seasonal = round(share * self.eval_samples)
            paths = np.stack(
                [
                    _draw(
                        filled,
                        levels[alpha],
                        pools[alpha, t],
                        horizon_steps,
                        self.eval_samples,
                        n_seasonal,
                        rng,
                    )
                    for t in origins
                ]
            )
            scores[c] = _metrics.crps(paths, actual)
        return gap_softmax(scores, self.temperature)

    def _pools(
        self,
        filled: np.ndarray,
        levels: dict[float, np.ndarray],
        origin: int,
        step_seconds: float,
        horizon_steps: int,
    ) -> dict[float, _Pools]:
        """Where analogs of the moment ``origin`` may start, for each smoothing level: recent moments
        (weighted by similarity to the origin on that level) and the same time of day."""
        last_start = origin - horizon_steps  # analogs whose whole future is before the origin
        if last_start < 1:
            empty = _Pools(origin, np.empty(0, dtype=int), None, np.empty(0, dtype=int))
            return dict.fromkeys(levels, empty)
        recent = max(1, min(last_start, int(self.lookback_seconds // step_seconds)))
        pool = np.arange(last_start - recent, last_start)
        seasonal = _same_phase(origin, last_start, step_seconds, self.phase_seconds, self.season_days)
        if not self.similarity:
            return dict.fromkeys(levels, _Pools(origin, pool, None, seasonal))
        # The typical one-step change since the pool's start: the unit of similarity on every level.
        scale = float(np.std(np.diff(filled[pool[0] : origin]))) + 1e-12
        lo, width = int(pool[0]), self.similarity
        return {
            a: _Pools(origin, pool, _similarity(level[:origin], lo, last_start, width, scale), seasonal)
            for a, level in levels.items()
        }


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
    recent_cdf: np.ndarray | None  # cumulative sampling weights of ``recent``; None: uniform
    seasonal: np.ndarray


def _draw(
    filled: np.ndarray,
    smoothed: np.ndarray,
    pools: _Pools,
    horizon_steps: int,
    n: int,
    n_seasonal: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``n`` paths from the origin: its smoothed level plus the changes that followed analogs,
    ``n_seasonal`` of them at the same time of day (when the history holds an earlier day)."""
    level_now = smoothed[pools.origin - 1]
    if pools.recent.size == 0:
        return np.full((n, horizon_steps), level_now)
    n_seasonal = n_seasonal if pools.seasonal.size else 0
    n_recent = n - n_seasonal
    if pools.recent_cdf is None:
        recent = rng.choice(pools.recent, n_recent)
    else:  # inverse-CDF draws: Generator.choice(p=...) would re-validate the weights on every call
        cdf = pools.recent_cdf
        recent = pools.recent[np.searchsorted(cdf, rng.random(n_recent) * cdf[-1], side="right")]
    starts = np.concatenate(
        [rng.choice(pools.seasonal, n_seasonal) if n_seasonal else np.empty(0, dtype=int), recent]
    )
    steps = np.arange(1, horizon_steps + 1)
    return level_now + filled[starts[:, None] + steps[None, :]] - smoothed[starts][:, None]


def _similarity(level: np.ndarray, lo: int, hi: int, bandwidth: float, scale: float) -> np.ndarray:
    """Sampling weights of the past moments ``lo .. hi - 1`` by how close their level and recent
    trend are to now's (``level[-1]``), in units of the one-step change ``scale``.

    Returned as a running sum over those moments, which is what inverse-CDF draws read; uniform
    when every weight would underflow.

    >>> cdf = _similarity(np.array([0.0, 0, 0, 0, 0, 0, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0]), 6, 10, 0.5, 1.0)
    >>> np.round(np.diff(cdf, prepend=0.0) / cdf[-1], 2).tolist()   # level 9 is unlike the present 0
    [0.0, 0.0, 0.0, 1.0]
    """
    lag = min(5, len(level) - 1)
    past = level[lo:hi]
    before = level[np.maximum(np.arange(lo, hi) - lag, 0)] if lo < lag else level[lo - lag : hi - lag]
    # -0.5 (level_gap² + trend_gap²) / bandwidth², written in place: this runs for every series,
    # smoothing level and tick over days of readings.
    level_gap = past - level[-1]
    level_gap *= 1.0 / (10 * scale)
    level_gap *= level_gap
    trend_gap = past - before
    trend_gap -= level[-1] - level[-1 - lag]
    trend_gap *= 1.0 / (lag * scale)
    trend_gap *= trend_gap
    log_weights = level_gap
    log_weights += trend_gap
    log_weights *= -0.5 / bandwidth**2
    # In log space, so that a moment unlike any other (all weights underflowing) still has analogs.
    top = log_weights.max()
    if not np.isfinite(top):
        return np.arange(1.0, hi - lo + 1)
    log_weights -= top
    return np.cumsum(np.exp(log_weights, out=log_weights), out=log_weights)


def _filled(series: Series, keep: int) -> np.ndarray:
    """The last ``keep`` readings from the first observed one, gaps carried forward."""
    values = series.clean()[-keep:]
    observed = np.isfinite(values)
    first = int(np.argmax(observed))
    index = np.maximum.accumulate(np.where(observed, np.arange(values.size), first))
    return values[index][first:]


def _smooth(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential smoothing ``L_t = alpha y_t + (1 - alpha) L_{t-1}``, started at the first reading.

    >>> _smooth(np.array([0.0, 10.0, 10.0]), 0.5).tolist()
    [0.0, 5.0, 7.5]
    """
    if alpha >= 1.0:
        return values
    smoothed, _ = lfilter([alpha], [1.0, alpha - 1.0], values, zi=[(1.0 - alpha) * values[0]])
    return np.asarray(smoothed)


def _same_phase(
    length: int, last_start: int, step_seconds: float, phase_seconds: int, days: int
) -> np.ndarray:
    """Start indices at the time of day of ``length`` on each of the previous ``days`` days.

    >>> _same_phase(length=3 * 24, last_start=70, step_seconds=3600, phase_seconds=3600, days=7).tolist()
    [47, 48, 49, 23, 24, 25, 0, 1]
    """
    day = int(DAY_SECONDS // step_seconds)
    width = int(phase_seconds // step_seconds)
    if day < 2:
        return np.empty(0, dtype=int)
    found = [
        np.arange(max(0, length - d * day - width), min(last_start, length - d * day + width + 1))
        for d in range(1, days + 1)
    ]
    return np.concatenate(found) if found else np.empty(0, dtype=int)
