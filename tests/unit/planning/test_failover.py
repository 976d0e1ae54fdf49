"""Failover risk model and action planning: one table of cases per rule."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from foresight.api import v1alpha1
from foresight.planning import failover as fo
from foresight.planning.failover.prior import FailurePrior

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
KEY = v1alpha1.failover_policy.DEFAULT_TAINT_KEY
READY = fo.NodeCondition("Ready", "True")

# A prior with round numbers so that expectations are readable; the shipped one is tested separately.
PRIOR = FailurePrior(
    since_recovery_edges_hours=(0.0, 1.0, 24.0),
    since_recovery_hazard_per_hour=(0.4, 0.04, 0.0),
    no_failure_hazard_per_hour=0.0,
    smart_hazard_per_hour={"any_nonzero": 0.2, "all_zero": 0.0},
)


def spec(**kw: Any) -> v1alpha1.FailoverPolicySpec:
    actions = kw.pop("actions", {})
    return v1alpha1.FailoverPolicySpec.model_validate({"actions": actions, **kw})


def node(name: str, **kw: Any) -> fo.NodeObservation:
    kw.setdefault("conditions", (READY,))
    return fo.NodeObservation(name=name, **kw)


def pod(name: str, node_name: str, owner: str | None = "ReplicaSet/web", **kw: Any) -> fo.PodObservation:
    ref = None if owner is None else fo.OwnerRef(*owner.split("/"))
    return fo.PodObservation(namespace="default", name=name, node_name=node_name, owner=ref, **kw)


def risk(name: str, p: float) -> fo.NodeRiskAssessment:
    return fo.NodeRiskAssessment(node=name, failure_probability=p)


def tainted(*effects: str) -> tuple[fo.Taint, ...]:
    return tuple(fo.Taint(KEY, e) for e in effects)  # type: ignore[arg-type]


def summary(actions: list[fo.Action]) -> list[tuple[str, str, str]]:
    return [(a.kind, a.node, a.effect or a.pod or "") for a in actions]


# ------------------------------------------------------------------------------------------------ risk


@pytest.mark.parametrize(
    ("paths", "threshold", "direction", "expected"),
    [
        ([[5, 4, 3], [5, 5, 5]], 3.5, "below", 0.5),
        ([[5, 4, 3], [5, 5, 5]], 3.5, "above", 1.0),
        ([[1, 1, 1], [1, 2, 1]], 1.5, "above", 0.5),
        ([[np.nan, np.nan]], 1.0, "above", math.nan),
    ],
)
def test_crossing_probability_is_direction_aware(
    paths: list[list[float]], threshold: float, direction: str, expected: float
) -> None:
    got = fo.crossing_probability(np.asarray(paths, dtype=float), threshold, direction)  # type: ignore[arg-type]
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


def test_forecast_component_reason_names_signal_threshold_and_horizon() -> None:
    s = spec(signals=[{"name": "memory-available", "query": "q", "threshold": 0.5, "direction": "below"}])
    paths = np.array([[1.0, 0.4]] * 62 + [[1.0, 1.0]] * 38)
    r = fo.assess_node(s, node("n1"), {"memory-available": paths}, fo.FailureHistory(), NOW, prior=PRIOR)
    assert r.failure_probability == pytest.approx(0.62)
    assert r.reasons == ["memory-available p(cross below 0.5 within 15m) = 0.62"]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ((READY,), 0.0),
        ((READY, fo.NodeCondition("MemoryPressure", "True")), 0.4),
        ((READY, fo.NodeCondition("MemoryPressure", "False")), 0.0),
        ((fo.NodeCondition("Ready", "Unknown"),), 0.9),
        # Independent hazards: 1 - 0.6 * 0.6.
        ((READY, fo.NodeCondition("MemoryPressure", "True"), fo.NodeCondition("DiskPressure", "True")), 0.64),
    ],
)
def test_condition_weights_combine_as_independent_hazards(
    conditions: tuple[fo.NodeCondition, ...], expected: float
) -> None:
    r = fo.assess_node(spec(), node("n1", conditions=conditions), {}, fo.FailureHistory(), NOW, prior=PRIOR)
    assert r.failure_probability == pytest.approx(expected)


@pytest.mark.parametrize(
    ("age_seconds", "expected"),
    [(10, 0.0), (40, 0.0), (60, 0.45), (80, 0.9), (600, 0.9)],
)
def test_stale_lease_ramps_to_the_ready_unknown_weight(age_seconds: float, expected: float) -> None:
    n = node("n1", lease_renew_time=NOW - timedelta(seconds=age_seconds), lease_duration_seconds=40)
    r = fo.assess_node(spec(), n, {}, fo.FailureHistory(), NOW, prior=PRIOR)
    assert r.failure_probability == pytest.approx(expected)


def test_stale_lease_is_not_counted_twice_once_ready_is_unknown() -> None:
    n = node(
        "n1", conditions=(fo.NodeCondition("Ready", "Unknown"),), lease_renew_time=NOW - timedelta(hours=1)
    )
    r = fo.assess_node(spec(), n, {}, fo.FailureHistory(), NOW, prior=PRIOR)
    assert r.failure_probability == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("history", "flaps", "expected"),
    [
        # 15 minutes in the first bin right after recovery: 0.4/h * 0.25 h.
        (((NOW - timedelta(hours=2), NOW),), (), 1 - math.exp(-0.1)),
        # 30 min after: still in the first bin.
        (((NOW - timedelta(hours=2), NOW - timedelta(minutes=30)),), (), 1 - math.exp(-0.1)),
        # 50 min after: 10 min at 0.4/h, 5 min at 0.04/h.
        (
            ((NOW - timedelta(hours=2), NOW - timedelta(minutes=50)),),
            (),
            1 - math.exp(-(0.4 / 6 + 0.04 / 12)),
        ),
        # 2 days after: hazard 0.
        (((NOW - timedelta(days=3), NOW - timedelta(days=2)),), (), 0.0),
        # A Ready flap 10 min ago counts as a recovery at the Ready transition.
        ((), (NOW - timedelta(minutes=12),), 1 - math.exp(-0.1)),
        # An old failure does not hide a fresh flap: the latest recovery wins.
        (
            ((NOW - timedelta(days=3), NOW - timedelta(days=2)),),
            (NOW - timedelta(minutes=12),),
            1 - math.exp(-0.1),
        ),
    ],
)
def test_recurrence_uses_the_latest_recovery(
    history: tuple[tuple[datetime, datetime], ...], flaps: tuple[datetime, ...], expected: float
) -> None:
    ready = fo.NodeCondition("Ready", "True", last_transition_time=NOW - timedelta(minutes=10))
    n = node("n1", conditions=(ready,), not_ready_transitions=flaps)
    r = fo.assess_node(spec(), n, {}, fo.FailureHistory(history), NOW, prior=PRIOR)
    assert r.failure_probability == pytest.approx(expected)


def test_smart_precursors_add_the_drive_hazard() -> None:
    n = node("n1", smart_counters={5: 0, 197: 8})
    r = fo.assess_node(spec(), n, {}, fo.FailureHistory(), NOW, prior=PRIOR)
    assert r.failure_probability == pytest.approx(1 - math.exp(-0.2 * 0.25))
    assert "197=8" in r.reasons[0]
    clean = fo.assess_node(
        spec(), node("n1", smart_counters={5: 0}), {}, fo.FailureHistory(), NOW, prior=PRIOR
    )
    assert clean.failure_probability == 0.0


def test_every_contributing_cause_is_listed_most_likely_first() -> None:
    s = spec(signals=[{"name": "errors", "query": "q", "threshold": 10, "direction": "above"}])
    n = node("n1", conditions=(READY, fo.NodeCondition("DiskPressure", "True")))
    paths = np.array([[0.0, 11.0]] * 7 + [[0.0, 1.0]] * 3)
    r = fo.assess_node(s, n, {"errors": paths}, fo.FailureHistory(), NOW, prior=PRIOR)
    assert r.failure_probability == pytest.approx(1 - 0.3 * 0.6)
    assert [x.split(" ")[0] for x in r.reasons] == ["errors", "DiskPressure=True:"]
    status = r.to_status(state="tainted", since=NOW)
    assert status.since == "2025-01-01T12:00:00Z" and status.failure_probability == pytest.approx(0.82)


def test_shipped_prior_loads_and_says_recent_failures_matter() -> None:
    from pathlib import Path

    prior = FailurePrior.load(Path(__file__).resolve().parents[3] / "models" / "failure-prior-v1")
    assert prior.probability_after_failure(0.0, 24) > 5 * prior.probability_after_failure(None, 24)
    assert prior.smart_probability(True, 720) > 10 * prior.smart_probability(False, 720)


# ------------------------------------------------------------------------------------------------ planning


def test_at_risk_node_gets_prefer_no_schedule_then_no_schedule_and_evictions() -> None:
    nodes = [node("a"), node("b")]
    pods = [pod("web-1", "a"), pod("web-2", "b")]
    actions = fo.plan_actions(spec(), [risk("a", 0.8), risk("b", 0.1)], nodes, pods, [], None, NOW)
    assert summary(actions) == [
        ("taint", "a", "PreferNoSchedule"),
        ("taint", "a", "NoSchedule"),
        ("evict", "a", "default/web-1"),
    ]
    assert all(a.taint_key == KEY for a in actions if a.kind == "taint")


@pytest.mark.parametrize(
    ("owner", "annotations", "phase", "evicted"),
    [
        ("ReplicaSet/web", {}, "Running", True),
        ("DaemonSet/node-exporter", {}, "Running", False),
        (None, {fo.MIRROR_ANNOTATION: "x"}, "Running", False),
        ("Job/batch", {}, "Succeeded", False),
        (None, {}, "Running", True),
    ],
)
def test_daemonset_mirror_and_finished_pods_are_not_evicted(
    owner: str | None, annotations: dict[str, str], phase: str, evicted: bool
) -> None:
    nodes = [node("a"), node("b")]
    pods = [pod("p", "a", owner=owner, annotations=annotations, phase=phase)]
    actions = fo.plan_actions(spec(), [risk("a", 0.9)], nodes, pods, [], None, NOW)
    assert any(a.kind == "evict" for a in actions) is evicted


@pytest.mark.parametrize(
    ("max_at_once", "draining", "expected_new"),
    [
        (1, [], ["a"]),  # the riskiest node first
        (2, [], ["a", "b"]),
        (1, ["d"], []),  # one node is still draining
        (2, ["d"], ["a"]),
    ],
)
def test_never_more_than_max_nodes_at_once(
    max_at_once: int, draining: list[str], expected_new: list[str]
) -> None:
    nodes = [node("a"), node("b"), node("c")] + [node(n, taints=tainted("NoSchedule")) for n in draining]
    pods = [pod(f"w-{n}", n) for n in ["a", "b", "c", *draining]]
    risks = [risk("a", 0.9), risk("b", 0.8), risk("c", 0.1)] + [risk(n, 0.9) for n in draining]
    s = spec(actions={"maxNodesAtOnce": max_at_once, "cooldownSeconds": 0, "minHealthyNodes": 0})
    actions = fo.plan_actions(s, risks, nodes, pods, [], None, NOW)
    escalated = [a.node for a in actions if a.kind == "taint" and a.effect == "NoSchedule"]
    assert escalated == expected_new
    # Nodes already draining keep being drained regardless of the budget.
    assert {a.node for a in actions if a.kind == "evict"} == set(expected_new) | set(draining)
    held = [a for a in actions if a.kind == "skip"]
    assert all("maxNodesAtOnce" in a.reason for a in held)


@pytest.mark.parametrize(
    ("last_action_ago", "cooldown", "escalated"),
    [
        (None, 300, ["a"]),
        (timedelta(seconds=100), 300, []),
        (timedelta(seconds=300), 300, ["a"]),
        (timedelta(seconds=10), 0, ["a", "b"]),
    ],
)
def test_cooldown_between_new_nodes(
    last_action_ago: timedelta | None, cooldown: int, escalated: list[str]
) -> None:
    nodes = [node("a"), node("b"), node("c")]
    s = spec(actions={"maxNodesAtOnce": 5, "cooldownSeconds": cooldown, "minHealthyNodes": 0})
    last = None if last_action_ago is None else NOW - last_action_ago
    actions = fo.plan_actions(s, [risk("a", 0.9), risk("b", 0.8)], nodes, [], [], last, NOW)
    assert [a.node for a in actions if a.effect == "NoSchedule"] == escalated
    if not escalated:
        assert any(a.kind == "skip" and "cooldown" in a.reason for a in actions)


@pytest.mark.parametrize(
    ("healthy_nodes", "unready", "min_healthy", "escalated"),
    [
        (3, 0, 2, True),  # 3 -> 2 healthy
        (2, 0, 2, False),  # 2 -> 1 < 2
        (3, 1, 2, False),  # one of 3 is NotReady: 2 healthy -> 1
        (1, 0, 0, True),
    ],
)
def test_min_healthy_nodes(healthy_nodes: int, unready: int, min_healthy: int, escalated: bool) -> None:
    nodes = [node(f"n{i}") for i in range(healthy_nodes - unready)]
    nodes += [node(f"u{i}", conditions=(fo.NodeCondition("Ready", "False"),)) for i in range(unready)]
    s = spec(actions={"minHealthyNodes": min_healthy})
    actions = fo.plan_actions(s, [risk("n0", 0.9)], nodes, [], [], None, NOW)
    assert any(a.effect == "NoSchedule" for a in actions) is escalated
    if not escalated:
        assert any(a.kind == "skip" and "minHealthyNodes" in a.reason for a in actions)


@pytest.mark.parametrize(
    ("pod_kw", "other_labels", "escalated"),
    [
        ({}, {}, True),
        ({"node_selector": {"gpu": "true"}}, {}, False),  # the only gpu node is the one at risk
        ({"node_selector": {"gpu": "true"}}, {"gpu": "true"}, True),
        ({"eligible_nodes": frozenset({"a"})}, {}, False),
        ({"eligible_nodes": frozenset({"a", "b"})}, {}, True),
    ],
)
def test_never_drain_the_last_healthy_node_of_a_workload(
    pod_kw: dict[str, Any], other_labels: dict[str, str], escalated: bool
) -> None:
    nodes = [node("a", labels={"gpu": "true"}), node("b", labels=other_labels)]
    pods = [pod("trainer-0", "a", owner="StatefulSet/trainer", **pod_kw)]
    actions = fo.plan_actions(
        spec(actions={"minHealthyNodes": 0}), [risk("a", 0.9)], nodes, pods, [], None, NOW
    )
    assert any(a.effect == "NoSchedule" for a in actions) is escalated
    if not escalated:
        assert any(a.kind == "skip" and "default/StatefulSet/trainer" in a.reason for a in actions)


def test_pdb_blocks_evictions_beyond_the_allowed_disruptions() -> None:
    nodes = [node("a"), node("b")]
    pods = [pod(f"web-{i}", "a", labels={"app": "web"}) for i in range(3)] + [pod("db-0", "a", owner=None)]
    pdb = fo.DisruptionBudget("default", "web", v1alpha1.LabelSelector(match_labels={"app": "web"}), 2)
    actions = fo.plan_actions(spec(), [risk("a", 0.9)], nodes, pods, [pdb], None, NOW)
    kinds = {a.pod: a.kind for a in actions if a.pod}
    assert kinds == {
        "default/db-0": "evict",
        "default/web-0": "evict",
        "default/web-1": "evict",
        "default/web-2": "eviction-blocked",
    }


@pytest.mark.parametrize(
    ("p", "effects", "expected"),
    [
        (
            0.1,
            ("PreferNoSchedule", "NoSchedule"),
            [("untaint", "a", "NoSchedule"), ("untaint", "a", "PreferNoSchedule")],
        ),
        (0.3, ("PreferNoSchedule", "NoSchedule"), []),  # between the levels: hold (hysteresis)
        (0.3, ("PreferNoSchedule",), []),
        (0.24, ("PreferNoSchedule",), [("untaint", "a", "PreferNoSchedule")]),  # default: half of 0.5
        (None, ("NoSchedule",), []),  # unknown risk: hold
    ],
)
def test_untaint_below_the_hysteresis_level(
    p: float | None, effects: tuple[str, ...], expected: list[tuple[str, str, str]]
) -> None:
    nodes = [node("a", taints=tainted(*effects)), node("b")]
    risks = [] if p is None else [risk("a", p)]
    assert summary(fo.plan_actions(spec(), risks, nodes, [], [], None, NOW)) == expected


def test_explicit_untaint_level() -> None:
    s = spec(actions={"untaintBelowProbability": 0.1})
    nodes = [node("a", taints=tainted("NoSchedule")), node("b")]
    assert fo.plan_actions(s, [risk("a", 0.2)], nodes, [], [], None, NOW) == []
    assert summary(fo.plan_actions(s, [risk("a", 0.05)], nodes, [], [], None, NOW)) == [
        ("untaint", "a", "NoSchedule")
    ]


def test_dry_run_computes_the_same_plan_flagged() -> None:
    nodes = [node("a"), node("b")]
    pods = [pod("web-1", "a")]
    active = fo.plan_actions(spec(), [risk("a", 0.9)], nodes, pods, [], None, NOW)
    dry = fo.plan_actions(spec(mode="dryRun"), [risk("a", 0.9)], nodes, pods, [], None, NOW)
    assert (
        summary(dry) == summary(active) and all(a.dry_run for a in dry) and not any(a.dry_run for a in active)
    )
    assert dry[0].to_record(NOW).detail.startswith("[dryRun]")


@pytest.mark.parametrize(
    ("taint", "evict", "kinds"),
    [
        (True, True, ["taint", "taint", "evict"]),
        (True, False, ["taint", "taint"]),
        (False, True, ["evict"]),
        (False, False, ["skip"]),
    ],
)
def test_action_switches(taint: bool, evict: bool, kinds: list[str]) -> None:
    s = spec(actions={"taint": taint, "evict": evict})
    actions = fo.plan_actions(s, [risk("a", 0.9)], [node("a"), node("b")], [pod("w", "a")], [], None, NOW)
    assert [a.kind for a in actions] == kinds


def test_selectors_limit_nodes_and_pods() -> None:
    s = spec(
        node_selector={"matchLabels": {"pool": "spot"}},
        pod_selector={"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["critical"]}]},
        namespace_selector={"matchLabels": {"team": "a"}},
        actions={"minHealthyNodes": 0},
    )
    nodes = [node("a", labels={"pool": "spot"}), node("b", labels={"pool": "ondemand"})]
    ns = {"team": "a"}
    pods = [
        pod("keep", "a", labels={"tier": "critical"}, namespace_labels=ns),
        pod("move", "a", labels={"tier": "web"}, namespace_labels=ns),
        pod("other-ns", "a", labels={"tier": "web"}, namespace_labels={"team": "b"}),
    ]
    actions = fo.plan_actions(s, [risk("a", 0.9), risk("b", 0.9)], nodes, pods, [], None, NOW)
    assert {a.node for a in actions} == {"a"}
    assert [a.pod for a in actions if a.kind == "evict"] == ["default/move"]


@pytest.mark.parametrize(
    ("effects", "pods_left", "state"),
    [
        ((), 0, "watching"),
        (("PreferNoSchedule",), 1, "tainted"),
        (("NoSchedule",), 1, "draining"),
        (("NoSchedule",), 0, "drained"),
    ],
)
def test_node_state(effects: tuple[str, ...], pods_left: int, state: str) -> None:
    n = node("a", taints=tainted(*effects))
    pods = [pod(f"w{i}", "a") for i in range(pods_left)]
    assert fo.node_state(spec(), n, pods) == state
