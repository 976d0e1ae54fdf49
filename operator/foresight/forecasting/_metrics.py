"""Scores for sample-path forecasts: CRPS, weighted quantile loss, MASE, coverage, Crane's error.

All functions take ``paths [batch, n_samples, horizon]`` and ``actual [batch, horizon]``
(``NaN`` where nothing was observed, which is then left out) and return one number, pooled
over every scored point, so traces of different units compare:

* ``crps``: sample CRPS ``E|X - y| - E|X - X'|/2`` summed, divided by the sum of ``|y|``
  (the normalisation gluonts uses for its weighted quantile losses).
* ``wql``: ``2 * sum(pinball_q) / sum(|y|)`` per quantile level.
* ``mase``: mean absolute error of the median over a per-series scale (mean absolute error
  of the seasonal naive rule on the history, see :func:`naive_scale`).
* ``coverage``: share of actuals inside the central ``level`` interval.
* ``under_forecast_error``: Crane's asymmetric prediction error on the median
  (``gocrane/crane`` ``pkg/prediction/accuracy``): over-forecasts cost ``(p - a)/a``,
  under-forecasts ``-ln(1 - (a - p)/a) / ln(1.25)``, so a 10 % shortfall costs 0.47 and a
  50 % one 3.1. Points with ``a < 1e-3`` are skipped (Crane falls back to MAE there) and the
  shortfall is capped at 99.9 % so a zero forecast gives a large finite cost.

The planner sizes for the *peak* of its lead window, not for any one step, so that decision
variable is scored too: :func:`window_peaks` takes each path's maximum (and the actual one)
over the window's steps, and :func:`quantile_loss` / :func:`quantile_coverage` score a
predicted quantile of those peaks against the actual peak (one value per origin).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "coverage",
    "crps",
    "crps_points",
    "mase",
    "naive_scale",
    "quantile_coverage",
    "quantile_loss",
    "under_forecast_error",
    "window_peaks",
    "wql",
]


def crps_points(paths: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Sample CRPS per point ``[batch, horizon]`` (the unbiased-free "energy" form, sorted trick).

    >>> paths = np.array([[[0.0], [1.0], [2.0], [3.0]]])
    >>> float(crps_points(paths, np.array([[1.5]]))[0, 0])
    0.375
    """
    x = np.sort(np.asarray(paths, dtype=float), axis=1)
    n = x.shape[1]
    y = np.asarray(actual, dtype=float)[:, None, :]
    abs_err = np.mean(np.abs(x - y), axis=1)
    # E|X - X'| for the empirical distribution: (2 / n^2) * sum_i (2i - n - 1) x_(i).
    weights = (2 * np.arange(1, n + 1) - n - 1)[None, :, None]
    spread = 2.0 * np.sum(weights * x, axis=1) / (n * n)
    return abs_err - 0.5 * spread


def _mask(actual: np.ndarray, *arrays: np.ndarray) -> np.ndarray:
    ok = np.isfinite(actual)
    for a in arrays:
        ok &= np.isfinite(a)
    return ok


def crps(paths: np.ndarray, actual: np.ndarray) -> float:
    """Pooled CRPS normalised by the mean absolute actual.

    >>> paths = np.full((1, 10, 2), 5.0)
    >>> crps(paths, np.array([[4.0, 6.0]]))
    0.2
    """
    points = crps_points(paths, actual)
    ok = _mask(actual, points)
    return float(points[ok].sum() / max(np.abs(actual[ok]).sum(), 1e-12))


def wql(paths: np.ndarray, actual: np.ndarray, levels: Sequence[float] = (0.1, 0.5, 0.9)) -> dict[str, float]:
    """Weighted quantile loss per level, keys are the levels as strings (``"0.1"``)."""
    qs = np.quantile(paths, np.asarray(levels), axis=1)  # [levels, batch, horizon]
    ok = _mask(actual, *qs)
    denom = max(np.abs(actual[ok]).sum(), 1e-12)
    out = {}
    for level, q in zip(levels, qs, strict=True):
        diff = actual[ok] - q[ok]
        pinball = np.maximum(level * diff, (level - 1) * diff)
        out[str(level)] = float(2.0 * pinball.sum() / denom)
    return out


def naive_scale(history: np.ndarray, season: int) -> float:
    """Mean absolute error of ``y[t] - y[t - season]`` over the finite pairs of ``history``."""
    h = np.asarray(history, dtype=float)
    if h.shape[0] <= season:
        season = 1
    diffs = np.abs(h[season:] - h[:-season])
    diffs = diffs[np.isfinite(diffs)]
    return float(diffs.mean()) if diffs.size else float("nan")


def mase(paths: np.ndarray, actual: np.ndarray, scales: np.ndarray) -> float:
    """Mean over points of ``|median - y| / scale`` (``scales`` one per batch row)."""
    median = np.median(paths, axis=1)
    scaled = np.abs(median - actual) / np.asarray(scales, dtype=float)[:, None]
    ok = _mask(actual, scaled)
    return float(scaled[ok].mean()) if ok.any() else float("nan")


def coverage(paths: np.ndarray, actual: np.ndarray, level: float) -> float:
    """Fraction of actuals inside the central ``level`` interval of the samples.

    >>> paths = np.arange(100.0).reshape(1, 100, 1).repeat(2, axis=2)
    >>> coverage(paths, np.array([[50.0, 99.5]]), 0.9)
    0.5
    """
    lo, hi = np.quantile(paths, [(1 - level) / 2, (1 + level) / 2], axis=1)
    ok = _mask(actual, lo, hi)
    inside = (actual[ok] >= lo[ok]) & (actual[ok] <= hi[ok])
    return float(inside.mean()) if ok.any() else float("nan")


def under_forecast_error(paths: np.ndarray, actual: np.ndarray) -> float:
    """Crane's asymmetric error of the median forecast (see the module docstring).

    >>> paths = np.full((1, 5, 2), 90.0)                # 10 % short of 100, 100 % over 45
    >>> round(under_forecast_error(paths, np.array([[100.0, 45.0]])), 3)
    0.736
    """
    predicted = np.median(paths, axis=1)
    ok = _mask(actual, predicted) & (np.abs(actual) >= 1e-3)
    a, p = actual[ok], predicted[ok]
    if a.size == 0:
        return float("nan")
    shortfall = np.clip((a - p) / a, 0.0, 0.999)
    cost = np.where(p < a, -np.log1p(-shortfall) / np.log(1.25), (p - a) / a)
    return float(cost.mean())


def window_peaks(
    paths: np.ndarray, actual: np.ndarray, first: int, last: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-path maxima ``[batch, n_samples]`` and actual maxima ``[batch]`` over steps ``first..last``.

    Steps are columns of the horizon, both ends included. The actual peak is the highest
    *observed* reading in the window (``NaN`` when none was observed); a path with a ``NaN``
    (no forecast) has a ``NaN`` peak.

    >>> paths = np.array([[[1.0, 5.0, 2.0], [3.0, 1.0, 4.0]]])
    >>> peaks, actual = window_peaks(paths, np.array([[9.0, np.nan, 2.0]]), 1, 2)
    >>> peaks.tolist(), actual.tolist()
    ([[5.0, 4.0]], [2.0])
    """
    if not 0 <= first <= last < np.shape(actual)[1]:
        raise ValueError(f"window steps {first}..{last} outside a horizon of {np.shape(actual)[1]}")
    window = np.asarray(actual, dtype=float)[:, first : last + 1]
    observed = np.isfinite(window)
    actual_peaks = np.where(observed, window, -np.inf).max(axis=1)
    actual_peaks[~observed.any(axis=1)] = np.nan
    return np.asarray(paths, dtype=float)[:, :, first : last + 1].max(axis=2), actual_peaks


def quantile_loss(samples: np.ndarray, actual: np.ndarray, level: float) -> float:
    """Pinball loss of the ``level`` quantile of ``samples [batch, n]`` against ``actual [batch]``.

    Normalised like :func:`wql`: ``2 * sum(pinball) / sum(|actual|)``, so 0.1 reads as an
    error of 10 % of the mean actual (at ``level = 0.5`` it is the relative absolute error).

    >>> samples = np.arange(101.0)[None, :].repeat(2, axis=0)     # quantile 0.9 is 90
    >>> round(quantile_loss(samples, np.array([100.0, 80.0]), 0.9), 4)   # 0.9*10 + 0.1*10
    0.1111
    """
    q = np.quantile(np.asarray(samples, dtype=float), level, axis=1)
    a = np.asarray(actual, dtype=float)
    ok = np.isfinite(a) & np.isfinite(q)
    diff = a[ok] - q[ok]
    pinball = np.maximum(level * diff, (level - 1) * diff)
    return float(2.0 * pinball.sum() / max(np.abs(a[ok]).sum(), 1e-12)) if ok.any() else float("nan")


def quantile_coverage(samples: np.ndarray, actual: np.ndarray, level: float) -> float:
    """Share of ``actual`` at or below the ``level`` quantile of ``samples`` (calibrated: ``level``).

    >>> samples = np.arange(101.0)[None, :].repeat(4, axis=0)     # quantile 0.9 is 90
    >>> quantile_coverage(samples, np.array([10.0, 90.0, 95.0, np.nan]), 0.9)
    0.6666666666666666
    """
    q = np.quantile(np.asarray(samples, dtype=float), level, axis=1)
    a = np.asarray(actual, dtype=float)
    ok = np.isfinite(a) & np.isfinite(q)
    return float((a[ok] <= q[ok]).mean()) if ok.any() else float("nan")
