"""The forecaster protocol and the base class that gives every model the same edges.

A forecaster has three verbs: ``fit`` (optional), ``sample`` (batched sample paths) and
``save``. :class:`BaseForecaster` implements ``sample`` once for all models: it validates
the batch, applies the shared rules for empty and very short histories, and clips
non-negative series at zero. Models only write ``_sample_batch`` for the histories that are
long enough, which keeps the edge cases identical across models (and testable once).
``forecast`` is ``sample`` that also says which model made each series' paths (``auto``
chooses per series; it writes ``_forecast_batch`` instead).
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

import numpy as np

from foresight.forecasting._series import Series

__all__ = [
    "BaseForecaster",
    "Forecast",
    "Forecaster",
    "NonFiniteForecastError",
    "nonfinite_items",
    "quantiles",
    "short_history_paths",
]

# Below this many observed readings a model has nothing to fit; see short_history_paths().
MIN_OBSERVED = 3


class NonFiniteForecastError(RuntimeError):
    """A model produced NaN or Inf paths for a history that has readings (a bug, never an answer)."""


class Forecast(NamedTuple):
    """Sample paths ``[len(series), n_samples, horizon_steps]`` and, per series, the model that made them."""

    paths: np.ndarray
    models: list[str]


@runtime_checkable
class Forecaster(Protocol):
    """What the planner and the simulator code against."""

    name: str

    def fit(self, series: Sequence[Series]) -> Forecaster: ...

    def sample(
        self, series: Sequence[Series], horizon_steps: int, n_samples: int = 100, seed: int = 0
    ) -> np.ndarray: ...

    def forecast(
        self, series: Sequence[Series], horizon_steps: int, n_samples: int = 100, seed: int = 0
    ) -> Forecast: ...

    def save(self, path: str | pathlib.Path) -> None: ...


class BaseForecaster:
    """Shared validation, edge cases and artifact layout (``forecaster.json`` + model files)."""

    name: ClassVar[str] = ""
    # Models that need more than a handful of points raise this; shorter histories get the
    # documented short-history paths instead of a crash.
    min_observed: ClassVar[int] = MIN_OBSERVED

    def fit(self, series: Sequence[Series]) -> BaseForecaster:
        """Stateless by default: every statistical baseline is fitted per call on the history."""
        return self

    def sample(
        self, series: Sequence[Series], horizon_steps: int, n_samples: int = 100, seed: int = 0
    ) -> np.ndarray:
        """Sample paths ``[len(series), n_samples, horizon_steps]`` continuing each history.

        The same ``seed`` and inputs always give the same paths. Every model answers bad input
        the same way (``tests/unit/forecasting/test_bad_input.py`` checks each rule per model):

        * **No observed reading** (empty, all gaps, all Inf, or only negative readings in a
          non-negative series): all-``NaN`` paths, the one documented "no forecast", which
          the planners treat as such. Never zeros, which would read as "no load".
        * **One or two readings** (fewer than ``min_observed``): :func:`short_history_paths`,
          persistence with a spread that grows with time. Three readings go to the model.
        * **Gaps inside the history**: linear interpolation between the neighbouring readings
          (see :mod:`foresight.forecasting._series`).
        * **Gaps at the end** (no reading up to the decision time): the last reading is carried
          forward, and the forecast still starts one step after ``series.end``.
        * **A constant series**: forecasts that constant (the statistical models with no
          spread, up to rounding: they have no error to bootstrap).
        * **Negative readings**: in a non-negative series (the default) they are glitches and
          become gaps, and every path is clipped at zero; a signed series
          (``nonnegative=False``) keeps them and may be forecast below zero.
        * **A spike** (say 1000x the median): kept, never clipped, because a burst is what the
          planner exists for. In the middle of a history it may widen the spread (through the
          residuals) but does not move the median forecast; as the last reading it is the
          level that persistence-like models continue.
        * **A history longer than a model's context** (60 days at one minute): only the
          recent part a model needs is read (DeepAR: its context and a week of seasonal
          inputs; Holt-Winters: ``max_fit_steps``; FFT: ``max_cycles``), so cost stays bounded.
        * **Invalid arguments** (``horizon_steps`` or ``n_samples`` below one): ``ValueError``.

        Anything else is a bug in a model: a path that is not finite for a series with readings
        raises :class:`NonFiniteForecastError` instead of reaching the planner (the operator's
        batcher then uses its fallback model).
        """
        return self.forecast(series, horizon_steps, n_samples, seed).paths

    def forecast(
        self, series: Sequence[Series], horizon_steps: int, n_samples: int = 100, seed: int = 0
    ) -> Forecast:
        """:meth:`sample`, and per series the model that made its paths: this one, unless the model
        chooses per series (``auto`` names the candidate it weighted most).

        >>> import pandas as pd
        >>> s = Series(np.full(60, 5.0), pd.Timestamp("2024-01-01", tz="UTC"), 60)
        >>> from foresight.forecasting.naive import Naive
        >>> paths, models = Naive().forecast([s], horizon_steps=3, n_samples=2)
        >>> paths.shape, models
        ((1, 2, 3), ['naive'])
        """
        if horizon_steps < 1 or n_samples < 1:
            raise ValueError("horizon_steps and n_samples must be >= 1")
        batch = list(series)
        out = np.full((len(batch), n_samples, horizon_steps), np.nan)
        models = [self.name] * len(batch)
        counts = np.array([s.observed_count for s in batch], dtype=int)
        rng = np.random.default_rng(seed)
        short = np.flatnonzero((counts > 0) & (counts < self.min_observed))
        for k in short:
            out[k] = short_history_paths(batch[k], horizon_steps, n_samples, rng)
        full = np.flatnonzero(counts >= self.min_observed)
        if full.size:
            out[full], chosen = self._forecast_batch([batch[k] for k in full], horizon_steps, n_samples, seed)
            for k, model in zip(full, chosen, strict=True):
                models[k] = model
        broken = nonfinite_items(out, batch)
        if broken:
            raise NonFiniteForecastError(
                f"{self.name or type(self).__name__} returned non-finite paths for {len(broken)} series "
                f"with readings: {', '.join(broken[:5])}"
            )
        nonnegative = np.array([s.nonnegative for s in batch], dtype=bool)
        if nonnegative.all():
            np.maximum(out, 0.0, out=out)
        else:
            out[nonnegative] = np.maximum(out[nonnegative], 0.0)
        return Forecast(out, models)

    def _forecast_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> Forecast:
        """Paths for histories long enough to model, and the model that made each (this one)."""
        return Forecast(self._sample_batch(series, horizon_steps, n_samples, seed), [self.name] * len(series))

    def _sample_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        raise NotImplementedError

    # -- artifacts -----------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """JSON-serializable constructor arguments (what ``save`` writes)."""
        return {}

    def save(self, path: str | pathlib.Path) -> None:
        """Write ``forecaster.json`` (name + config) and any model files into directory ``path``."""
        directory = pathlib.Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"name": self.name, "config": self.config()}
        (directory / "forecaster.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        self._save_files(directory)

    def _save_files(self, directory: pathlib.Path) -> None:
        """Models with weights write them here."""

    @classmethod
    def from_artifact(cls, directory: pathlib.Path, config: dict[str, Any]) -> BaseForecaster:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def nonfinite_items(paths: np.ndarray, series: Sequence[Series]) -> list[str]:
    """Ids (or ``#index``) of the series that have readings but got paths that are not all finite.

    >>> import pandas as pd
    >>> t = pd.Timestamp("2024-01-01", tz="UTC")
    >>> ones, gaps = np.ones(3), np.full(3, np.nan)
    >>> batch = [Series(ones, t, 60, item_id="ok"), Series(ones, t, 60), Series(gaps, t, 60)]
    >>> nonfinite_items(np.array([[[1.0]], [[np.nan]], [[np.nan]]]), batch)   # no readings: NaN is its answer
    ['#1']
    """
    finite = np.isfinite(paths).reshape(len(series), -1).all(axis=1)
    return [
        series[k].item_id or f"#{k}" for k in np.flatnonzero(~finite).tolist() if series[k].observed_count > 0
    ]


def short_history_paths(
    series: Series, horizon_steps: int, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Paths for a history with only one or two readings: persistence with a wide spread.

    The level is the mean of the readings; around it a multiplicative random walk with 5 %
    volatility per sqrt(minute) says "we do not know yet" without pretending to. Used by
    every model, so a brand-new workload never crashes the planner and never reads as zero.

    >>> import numpy as np, pandas as pd
    >>> s = Series(np.array([np.nan, 10.0]), pd.Timestamp("2024-01-01", tz="UTC"), 60)
    >>> p = short_history_paths(s, 3, 1000, np.random.default_rng(0))
    >>> p.shape, bool(abs(np.median(p[:, 0]) - 10) < 0.5), bool(p[:, 2].std() > p[:, 0].std())
    ((1000, 3), True, True)
    """
    values = series.clean()
    level = float(np.nanmean(values[np.isfinite(values)][-2:]))
    minutes = np.arange(1, horizon_steps + 1) * series.step_seconds / 60.0
    steps = rng.normal(0.0, 1.0, size=(n_samples, horizon_steps)) * np.sqrt(np.diff(minutes, prepend=0.0))
    return level * np.exp(0.05 * np.cumsum(steps, axis=1) - 0.5 * 0.05**2 * minutes)


def quantiles(paths: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Quantiles over the sample axis: ``[batch, n_samples, h] -> [batch, len(levels), h]``.

    >>> paths = np.arange(10.0).reshape(1, 10, 1)
    >>> quantiles(paths, [0.1, 0.5, 0.9])[0, :, 0].tolist()
    [0.9, 4.5, 8.1]
    """
    arr = np.asarray(paths, dtype=float)
    if arr.ndim != 3:
        raise ValueError(f"expected paths of shape [batch, n_samples, horizon], got {arr.shape}")
    return np.moveaxis(np.quantile(arr, np.asarray(levels, dtype=float), axis=1), 0, 1)
