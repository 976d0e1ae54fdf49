"""The lead-window peak calibration: conformal coverage, no scoring before a window is over, bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from foresight import planning
from foresight.planning import PeakCalibration

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _minutes(n: int) -> np.ndarray:
    return T0.timestamp() + 60.0 * np.arange(n)


def _scored(ratios: np.ndarray, **kwargs: object) -> PeakCalibration:
    cal = PeakCalibration(keep=len(ratios), min_windows=10, **kwargs)  # type: ignore[arg-type]
    for k, r in enumerate(ratios):
        start = T0 + timedelta(minutes=k)
        cal = cal.expect(start, start, 100.0)
        cal = cal.observe([start.timestamp()], [100.0 * r])
    return cal


@pytest.mark.parametrize("quantile", [0.5, 0.9, 0.99])
def test_factor_covers_the_quantile_of_new_windows(quantile: float) -> None:
    rng = np.random.default_rng(0)
    past = rng.lognormal(0.1, 0.2, size=1440)  # forecasts 10 % low and too narrow
    factor = _scored(past, max_factor=10.0).factor(quantile)
    future = rng.lognormal(0.1, 0.2, size=20_000)
    assert abs(np.mean(future <= factor) - quantile) < 0.02


def test_windows_are_scored_only_once_observed_to_their_end() -> None:
    cal = PeakCalibration().expect(T0 + timedelta(minutes=3), T0 + timedelta(minutes=4), 10.0)
    cal = cal.observe(_minutes(4), [1.0, 1.0, 1.0, 50.0])  # readings up to minute 3 only
    assert cal.ratios == () and len(cal.pending) == 1
    cal = cal.observe(_minutes(5), [1.0, 1.0, 1.0, 50.0, 20.0])
    assert cal.ratios == (5.0,) and cal.pending == ()  # the peak inside [3, 4] is 50


def test_gaps_and_bad_predictions() -> None:
    cal = PeakCalibration().expect(T0, T0 + timedelta(minutes=1), float("nan")).expect(T0, T0, 0.0)
    assert cal.pending == ()  # nothing to score against
    cal = PeakCalibration().expect(T0, T0 + timedelta(minutes=1), 10.0)
    cal = cal.observe(_minutes(3), [np.nan, np.nan, 5.0])
    assert cal.ratios == () and cal.pending == ()  # an unobserved window is dropped, not scored as zero


def test_factor_needs_enough_windows_and_stays_bounded() -> None:
    assert _scored(np.full(9, 5.0)).factor(0.9) == 1.0
    assert _scored(np.full(10, 5.0)).factor(0.9) == 3.0
    assert _scored(np.full(10, 0.1)).factor(0.9) == 0.75


def test_peaks_are_calibrated_on_windows_of_their_level() -> None:
    # Low windows are over-forecast (ratio 0.8), the highest fifth under-forecast (ratio 1.1).
    predicted = np.linspace(10.0, 100.0, 500)
    ratios = np.where(predicted >= np.quantile(predicted, 0.8), 1.1, 0.8)
    cal = PeakCalibration(ratios=tuple(ratios), predicted=tuple(predicted))
    assert cal.factor(0.9, predicted_peak=99.0) == pytest.approx(1.1)
    assert cal.factor(0.9, predicted_peak=20.0) == pytest.approx(0.8)
    assert cal.factor(0.9) == pytest.approx(1.1)  # no level: the whole record


def test_record_is_bounded() -> None:
    cal = _scored(np.ones(50))
    cal = PeakCalibration(keep=20, min_windows=1, ratios=cal.ratios)
    cal = cal.expect(T0, T0, 1.0).observe([T0.timestamp()], [2.0])
    assert len(cal.ratios) == 20 and cal.ratios[-1] == 2.0


def test_decide_scales_the_peak_and_says_so() -> None:
    now = T0 + timedelta(hours=14)
    paths = np.full((100, 10), 1000.0)
    policy = planning.PlanningPolicy(100, 50, load_unit="rps")
    plain = planning.decide(policy, paths, 60, planning.CurrentState(current_floor=1), now)
    record = PeakCalibration(min_windows=1, ratios=(1.25,), predicted=(1000.0,))
    scaled = planning.decide(
        policy, paths, 60, planning.CurrentState(current_floor=1), now, calibration=record
    )
    assert (plain.floor, scaled.floor) == (10, 13)
    assert scaled.raw_peak_at_quantile == 1000.0 and scaled.peak_at_quantile == 1250.0
    assert "× 1.25 calibration" in scaled.reason and "calibration" not in plain.reason
