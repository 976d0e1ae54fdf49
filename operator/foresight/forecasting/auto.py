"""Auto: per series, trust the models that forecast that series best in its own recent past.

For every history in the batch, the candidates forecast the last ``backtest_origins`` stretches
of one horizon each from the history before them (rolling origins on the tail of what was
given, so nothing beyond the decision time is used), and are scored by CRPS.
``mode="blend"`` (default) mixes the candidates' sample paths with softmax weights of the
relative CRPS gap to the best one (``blend_temperature``: at 0.1, a model 10 % worse keeps
e^-1 of the best one's weight, 30 % worse e^-3); ``mode="pick"`` takes the best alone.
Blending measured better than picking on every shared trace (a mixture hedges between a
model that tracks the level and one that knows the season) with 90 % coverage in 85-95 %.
Cost is bounded: ``len(candidates) * backtest_origins`` extra batched calls with
``eval_samples`` paths each, whatever the batch size. Histories too short to hold out
``backtest_origins`` horizons plus a context go to the first candidate.

With ``calibrate=True`` the same tail backtest also widens intervals that were too narrow
there, split-conformal style: per series and candidate, the factor by which the 5-95 % band
around the median had to grow for 90 % of the held-out points to fall inside it, clipped to
``[1, max_widen]``; paths are stretched around their per-step median by it. Intervals are
only ever widened, never narrowed. Off by default: with blending, coverage was already in
range and widening pushed it above 95 %; useful with ``mode="pick"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from foresight.forecasting import _metrics, _registry
from foresight.forecasting._choices import ChoiceCache, allot, gap_softmax
from foresight.forecasting._protocol import BaseForecaster, Forecast
from foresight.forecasting._series import Series

__all__ = ["Auto"]

# The first candidate also serves histories too short to score: analog needs no weights and no torch.
DEFAULT_CANDIDATES = ("analog", "deepar", "seasonal-naive", "holt-winters", "fft")
# Series whose tails are backtested together (bounds the memory of a cold start).
_SCORE_CHUNK = 256


class Auto(BaseForecaster):
    """Per-series model choice by recent out-of-sample CRPS.

    >>> import numpy as np, pandas as pd
    >>> s = Series(10 + np.sin(np.arange(500) / 5), pd.Timestamp("2024-01-01", tz="UTC"), 60)
    >>> auto = Auto(candidates=["seasonal-naive", "holt-winters"])
    >>> paths, models = auto.forecast([s], 5, 20)   # models: per series, the largest weight
    >>> paths.shape, models
    ((1, 20, 5), ['seasonal-naive'])
    """

    name: ClassVar[str] = "auto"

    def __init__(
        self,
        candidates: Sequence[str] = DEFAULT_CANDIDATES,
        backtest_origins: int = 3,
        eval_samples: int = 50,
        mode: str = "blend",
        min_context_steps: int = 24,
        calibrate: bool = False,
        max_widen: float = 3.0,
        blend_temperature: float = 0.1,
        models: dict[str, BaseForecaster] | None = None,
        rescore_every: int | None = None,
        max_cached: int = 100_000,
    ) -> None:
        if mode not in ("pick", "blend"):
            raise ValueError("mode must be 'pick' or 'blend'")
        # The default list skips models whose optional dependencies are not installed (deepar without
        # foresight[deepar]); a list given explicitly is taken as it is, and fails loudly if it can't load.
        self.candidates = [
            c for c in candidates if candidates is not DEFAULT_CANDIDATES or _registry.available(c)
        ]
        self.backtest_origins = backtest_origins
        self.eval_samples = eval_samples
        self.mode = mode
        self.min_context_steps = min_context_steps
        self.calibrate = calibrate
        self.max_widen = max_widen
        self.blend_temperature = blend_temperature
        # Instances may be injected (tests, custom-trained models); otherwise from the registry.
        self._models = dict(models or {})
        # None: one horizon; 0: score on every call (no reuse).
        self.rescore_every = rescore_every
        self.max_cached = max_cached
        self._choices: ChoiceCache[tuple[np.ndarray, np.ndarray]] = ChoiceCache(max_cached, rescore_every)
        self.rescored = 0  # series scored by the last call (the rest reused a choice)

    def config(self) -> dict[str, Any]:
        return {
            "candidates": self.candidates,
            "backtest_origins": self.backtest_origins,
            "eval_samples": self.eval_samples,
            "mode": self.mode,
            "min_context_steps": self.min_context_steps,
            "calibrate": self.calibrate,
            "max_widen": self.max_widen,
            "blend_temperature": self.blend_temperature,
            "rescore_every": self.rescore_every,
            "max_cached": self.max_cached,
        }

    def model(self, name: str) -> BaseForecaster:
        if name not in self._models:
            self._models[name] = _registry.get(name)
        return self._models[name]

    def fit(self, series: Sequence[Series]) -> Auto:
        """No-op: the choice is made per call from each history's own tail."""
        return self

    def tail_scores(
        self, series: list[Series], horizon_steps: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """CRPS and widening factors ``[len(series), len(candidates)]`` on the histories' tails.

        CRPS is NaN where a history is too short to score; factors are 1 there.
        """
        k = self.backtest_origins
        scorable = [i for i, s in enumerate(series) if len(s) >= k * horizon_steps + self.min_context_steps]
        out = np.full((len(series), len(self.candidates)), np.nan)
        widen = np.ones((len(series), len(self.candidates)))
        if not scorable:
            return out, widen
        cuts = [(i, len(series[i]) - j * horizon_steps) for i in scorable for j in range(1, k + 1)]
        histories = [series[i].head(t) for i, t in cuts]
        actual = np.stack([series[i].clean()[t : t + horizon_steps] for i, t in cuts])
        owner = np.array([i for i, _ in cuts])
        for c, name in enumerate(self.candidates):
            paths = self.model(name).sample(histories, horizon_steps, self.eval_samples, seed)
            points = _metrics.crps_points(paths, actual)
            need = _needed_widening(paths, actual)
            for i in scorable:
                rows = owner == i
                ok = np.isfinite(points[rows]) & np.isfinite(actual[rows])
                denom = np.abs(actual[rows][ok]).sum()
                out[i, c] = points[rows][ok].sum() / denom if denom > 0 else np.nan
                factors = need[rows][np.isfinite(need[rows])]
                if factors.size:
                    widen[i, c] = float(np.clip(np.quantile(factors, 0.9), 1.0, self.max_widen))
        return out, widen

    def _weights(self, scores: np.ndarray) -> np.ndarray:
        """Blend (or pick) weights ``[batch, n_candidates]`` from tail CRPS."""
        weights = np.zeros_like(scores)
        for i, row in enumerate(scores):
            if self.mode == "pick" and np.isfinite(row).any():
                weights[i, int(np.nanargmin(row))] = 1.0
            else:
                weights[i] = gap_softmax(row, self.blend_temperature)
        return weights

    def _choose(self, series: list[Series], horizon_steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Weights and widening per series: remembered choices where still valid, else scored now."""
        n_models = len(self.candidates)
        weights = np.zeros((len(series), n_models))
        widen = np.ones((len(series), n_models))
        stale = []
        for i, s in enumerate(series):
            choice = self._choices.get(s, horizon_steps)
            if choice is None:
                stale.append(i)
            else:
                weights[i], widen[i] = choice
        self.rescored = len(stale)
        if not stale:
            return weights, widen
        # In bounded chunks: a cold start (every series at once) must not hold every backtest.
        for lo in range(0, len(stale), _SCORE_CHUNK):
            rows = stale[lo : lo + _SCORE_CHUNK]
            scores, fresh_widen = self.tail_scores([series[i] for i in rows], horizon_steps, seed)
            weights[rows] = self._weights(scores)
            widen[rows] = fresh_widen
        for i in stale:
            self._choices.put(series[i], horizon_steps, (weights[i].copy(), widen[i].copy()))
        return weights, widen

    def _forecast_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> Forecast:
        """Each series' paths blended (or picked) from the candidates; named by its largest weight."""
        weights, widen = self._choose(series, horizon_steps, seed)
        chosen = [self.candidates[int(np.argmax(w))] for w in weights]
        # Whole samples per model, adding up to n_samples.
        counts = np.stack([allot(w, n_samples) for w in weights]) if len(series) else weights.astype(int)
        out = np.empty((len(series), n_samples, horizon_steps))
        filled = np.zeros(len(series), dtype=int)
        for c, name in enumerate(self.candidates):
            members = np.flatnonzero(counts[:, c] > 0)
            if members.size == 0:
                continue
            need = int(counts[members, c].max())
            paths = self.model(name).sample([series[i] for i in members], horizon_steps, need, seed)
            if self.calibrate:
                median = np.median(paths, axis=1, keepdims=True)
                paths = median + widen[members, c][:, None, None] * (paths - median)
            for row, j in enumerate(members):
                n = int(counts[j, c])
                out[j, filled[j] : filled[j] + n] = paths[row, :n]
                filled[j] += n
        return Forecast(out, chosen)


def _needed_widening(paths: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Per point, how much the 5-95 % band around the median must stretch to contain the actual."""
    q05, q50, q95 = np.quantile(paths, [0.05, 0.5, 0.95], axis=1)
    above = actual >= q50
    half = np.where(above, q95 - q50, q50 - q05)
    gap = np.abs(actual - q50)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(half > 0, gap / half, np.where(gap > 0, np.inf, 1.0))
