"""Lead-window peak scores: the window's steps, and metrics that pass when calibrated and fail when not."""

from __future__ import annotations

import numpy as np
import pytest

from foresight import forecasting
from foresight.forecasting import _metrics, backtest


@pytest.mark.parametrize(
    ("step", "startup", "window", "expected"),
    [
        (60, 180, 600, (2, 12)),  # readings 3..13 minutes after the origin
        (60, 180, 60, (2, 3)),  # the planner's own window: minutes 3 and 4
        (300, 180, 600, (0, 1)),  # 5 and 10 minutes
        (300, 180, 60, (0, 0)),  # narrower than a step: the first reading at or after its start
        (10, 0, 30, (0, 2)),
    ],
)
def test_lead_window_steps(step: int, startup: int, window: int, expected: tuple[int, int]) -> None:
    assert backtest.lead_window_steps(step, startup, window) == expected


def test_window_peaks_take_the_maximum_of_each_path_and_of_the_observed_actuals() -> None:
    paths = np.array([[[1.0, 9.0, 2.0, 3.0], [4.0, 1.0, 1.0, 1.0]]])
    actual = np.array([[0.0, 5.0, np.nan, 1.0]])
    peaks, actual_peaks = _metrics.window_peaks(paths, actual, 1, 3)
    assert peaks.tolist() == [[9.0, 1.0]] and actual_peaks.tolist() == [5.0]
    _, unobserved = _metrics.window_peaks(paths, np.array([[0.0, np.nan, np.nan, 1.0]]), 1, 2)
    assert np.isnan(unobserved).all()
    with pytest.raises(ValueError, match="outside"):
        _metrics.window_peaks(paths, actual, 2, 4)


def _peaks(rng: np.random.Generator, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Actual peaks and predicted peak samples of the same distribution, predictions shifted."""
    rows, n = 2_000, 200
    level = rng.uniform(50, 150, size=(rows, 1))
    actual = level[:, 0] * rng.lognormal(0.0, 0.2, size=rows)
    samples = level * rng.lognormal(0.0, 0.2, size=(rows, n)) * shift
    return samples, actual


def test_calibrated_peak_quantiles_cover_as_promised_and_biased_ones_do_not() -> None:
    rng = np.random.default_rng(0)
    samples, actual = _peaks(rng, 1.0)
    assert _metrics.quantile_coverage(samples, actual, 0.9) == pytest.approx(0.9, abs=0.02)
    assert _metrics.quantile_coverage(samples, actual, 0.99) == pytest.approx(0.99, abs=0.01)
    low, _ = _peaks(np.random.default_rng(0), 0.7)  # 30 % under-forecast
    assert _metrics.quantile_coverage(low, actual, 0.9) < 0.6
    assert _metrics.quantile_loss(low, actual, 0.9) > 1.5 * _metrics.quantile_loss(samples, actual, 0.9)
    high, _ = _peaks(np.random.default_rng(0), 2.0)  # safe but wasteful: the loss says so too
    assert _metrics.quantile_coverage(high, actual, 0.9) > 0.99
    assert _metrics.quantile_loss(high, actual, 0.9) > 1.5 * _metrics.quantile_loss(samples, actual, 0.9)


def test_the_true_quantile_minimises_the_pinball_loss() -> None:
    rng = np.random.default_rng(1)
    samples, actual = _peaks(rng, 1.0)
    losses = {s: _metrics.quantile_loss(samples * s, actual, 0.9) for s in (0.9, 1.0, 1.1)}
    assert min(losses, key=losses.__getitem__) == 1.0


def test_score_reports_peaks_only_when_asked(azure: forecasting.Series) -> None:
    bt = backtest.prepare([azure], 6, max_origins=10)
    paths = np.repeat(bt.actual[:, None, :], 20, axis=1)  # a perfect point forecast
    assert "peak" not in backtest.score(paths, bt)
    peak = backtest.score(paths, bt, (0, 1))["peak"]
    assert peak["wql"] == {"0.9": 0.0, "0.99": 0.0}
    assert peak["coverage"] == {"0.9": 1.0, "0.99": 1.0}
