"""A node without an estimate of one of its signals keeps its taint state: a gap is not a low risk.

The signals' part of the risk is then unknown, so the other causes give only a lower bound: enough to act
on (a node condition still taints), never enough to release a node on.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from foresight.api import v1alpha1
from foresight.planning import failover as fo
from foresight.planning.failover.prior import FailurePrior

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
KEY = v1alpha1.failover_policy.DEFAULT_TAINT_KEY
READY = fo.NodeCondition("Ready", "True")
SIGNAL = "memory-available"
PRIOR = FailurePrior(
    since_recovery_edges_hours=(0.0, 1.0, 24.0),
    since_recovery_hazard_per_hour=(0.4, 0.04, 0.0),
    no_failure_hazard_per_hour=0.0,
    smart_hazard_per_hour={"any_nonzero": 0.2, "all_zero": 0.0},
)
SPEC = v1alpha1.FailoverPolicySpec.model_validate(
    {
        "signals": [{"name": SIGNAL, "query": "q", "threshold": 0.5, "direction": "below"}],
        "actions": {"maxNodesAtOnce": 1, "cooldownSeconds": 0, "minHealthyNodes": 1},
    }
)
FLAT = np.ones((10, 5))  # no path crosses 0.5: a real estimate of no risk


def node(name: str, *effects: str, ready: bool = True) -> fo.NodeObservation:
    return fo.NodeObservation(
        name=name,
        conditions=(fo.NodeCondition("Ready", "True" if ready else "False"),),
        taints=tuple(fo.Taint(KEY, e) for e in effects),  # type: ignore[arg-type]
    )


def pod(name: str, node_name: str) -> fo.PodObservation:
    return fo.PodObservation("default", name, node_name, owner=fo.OwnerRef("ReplicaSet", "web"))


def assess(n: fo.NodeObservation, paths: dict[str, np.ndarray]) -> fo.NodeRiskAssessment:
    return fo.assess_node(SPEC, n, paths, fo.FailureHistory(), NOW, prior=PRIOR)


def summary(actions: list[fo.Action]) -> list[tuple[str, str, str]]:
    return [(a.kind, a.node, a.effect or a.pod or "") for a in actions]


@pytest.mark.parametrize(
    ("paths", "unestimated"),
    [
        ({}, (SIGNAL,)),  # no series, or the query failed
        ({SIGNAL: np.full((10, 5), np.nan)}, (SIGNAL,)),  # a forecast without data
        ({SIGNAL: FLAT}, ()),
    ],
)
def test_a_signal_without_paths_is_named_as_unestimated(
    paths: dict[str, np.ndarray], unestimated: tuple[str, ...]
) -> None:
    r = assess(node("a"), paths)
    assert r.unestimated == unestimated
    assert r.failure_probability == pytest.approx(0.0)
    assert any(SIGNAL in reason and "no estimate" in reason for reason in r.reasons) == bool(unestimated)


@pytest.mark.parametrize("effects", [("PreferNoSchedule",), ("PreferNoSchedule", "NoSchedule")])
def test_a_tainted_node_without_an_estimate_keeps_its_taint(effects: tuple[str, ...]) -> None:
    nodes = [node("a", *effects), node("b"), node("c")]
    risks = [assess(nodes[0], {}), assess(nodes[1], {SIGNAL: FLAT}), assess(nodes[2], {SIGNAL: FLAT})]
    actions = fo.plan_actions(SPEC, risks, nodes, [], [], None, NOW)
    assert summary(actions) == [("skip", "a", "")]
    assert SIGNAL in actions[0].reason and "taint kept" in actions[0].reason
    # The same risk with the signal read releases the node, as before.
    risks[0] = assess(nodes[0], {SIGNAL: FLAT})
    released = fo.plan_actions(SPEC, risks, nodes, [], [], None, NOW)
    assert summary(released) == [("untaint", "a", e) for e in sorted(effects)]


def test_only_the_node_whose_series_is_missing_holds() -> None:
    nodes = [node("a", "NoSchedule"), node("b", "NoSchedule"), node("c")]
    risks = [assess(nodes[0], {}), assess(nodes[1], {SIGNAL: FLAT}), assess(nodes[2], {SIGNAL: FLAT})]
    assert summary(fo.plan_actions(SPEC, risks, nodes, [], [], None, NOW)) == [
        ("skip", "a", ""),
        ("untaint", "b", "NoSchedule"),
    ]


def test_a_held_drain_goes_on_and_causes_that_need_no_signal_still_act() -> None:
    """Prometheus down: a NoSchedule node held for want of an estimate is still draining (its pods leave,
    it counts against maxNodesAtOnce), and a node at risk by its Ready condition is tainted once the slot
    is free; a gap alone taints nothing."""
    nodes = [node("a", "NoSchedule"), node("b", ready=False), node("c")]
    pods = [pod("web-1", "a"), pod("web-2", "b")]
    risks = [assess(n, {}) for n in nodes]
    actions = fo.plan_actions(SPEC, risks, nodes, pods, [], None, NOW)
    assert summary(actions) == [
        ("skip", "a", ""),
        ("evict", "a", "default/web-1"),
        ("taint", "b", "PreferNoSchedule"),
        ("skip", "b", ""),
    ]
    assert "maxNodesAtOnce" in actions[-1].reason
    # Node a drained: the slot is free, and node b is escalated on its condition alone.
    assert summary(fo.plan_actions(SPEC, risks, nodes, pods[1:], [], None, NOW)) == [
        ("skip", "a", ""),
        ("taint", "b", "PreferNoSchedule"),
        ("taint", "b", "NoSchedule"),
        ("evict", "b", "default/web-2"),
    ]
