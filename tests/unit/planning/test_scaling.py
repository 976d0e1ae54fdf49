"""The planner's rules, one table row per rule (see ``foresight.planning._scaling``)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from foresight import planning
from foresight.api import v1alpha1

NOW = datetime(2024, 1, 1, 14, 0, tzinfo=UTC)


def flat(load: float, n_samples: int = 100, steps: int = 10) -> np.ndarray:
    return np.full((n_samples, steps), load)


def history(*ages_and_desired: tuple[int, int]) -> tuple[tuple[datetime, int], ...]:
    return tuple((NOW - timedelta(seconds=age), d) for age, d in ages_and_desired)


POLICY = planning.PlanningPolicy(capacity_per_replica=100, max_replicas=50, min_replicas=2)

CASES = [
    # (id, samples, current, expected desired, expected floor)
    ("scale-up is immediate", flat(1000), planning.CurrentState(current_floor=3), 10, 10),
    ("exact multiple needs no extra pod", flat(1000.0000001), planning.CurrentState(current_floor=3), 10, 10),
    ("never below minReplicas", flat(0), planning.CurrentState(current_floor=2), 2, 2),
    (
        "never below the HPA's own minimum",
        flat(0),
        planning.CurrentState(current_floor=4, hpa_min_replicas=4),
        4,
        4,
    ),
    ("clipped to maxReplicas", flat(10_000), planning.CurrentState(current_floor=3), 50, 50),
    (
        "clipped to the HPA's maximum",
        flat(10_000),
        planning.CurrentState(current_floor=3, hpa_max_replicas=20),
        20,
        20,
    ),
    (
        "scale-down held by the stabilization window",
        flat(500),
        planning.CurrentState(current_floor=12, desired_history=history((120, 12), (60, 9))),
        5,
        12,
    ),
    (
        "window forgets old highs; step limit 50 %",
        flat(100),
        planning.CurrentState(current_floor=12, desired_history=history((400, 40))),
        2,
        6,
    ),
    ("step limit rounds the remaining pods up", flat(100), planning.CurrentState(current_floor=5), 2, 3),
    ("scale-down to desired when allowed", flat(400), planning.CurrentState(current_floor=6), 4, 4),
    (
        "a lowered maximum applies at once, despite stabilization",
        flat(100),
        planning.CurrentState(current_floor=60, hpa_max_replicas=30, desired_history=history((30, 60))),
        2,
        30,
    ),
    ("no forecast keeps the floor", None, planning.CurrentState(current_floor=7), 7, 7),
    ("all-NaN forecast keeps the floor", flat(np.nan), planning.CurrentState(current_floor=7), 7, 7),
]


@pytest.mark.parametrize(
    ("samples", "current", "desired", "floor"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rules(samples: np.ndarray | None, current: planning.CurrentState, desired: int, floor: int) -> None:
    decision = planning.decide(POLICY, samples, 60, current, NOW)
    assert (decision.desired_replicas, decision.floor) == (desired, floor)
    assert decision.floor >= POLICY.min_replicas


def test_a_lower_floor_keeps_what_is_needed_before_a_new_pod_could_serve() -> None:
    """Pods removed now are gone until the lead window: a peak before it holds them, and adds none."""
    paths = flat(100.0, steps=20)
    paths[:, 1] = 900  # at now + 2 min, before the lead window [now + 3 min, now + 4 min]
    held = planning.decide(POLICY, paths, 60, planning.CurrentState(current_floor=12), NOW)
    assert (held.desired_replicas, held.floor) == (9, 9)  # not 2 (the lead window's) nor 6 (the step limit)
    assert held.reason.endswith(
        "→ 1 replicas, 9 for the p90 peak 900 before a new pod could serve; HPA floor 12 → 9"
    )
    # It never raises the floor: a pod asked for now would come after that peak.
    assert planning.decide(POLICY, paths, 60, planning.CurrentState(current_floor=4), NOW).floor == 4
    # The same paths, with the guard off, as the benchmark's ablation replays them: the step limit alone.
    unguarded = dataclasses.replace(POLICY, hold_until_replaced=False)
    assert planning.decide(unguarded, paths, 60, planning.CurrentState(current_floor=12), NOW).floor == 6
    # A calibrated peak is held calibrated: the factor applies to the peak before the window too.
    calibration = planning.PeakCalibration(min_windows=2, ratios=(2.0, 2.0, 2.0))
    calibrated = dataclasses.replace(POLICY, calibrate=True)
    decision = planning.decide(
        calibrated, paths, 60, planning.CurrentState(current_floor=20), NOW, calibration=calibration
    )
    assert decision.floor == 18


def test_only_the_lead_window_counts() -> None:
    """A spike before now + startup or after the window cannot be served by pods asked for now."""
    paths = flat(100.0, steps=20)
    paths[:, 0] = 5000  # at now + 1 min: too early
    paths[:, 10] = 5000  # at now + 11 min: too late
    decision = planning.decide(POLICY, paths, 60, planning.CurrentState(current_floor=2), NOW)
    assert decision.floor == 2
    assert decision.window_start == NOW + timedelta(seconds=180)
    assert decision.window_end == NOW + timedelta(seconds=240)
    paths[:, 3] = 5000  # at now + 4 min: inside [now + 3 min, now + 4 min]
    assert planning.decide(POLICY, paths, 60, planning.CurrentState(current_floor=2), NOW).floor == 50


def test_quantile_of_the_peaks() -> None:
    rng = np.random.default_rng(0)
    paths = rng.uniform(0, 1000, size=(1000, 1)) * np.ones((1, 10))
    for q in (0.5, 0.9, 0.99):
        policy = planning.PlanningPolicy(capacity_per_replica=1, max_replicas=10_000, quantile=q)
        decision = planning.decide(policy, paths, 60, planning.CurrentState(current_floor=1), NOW)
        assert decision.peak_at_quantile == pytest.approx(np.quantile(paths[:, 0], q))
        assert decision.desired_replicas == int(np.ceil(decision.peak_at_quantile))


def test_coarse_steps_are_interpolated() -> None:
    """5-minute forecasts: the window [3 min, 4 min] lies between two columns."""
    paths = np.tile([0.0, 1000.0], (10, 1))  # columns at now and now + 5 min
    decision = planning.decide(
        planning.PlanningPolicy(capacity_per_replica=100, max_replicas=50),
        paths,
        300,
        planning.CurrentState(current_floor=1),
        NOW,
        samples_start=NOW,
    )
    assert decision.peak_at_quantile == pytest.approx(800.0)  # linear at 4 min of 5
    assert decision.peak_time == NOW + timedelta(minutes=4)


def test_reason_explains_the_numbers() -> None:
    policy = planning.PlanningPolicy(capacity_per_replica=120, max_replicas=30, load_unit="rps")
    decision = planning.decide(policy, flat(1840), 60, planning.CurrentState(current_floor=4), NOW)
    assert decision.reason == "p90 peak 1,840 rps at 14:03 ÷ 120 rps/replica → 16 replicas; HPA floor 4 → 16"


def test_from_spec() -> None:
    spec = v1alpha1.PredictiveScalerSpec.model_validate(
        {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "metric": {"prometheus": {"query": "sum(rate(x[1m]))"}, "capacityPerReplica": 120},
            "forecast": {"quantile": 0.95},
            "scaling": {"minReplicas": 2, "maxReplicas": 30, "scaleDown": {"stabilizationSeconds": 600}},
        }
    )
    policy = planning.PlanningPolicy.from_spec(spec)
    assert (policy.capacity_per_replica, policy.quantile, policy.min_replicas, policy.max_replicas) == (
        120,
        0.95,
        2,
        30,
    )
    assert policy.stabilization_seconds == 600
    assert (policy.target_miss_rate, policy.calibrates) == (None, False)
    decision = planning.decide(spec, flat(1000), 60, planning.CurrentState(current_floor=2), NOW)
    assert decision.floor == 9


def test_target_miss_rate_from_spec_and_its_bounds() -> None:
    body = {
        "scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "metric": {"prometheus": {"query": "sum(rate(x[1m]))"}, "capacityPerReplica": 120},
        "scaling": {"maxReplicas": 30, "targetMissRate": 0.01},
    }
    policy = planning.PlanningPolicy.from_spec(v1alpha1.PredictiveScalerSpec.model_validate(body))
    assert (policy.target_miss_rate, policy.calibrates, policy.calibration_level) == (0.01, True, 0.99)
    assert policy.quantile == 0.9 and not policy.anchor  # the forecast's level is unchanged
    for bad in (0, 0.5, -0.01):
        body["scaling"]["targetMissRate"] = bad  # type: ignore[index]
        with pytest.raises(ValueError, match="targetMissRate"):
            v1alpha1.PredictiveScalerSpec.model_validate(body)
