"""The disk-health cause of the FailoverPolicy: its own horizon, threshold, hysteresis and slow pace."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from foresight.api import v1alpha1
from foresight.api.v1alpha1.failover_policy import DEFAULT_DISK_QUERY
from foresight.planning import disk_health
from foresight.planning import failover as fo
from foresight.planning.disk_health import DiskHealthModel, SmartReadings
from foresight.planning.failover.prior import FailurePrior

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)  # a Wednesday
KEY = v1alpha1.failover_policy.DEFAULT_TAINT_KEY
READY = fo.NodeCondition("Ready", "True")
PRIOR = FailurePrior((0.0,), (0.0,), 0.0, {"any_nonzero": 0.0, "all_zero": 0.0})
MODEL = DiskHealthModel.load(ROOT / "models" / fo.DISK_MODEL_DIR)

ZERO = {5: 0.0, 187: 0.0, 197: 0.0, 198: 0.0}
# Reallocated, pending and offline-uncorrectable sectors that appeared within the last day.
RISING = SmartReadings({5: 200.0, 187: 8.0, 197: 24.0, 198: 24.0}, {1: ZERO, 7: ZERO, 30: ZERO})
# The same counters, unchanged for a month: a worn drive, not one failing this week.
STEADY = SmartReadings(RISING.current, {w: RISING.current for w in (1, 7, 30)})
HEALTHY = SmartReadings(ZERO, {1: ZERO, 7: ZERO, 30: ZERO})


def spec(disk: dict[str, Any] | None = None, **kw: Any) -> v1alpha1.FailoverPolicySpec:
    actions = {"maxNodesAtOnce": 5, "cooldownSeconds": 0, "minHealthyNodes": 0, **kw.pop("actions", {})}
    return v1alpha1.FailoverPolicySpec.model_validate(
        {"actions": actions, "diskHealth": {"cooldownSeconds": 3600, **(disk or {})}, **kw}
    )


def node(name: str, **kw: Any) -> fo.NodeObservation:
    kw.setdefault("conditions", (READY,))
    return fo.NodeObservation(name=name, **kw)


def pod(name: str, node_name: str) -> fo.PodObservation:
    return fo.PodObservation("default", name, node_name, owner=fo.OwnerRef("ReplicaSet", "web"))


def disk_risk(name: str, p_disk: float, p: float = 0.0) -> fo.NodeRiskAssessment:
    disk = fo.DiskRisk(p_disk, threshold=0.11, release_below=0.055, horizon="7d", reason=f"disk {p_disk}")
    return fo.NodeRiskAssessment(node=name, failure_probability=p, disk=disk)


def escalated(actions: list[fo.Action]) -> list[str]:
    return [a.node for a in actions if a.kind == "taint" and a.effect == "NoSchedule"]


# ------------------------------------------------------------------------------------------------ readings


@pytest.mark.parametrize(
    ("daily", "current", "day_ago", "week_ago"),
    [
        # 31 daily points: w days ago is the point w days before the last.
        ([0.0] * 24 + [5.0] * 6 + [9.0], 9.0, 5.0, 0.0),
        # Watched for three days: the first reading stands in for every older start (as fitted).
        ([math.nan] * 28 + [2.0, 4.0, 9.0], 9.0, 4.0, 2.0),
        # A gap at the exact day is filled by the next reading after it.
        ([0.0] * 29 + [math.nan, 9.0], 9.0, 9.0, 0.0),
    ],
)
def test_drive_readings_read_each_window_start_on_the_daily_grid(
    daily: list[float], current: float, day_ago: float, week_ago: float
) -> None:
    r = fo.drive_readings({5: daily})
    assert r is not None
    assert (r.current[5], r.days_ago[1][5], r.days_ago[7][5]) == (current, day_ago, week_ago)


def test_a_drive_without_a_reading_now_is_left_out() -> None:
    assert fo.drive_readings({5: [1.0, 2.0, math.nan]}) is None
    r = fo.drive_readings({5: [1.0, 2.0, math.nan], 197: [0.0, 0.0, 1.0]})
    assert r is not None and r.current == {197: 1.0}


def test_default_query_asks_for_exactly_the_models_attributes() -> None:
    ids = re.search(r'attribute_id=~"([0-9|]+)"', DEFAULT_DISK_QUERY)
    assert ids is not None
    assert tuple(int(x) for x in ids.group(1).split("|")) == disk_health.ATTRIBUTES
    assert (
        disk_health.EXPORTER_METRIC in DEFAULT_DISK_QUERY
        and 'attribute_value_type="raw"' in DEFAULT_DISK_QUERY
    )


# ------------------------------------------------------------------------------------------------ risk


def test_rising_sectors_raise_the_disk_risk_past_the_models_7d_threshold() -> None:
    s = spec()
    got = {
        name: fo.assess_node(
            s, node(name, drives=drives), {}, fo.FailureHistory(), NOW, prior=PRIOR, disk_model=MODEL
        )
        for name, drives in (("rising", (HEALTHY, RISING)), ("steady", (STEADY,)), ("healthy", (HEALTHY,)))
    }
    threshold = MODEL.threshold(7)
    assert got["rising"].disk is not None and got["rising"].disk.threshold == pytest.approx(threshold)
    assert got["rising"].disk.alarm and got["rising"].disk.probability >= threshold
    assert got["steady"].disk is not None and not got["steady"].disk.alarm
    assert (
        got["healthy"].disk is not None and got["healthy"].disk.probability < got["steady"].disk.probability
    )
    # Two drives: the node fails if either does.
    alone = MODEL.failure_probability(RISING, 7)
    both = disk_health.any_drive_fails([alone, MODEL.failure_probability(HEALTHY, 7)])
    assert got["rising"].disk.probability == pytest.approx(both)


def test_the_disk_risk_has_its_own_horizon_and_stays_out_of_the_minute_scale_probability() -> None:
    with_disk = fo.assess_node(
        spec(), node("n", drives=(RISING,)), {}, fo.FailureHistory(), NOW, prior=PRIOR, disk_model=MODEL
    )
    without = fo.assess_node(spec(), node("n"), {}, fo.FailureHistory(), NOW, prior=PRIOR, disk_model=MODEL)
    assert with_disk.failure_probability == without.failure_probability == 0.0
    assert without.disk is None
    month = fo.assess_node(
        spec({"horizon": "30d"}),
        node("n", drives=(RISING,)),
        {},
        fo.FailureHistory(),
        NOW,
        prior=PRIOR,
        disk_model=MODEL,
    )
    assert month.disk is not None and with_disk.disk is not None
    assert month.disk.probability > with_disk.disk.probability
    assert month.disk.threshold == pytest.approx(MODEL.threshold(30))


def test_the_disk_reason_leads_when_it_alarms_and_names_the_rising_counters() -> None:
    r = fo.assess_node(
        spec(), node("n", drives=(RISING,)), {}, fo.FailureHistory(), NOW, prior=PRIOR, disk_model=MODEL
    )
    assert r.reasons[0].startswith("disk: p(a drive fails within 7d) = ")
    assert "Reallocated_Sector_Ct=200 (+200 in 1d)" in r.reasons[0]
    status = r.to_status("tainted")
    assert status.disk_failure_probability == pytest.approx(r.disk.probability if r.disk else -1, abs=1e-4)


def test_disk_threshold_defaults_to_the_models_and_a_horizon_without_one_must_name_it() -> None:
    assert fo.disk_threshold(v1alpha1.DiskHealthSpec(horizon="1d"), MODEL) == pytest.approx(
        MODEL.threshold(1)
    )
    assert (
        fo.disk_threshold(v1alpha1.DiskHealthSpec(horizon="3d", failure_probability_threshold=0.2), MODEL)
        == 0.2
    )
    with pytest.raises(ValueError, match="failureProbabilityThreshold"):
        fo.disk_threshold(v1alpha1.DiskHealthSpec(horizon="3d"), MODEL)


@pytest.mark.parametrize(
    "bad",
    [
        {"diskHealth": {"failureProbabilityThreshold": 0.2, "untaintBelowProbability": 0.3}},
        {"actions": {"window": {"start": "22:00", "end": "22:00"}}},
        {"actions": {"window": {"start": "22:00", "end": "06:00", "timeZone": "Mars/Olympus"}}},
        {"actions": {"window": {"start": "25:00", "end": "06:00"}}},
        {"actions": {"window": {"start": "22:00", "end": "06:00", "days": ["Caturday"]}}},
    ],
)
def test_invalid_disk_and_window_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        v1alpha1.FailoverPolicySpec.model_validate(bad)


# ------------------------------------------------------------------------------------------------ pace


def test_a_disk_risk_taints_prefer_no_schedule_and_drains_slowly() -> None:
    nodes = [node("a"), node("b"), node("c")]
    pods = [pod("w-a", "a"), pod("w-b", "b")]
    risks = [disk_risk("a", 0.3), disk_risk("b", 0.2), disk_risk("c", 0.01)]
    actions = fo.plan_actions(spec(), risks, nodes, pods, [], None, NOW)
    # Both at-risk nodes are kept from new pods at once; only the riskiest starts draining.
    assert [(a.kind, a.node, a.effect or a.pod) for a in actions if a.kind != "skip"] == [
        ("taint", "a", "PreferNoSchedule"),
        ("taint", "a", "NoSchedule"),
        ("evict", "a", "default/w-a"),
        ("taint", "b", "PreferNoSchedule"),
    ]
    (held,) = [a for a in actions if a.kind == "skip"]
    assert held.node == "b" and "diskHealth.cooldownSeconds" in held.reason and "3600s" in held.reason
    assert "disk risk 0.30 >= 0.11 within 7d" in actions[1].reason


@pytest.mark.parametrize(
    ("last_drain_ago", "escalates"),
    [
        (None, True),
        (timedelta(minutes=30), False),
        (timedelta(minutes=59), False),
        (timedelta(hours=1), True),
    ],
)
def test_a_disk_drain_waits_its_cooldown_after_the_last_drain_of_any_cause(
    last_drain_ago: timedelta | None, escalates: bool
) -> None:
    last = None if last_drain_ago is None else NOW - last_drain_ago
    actions = fo.plan_actions(spec(), [disk_risk("a", 0.3)], [node("a"), node("b")], [], [], last, NOW)
    assert escalated(actions) == (["a"] if escalates else [])
    assert actions[0].kind == "taint" and actions[0].effect == "PreferNoSchedule"  # never held back


def test_a_minute_scale_risk_does_not_wait_for_the_disk_pace_and_goes_first() -> None:
    nodes = [node("disk"), node("urgent"), node("spare")]
    risks = [disk_risk("disk", 0.9), disk_risk("urgent", 0.0, p=0.6)]
    actions = fo.plan_actions(spec(), risks, nodes, [], [], NOW - timedelta(minutes=5), NOW)
    assert escalated(actions) == ["urgent"]
    outside = spec(actions={"window": {"start": "02:00", "end": "04:00"}})
    assert escalated(fo.plan_actions(outside, risks, nodes, [], [], None, NOW)) == ["urgent"]


@pytest.mark.parametrize(
    ("window", "escalates"),
    [
        (None, True),
        ({"start": "11:00", "end": "13:00"}, True),
        ({"start": "13:00", "end": "11:00"}, False),  # 13:00 to 11:00 the next day: not at noon
        ({"start": "22:00", "end": "13:00", "days": ["Tue"]}, True),  # Tuesday 22:00 to Wednesday 13:00
        ({"start": "11:00", "end": "13:00", "days": ["Sat", "Sun"]}, False),
        ({"start": "12:30", "end": "14:00", "timeZone": "Europe/Berlin"}, True),  # 13:00 in Berlin
        ({"start": "12:30", "end": "14:00"}, False),
    ],
)
def test_a_disk_drain_starts_only_inside_the_window(window: dict[str, Any] | None, escalates: bool) -> None:
    s = spec(actions={"window": window} if window else {})
    actions = fo.plan_actions(s, [disk_risk("a", 0.3)], [node("a"), node("b")], [], [], None, NOW)
    assert escalated(actions) == (["a"] if escalates else [])
    if not escalates:
        assert any(a.kind == "skip" and "actions.window" in a.reason for a in actions)


@pytest.mark.parametrize(
    ("p_disk", "released"),
    [(0.3, False), (0.08, False), (0.05, True)],  # release below half the threshold (0.055)
)
def test_a_disk_tainted_node_is_released_only_below_its_own_release_level(
    p_disk: float, released: bool
) -> None:
    n = node("a", taints=(fo.Taint(KEY, "PreferNoSchedule"), fo.Taint(KEY, "NoSchedule")))
    actions = fo.plan_actions(spec(), [disk_risk("a", p_disk)], [n, node("b")], [], [], None, NOW)
    assert any(a.kind == "untaint" for a in actions) is released


def test_many_failing_disks_are_drained_one_per_cooldown_never_in_a_storm() -> None:
    """Ten nodes whose disks alarm at once, replayed tick by tick for six hours (drains finish at once):
    every node is kept from new pods at once, but drains start an hour apart, never faster."""
    s = spec(actions={"maxNodesAtOnce": 10, "cooldownSeconds": 60})
    nodes = {f"n{i}": node(f"n{i}") for i in range(12)}
    risks = [disk_risk(f"n{i}", 0.2 + i / 100) for i in range(10)]
    last: datetime | None = None
    drains: list[datetime] = []
    for tick in range(6 * 3600 // 30):
        now = NOW + timedelta(seconds=30 * tick)
        actions = fo.plan_actions(s, risks, list(nodes.values()), [], [], last, now)
        for a in actions:
            if a.kind == "taint" and a.effect is not None:
                n = nodes[a.node]
                nodes[a.node] = replace(n, taints=(*n.taints, fo.Taint(KEY, a.effect)))
                if a.effect == "NoSchedule":
                    drains.append(now)
                    last = now
        if tick == 0:
            assert all("PreferNoSchedule" in {t.effect for t in nodes[r.node].taints} for r in risks)
    assert len(drains) == 6  # at 0h, 1h, ..., 5h
    assert all(b - a >= timedelta(hours=1) for a, b in itertools.pairwise(drains))
