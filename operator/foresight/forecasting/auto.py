"""Auto: per series, use the model that forecast that series best in its own recent past.

For every history in the batch, the candidates forecast the last ``backtest_origins`` stretches
of one horizon each from the history before them (rolling origins on the tail of what was
given, so nothing beyond the decision time is used), and are scored by CRPS. ``mode="pick"``
takes the best candidate per series; ``mode="blend"`` mixes candidates' sample paths with
weights proportional to ``1 / CRPS^2``. Cost is bounded: ``len(candidates) * backtest_origins``
extra batched calls with ``eval_samples`` paths each, whatever the batch size. Histories too
short to hold out ``backtest_origins`` horizons plus a context go to the first candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from foresight.forecasting import _metrics
from foresight.forecasting._protocol import BaseForecaster
from foresight.forecasting._series import Series

__all__ = ["Auto"]

DEFAULT_CANDIDATES = ("deepar", "seasonal-naive", "holt-winters", "fft")


class Auto(BaseForecaster):
    """Per-series model choice by recent out-of-sample CRPS.

    >>> import numpy as np, pandas as pd
    >>> s = Series(10 + np.sin(np.arange(500) / 5), pd.Timestamp("2024-01-01", tz="UTC"), 60)
    >>> auto = Auto(candidates=["seasonal-naive", "holt-winters"])
    >>> auto.sample([s], 5, 20).shape, auto.last_choice
    ((1, 20, 5), ['holt-winters'])
    """

    name: ClassVar[str] = "auto"

    def __init__(
        self,
        candidates: Sequence[str] = DEFAULT_CANDIDATES,
        backtest_origins: int = 3,
        eval_samples: int = 50,
        mode: str = "pick",
        min_context_steps: int = 24,
        models: dict[str, BaseForecaster] | None = None,
    ) -> None:
        if mode not in ("pick", "blend"):
            raise ValueError("mode must be 'pick' or 'blend'")
        self.candidates = list(candidates)
        self.backtest_origins = backtest_origins
        self.eval_samples = eval_samples
        self.mode = mode
        self.min_context_steps = min_context_steps
        # Instances may be injected (tests, custom-trained models); otherwise from the registry.
        self._models = dict(models or {})
        self.last_choice: list[str] = []

    def config(self) -> dict[str, Any]:
        return {
            "candidates": self.candidates,
            "backtest_origins": self.backtest_origins,
            "eval_samples": self.eval_samples,
            "mode": self.mode,
            "min_context_steps": self.min_context_steps,
        }

    def model(self, name: str) -> BaseForecaster:
        if name not in self._models:
            from foresight.forecasting._registry import get

            self._models[name] = get(name)
        return self._models[name]

    def fit(self, series: Sequence[Series]) -> Auto:
        """No-op: the choice is made per call from each history's own tail."""
        return self

    def tail_crps(self, series: list[Series], horizon_steps: int, seed: int) -> np.ndarray:
        """``[len(series), len(candidates)]`` CRPS on the histories' tails (NaN: not scorable)."""
        k = self.backtest_origins
        scorable = [i for i, s in enumerate(series) if len(s) >= k * horizon_steps + self.min_context_steps]
        out = np.full((len(series), len(self.candidates)), np.nan)
        if not scorable:
            return out
        cuts = [(i, len(series[i]) - j * horizon_steps) for i in scorable for j in range(1, k + 1)]
        histories = [series[i].head(t) for i, t in cuts]
        actual = np.stack([series[i].clean()[t : t + horizon_steps] for i, t in cuts])
        owner = np.array([i for i, _ in cuts])
        for c, name in enumerate(self.candidates):
            paths = self.model(name).sample(histories, horizon_steps, self.eval_samples, seed)
            points = _metrics.crps_points(paths, actual)
            for i in scorable:
                rows = owner == i
                ok = np.isfinite(points[rows]) & np.isfinite(actual[rows])
                denom = np.abs(actual[rows][ok]).sum()
                out[i, c] = points[rows][ok].sum() / denom if denom > 0 else np.nan
        return out

    def _sample_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        scores = self.tail_crps(series, horizon_steps, seed)
        n_models = len(self.candidates)
        weights = np.zeros((len(series), n_models))
        for i, row in enumerate(scores):
            finite = np.isfinite(row)
            if not finite.any():
                weights[i, 0] = 1.0
            elif self.mode == "pick":
                weights[i, int(np.nanargmin(row))] = 1.0
            else:
                inv = np.where(finite, 1.0 / np.maximum(row, 1e-9) ** 2, 0.0)
                weights[i] = inv / inv.sum()
        self.last_choice = [self.candidates[int(np.argmax(w))] for w in weights]
        # Whole samples per model: counts by largest remainder so they add up to n_samples.
        counts = np.floor(weights * n_samples).astype(int)
        for i in range(len(series)):
            short = n_samples - counts[i].sum()
            order = np.argsort(-(weights[i] * n_samples - counts[i]))
            counts[i, order[:short]] += 1
        out = np.empty((len(series), n_samples, horizon_steps))
        filled = np.zeros(len(series), dtype=int)
        for c, name in enumerate(self.candidates):
            members = np.flatnonzero(counts[:, c] > 0)
            if members.size == 0:
                continue
            need = int(counts[members, c].max())
            paths = self.model(name).sample([series[i] for i in members], horizon_steps, need, seed)
            for row, i in enumerate(members):
                n = counts[i, c]
                out[i, filled[i] : filled[i] + n] = paths[row, :n]
                filled[i] += n
        return out
