"""Crossing-probability calibration, its scores, predict_linear and the memory-leak ramp test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from foresight.planning.failover.risk import calibrated_crossing
from foresight.simulation import failover as sim


def overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shares of paths in steps of 0.01 whose crossings happen only half as often as they say."""
    rng = np.random.default_rng(seed)
    share = np.round(rng.beta(0.5, 2.0, n), 2)
    return share, rng.random(n) < share / 2


def test_isotonic_calibration_corrects_an_overconfident_share() -> None:
    share, crossed = overconfident(60_000, seed=1)
    knots = sim.fit_calibration(share, crossed)
    xs, ys = zip(*knots, strict=True)
    assert list(xs) == sorted(set(xs)) and list(ys) == sorted(ys)  # increasing: a valid prior field
    assert calibrated_crossing(0.6, knots) == pytest.approx(0.3, abs=0.05)
    held_share, held_crossed = overconfident(60_000, seed=2)
    calibrated = sim.calibrate(held_share, knots)
    assert sim.calibration_error(calibrated, held_crossed) < 0.3 * sim.calibration_error(
        held_share, held_crossed
    )
    assert sim.brier_score(calibrated, held_crossed) < sim.brier_score(held_share, held_crossed)


def test_a_calibrated_share_needs_no_correction() -> None:
    rng = np.random.default_rng(3)
    share = np.round(rng.random(50_000), 2)
    crossed = rng.random(50_000) < share
    assert sim.calibration_error(share, crossed) < 0.01
    knots = sim.fit_calibration(share, crossed)
    assert max(abs(calibrated_crossing(x, knots) - x) for x in (0.2, 0.5, 0.8)) < 0.05


def test_reliability_bins_count_every_pair_once() -> None:
    p = np.array([0.0, 0.0, 0.02, 0.55, 0.95, 1.0])
    crossed = np.array([False, True, False, True, True, True])
    rows = sim.reliability(p, crossed)
    assert sum(r["count"] for r in rows) == len(p)
    zero = rows[0]
    assert (zero["lo"], zero["count"], zero["observed"]) == (0.0, 2, 0.5)
    assert rows[-1]["hi"] == 1.0 and rows[-1]["count"] == 2  # p = 1 falls in the last bin


def test_predict_linear_is_a_least_squares_line() -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(50, 5, (3, 200)).cumsum(axis=1) / 10
    vm, origin = np.array([0, 1, 2, 2]), np.array([40, 100, 60, 200])
    got = sim.predict_linear(values, vm, origin, window=24, ahead=30)
    for g, v, t in zip(got, vm, origin, strict=True):
        slope, intercept = np.polyfit(np.arange(24), values[v, t - 24 : t], 1)
        assert g == pytest.approx(intercept + slope * (23 + 30))


def test_forecast_crossings_labels_the_real_future() -> None:
    step = 300
    values = np.vstack([np.linspace(0, 100, 400), np.full(400, 20.0)])
    geometry = sim.SignalGeometry(horizon_steps=10, history_horizons=4, samples=20)
    sample = sim.forecast_crossings(values, geometry, stride=5, step_seconds=step)
    assert sample.path_max.shape == (len(sample.vm), 20)
    assert np.all(sample.origin >= geometry.history_steps(step))
    for v, t, last, future in zip(sample.vm, sample.origin, sample.last, sample.future_max, strict=True):
        assert last == values[v, t - 1] and future == values[v, t : t + 10].max()
    share, crossed = sim.crossing_pairs(sample, thresholds=(50.0,))
    # The ramp's origins just below 50 cross; the flat VM never does and its paths stay near 20.
    assert crossed.any() and not crossed[sample.vm[sample.last < 50] == 1].any()
    assert share[crossed].mean() > 0.5


def test_alarm_leads_count_from_the_alarm_start() -> None:
    """One VM, one crossing at step 100 after a long quiet stretch; the alarm is on from origin 80."""
    values = np.zeros((1, 200))
    values[0, 100:110] = 80.0
    origins = np.arange(10, 190, 10)
    sample = sim.CrossingSample(
        vm=np.zeros(len(origins), dtype=int),
        origin=origins,
        last=values[0, origins - 1],
        future_max=np.array([values[0, t : t + 30].max() for t in origins]),
        path_max=np.zeros((len(origins), 1)),
        step_seconds=60,
    )
    p = ((origins >= 80) & (origins <= 100)).astype(float)
    score = sim.score_alarms(
        "test",
        values,
        sample,
        p,
        level=50.0,
        alarm_threshold=0.5,
        release_below=None,
        keep=np.ones(len(origins), bool),
    )
    assert (score.crossings, score.warned, score.lead_median_minutes) == (1, 1, 20.0)
    # A crossing right after a short dip is not counted when a quiet stretch is required.
    values[0, 112:120] = 80.0
    quiet = sim.score_alarms(
        "test", values, sample, p, level=50.0, alarm_threshold=0.5, release_below=None,
        keep=np.ones(len(origins), bool), min_quiet_steps=10,
    )  # fmt: skip
    assert quiet.crossings == 1


def test_leak_test_warns_of_a_leak_and_not_of_a_flat_series() -> None:
    fast, flat = sim.SCENARIOS[0], sim.SCENARIOS[-1]
    assert fast.kind == "leak" and flat.kind == "flat"
    rows = sim.leak_test(sim.SignalGeometry(), (), series_per_scenario=2, stride=4, scenarios=(fast, flat))
    by = {(r.scenario, r.rule.split(":")[0].split(",")[0]): r for r in rows}
    ours = by[(fast.name, "Foresight")]
    assert ours.warned == 2 and 0 < ours.lead_median_minutes <= 15 + 2
    assert by[(fast.name, "predict_linear(x[6h]")].warned == 0  # six hours of flat history flatten the line
    assert all(r.false_alarms_per_day == 0 for r in rows if r.scenario == flat.name)
    assert all(math.isnan(r.lead_median_minutes) for r in rows if r.scenario == flat.name)
