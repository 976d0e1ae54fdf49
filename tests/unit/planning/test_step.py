"""The planning step: the lead window's place in the forecast, and the state it carries between decisions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from foresight import planning

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
POLICY = planning.PlanningPolicy(capacity_per_replica=100, max_replicas=50, startup_seconds=180)


def _forecast(
    paths: np.ndarray, last_observed: datetime = NOW, history: list[float] | None = None
) -> planning.SampledForecast:
    readings = np.array([100.0] * 10 if history is None else history)
    return planning.SampledForecast(np.asarray(paths, dtype=float), 60, last_observed, readings)


@pytest.mark.parametrize(("column", "inside"), [(1, False), (2, True), (3, True), (4, False)])
def test_the_first_column_is_one_step_after_the_last_observation(column: int, inside: bool) -> None:
    # Lead window [now + 180 s, now + 240 s]; column k is at now + (k + 1) * 60 s.
    paths = np.full((20, 10), 100.0)
    paths[:, column] = 1000.0
    decision, _ = planning.step(POLICY, _forecast(paths), planning.Present(1), planning.PlannerState(), NOW)
    assert (decision.floor == 10) is inside
    assert decision.floor in (1, 10)


def test_the_state_carries_the_scale_down_stabilization() -> None:
    high, low = np.full((20, 10), 1000.0), np.full((20, 10), 100.0)
    state = planning.PlannerState()
    decision, state = planning.step(POLICY, _forecast(high), planning.Present(1), state, NOW)
    assert decision.floor == 10
    later = NOW + timedelta(minutes=1)
    decision, state = planning.step(POLICY, _forecast(low, later), planning.Present(10), state, later)
    assert decision.floor == 10 and "stabilization" in decision.reason
    # Without the state the same decision falls at once, by the step limit only.
    fresh, _ = planning.step(
        POLICY, _forecast(low, later), planning.Present(10), planning.PlannerState(), later
    )
    assert fresh.floor == 5
    after = NOW + timedelta(minutes=6)
    decision, state = planning.step(POLICY, _forecast(low, after), planning.Present(10), state, after)
    assert decision.floor == 5 and [d for _, d in state.desired_history] == [1]


def test_calibration_is_recorded_only_when_switched_on() -> None:
    paths = np.full((20, 10), 1000.0)
    record = planning.PeakCalibration(ratios=(1.5,) * 60, predicted=(1000.0,) * 60)
    state = planning.PlannerState(calibration=record)
    on = dataclasses.replace(POLICY, calibrate=True)
    decision, kept = planning.step(on, _forecast(paths), planning.Present(1), state, NOW)
    assert decision.floor == 15 and decision.calibration_factor == 1.5
    window = (NOW + timedelta(seconds=180), NOW + timedelta(seconds=240), 1000.0)
    assert kept.calibration.pending == (window,)
    decision, dropped = planning.step(POLICY, _forecast(paths), planning.Present(1), state, NOW)
    assert decision.floor == 10 and dropped.calibration == planning.PeakCalibration()


def test_windows_are_scored_on_the_readings_with_broken_ones_as_gaps() -> None:
    on = dataclasses.replace(POLICY, calibrate=True)
    start = NOW - timedelta(minutes=5)
    pending = planning.PeakCalibration(pending=((start, start + timedelta(minutes=1), 100.0),))
    # Readings a minute apart up to NOW: the window's two are 150 and a broken -400.
    readings = [100.0, 100.0, 100.0, 100.0, 150.0, -400.0, 100.0, 100.0, 100.0, 100.0]
    forecast = _forecast(np.full((20, 10), 100.0), history=readings)
    _, state = planning.step(
        on, forecast, planning.Present(1), planning.PlannerState(calibration=pending), NOW
    )
    assert state.calibration.ratios == (1.5,)


def test_observed_load_is_the_newest_finite_reading() -> None:
    paths = np.full((2, 3), 1.0)
    assert _forecast(paths, history=[3.0, 4.0, np.nan]).observed_load == 4.0
    assert _forecast(paths, history=[np.nan]).observed_load is None
    assert _forecast(paths, history=[]).observed_load is None


def test_a_target_miss_rate_calibrates_at_its_own_level_not_the_forecasts() -> None:
    # Past windows: the realized peak was 1.0x, ..., 1.99x the prediction (100 ratios, evenly spread).
    ratios = tuple(1.0 + k / 100 for k in range(100))
    record = planning.PeakCalibration(min_windows=10, ratios=ratios, predicted=(1000.0,) * 100)
    state = planning.PlannerState(calibration=record)
    paths = np.full((20, 10), 1000.0)
    loose = dataclasses.replace(POLICY, target_miss_rate=0.2)
    tight = dataclasses.replace(POLICY, target_miss_rate=0.02)
    assert loose.calibrates and not POLICY.calibrates
    decided = {
        rate: planning.step(policy, _forecast(paths), planning.Present(1), state, NOW)[0]
        for rate, policy in ((0.2, loose), (0.02, tight))
    }
    # r_(ceil(101 q)): the 81st and the 99th smallest ratio; the forecast quantile (0.9) is not the level.
    assert decided[0.2].calibration_factor == pytest.approx(1.80)
    assert decided[0.02].calibration_factor == pytest.approx(1.98)
    assert (decided[0.2].floor, decided[0.02].floor) == (18, 20)
    assert "for a 0.02 miss rate" in decided[0.02].reason
    # Unscored, it keeps score like forecast.calibrate does.
    _, kept = planning.step(tight, _forecast(paths), planning.Present(1), planning.PlannerState(), NOW)
    assert len(kept.calibration.pending) == 1
    with pytest.raises(ValueError, match="target_miss_rate"):
        dataclasses.replace(POLICY, target_miss_rate=0.5)


def test_an_anchored_peak_is_never_below_the_present_reading() -> None:
    paths = np.full((20, 10), 300.0)  # the forecast says the load falls to 300
    anchored = dataclasses.replace(POLICY, anchor=True)
    present = _forecast(paths, history=[900.0] * 10)
    plain, _ = planning.step(POLICY, present, planning.Present(1), planning.PlannerState(), NOW)
    held, _ = planning.step(anchored, present, planning.Present(1), planning.PlannerState(), NOW)
    assert (plain.floor, held.floor) == (3, 9)
    assert held.reason.startswith("present load 900 (above the p90 forecast peak)")
    # Where the forecast is higher than the present, it decides as before.
    rising, _ = planning.step(anchored, _forecast(np.full((20, 10), 1200.0), history=[900.0] * 10),
                              planning.Present(1), planning.PlannerState(), NOW)  # fmt: skip
    assert rising.floor == 12 and rising.reason.startswith("p90 peak")
