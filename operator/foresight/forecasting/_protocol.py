"""The forecaster protocol and the base class that gives every model the same edges.

A forecaster has three verbs: ``fit`` (optional), ``sample`` (batched sample paths) and
``save``. :class:`BaseForecaster` implements ``sample`` once for all models: it validates
the batch, applies the shared rules for empty and very short histories, and clips
non-negative series at zero. Models only write ``_sample_batch`` for the histories that are
long enough, which keeps the edge cases identical across models (and testable once).
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from foresight.forecasting._series import Series

__all__ = ["BaseForecaster", "Forecaster", "quantiles", "short_history_paths"]

# Below this many observed readings a model has nothing to fit; see short_history_paths().
MIN_OBSERVED = 3


@runtime_checkable
class Forecaster(Protocol):
    """What the planner and the simulator code against."""

    name: str

    def fit(self, series: Sequence[Series]) -> Forecaster: ...

    def sample(
        self, series: Sequence[Series], horizon_steps: int, n_samples: int = 100, seed: int = 0
    ) -> np.ndarray: ...

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

        Histories with no observed reading give ``NaN`` paths; histories with fewer than
        ``min_observed`` readings give :func:`short_history_paths`. Non-negative series are
        clipped at zero. The same ``seed`` and inputs always give the same paths.
        """
        if horizon_steps < 1 or n_samples < 1:
            raise ValueError("horizon_steps and n_samples must be >= 1")
        batch = list(series)
        out = np.full((len(batch), n_samples, horizon_steps), np.nan)
        counts = np.array([s.observed_count for s in batch], dtype=int)
        rng = np.random.default_rng(seed)
        short = np.flatnonzero((counts > 0) & (counts < self.min_observed))
        for k in short:
            out[k] = short_history_paths(batch[k], horizon_steps, n_samples, rng)
        full = np.flatnonzero(counts >= self.min_observed)
        if full.size:
            out[full] = self._sample_batch([batch[k] for k in full], horizon_steps, n_samples, seed)
        for i, s in enumerate(batch):
            if s.nonnegative:
                np.maximum(out[i], 0.0, out=out[i])
        return out

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
