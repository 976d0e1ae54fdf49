"""The rails as checked again right before a node takes the NoSchedule taint."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from foresight.api import v1alpha1
from foresight.planning import failover as fo

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
KEY = v1alpha1.failover_policy.DEFAULT_TAINT_KEY
READY = fo.NodeCondition("Ready", "True")
NOT_READY = fo.NodeCondition("Ready", "False")


def spec(max_nodes: int = 1, min_healthy: int = 0, **actions: Any) -> v1alpha1.FailoverPolicySpec:
    return v1alpha1.FailoverPolicySpec.model_validate(
        {
            "nodeSelector": {"matchLabels": {"pool": "a"}},
            "actions": {
                "maxNodesAtOnce": max_nodes,
                "minHealthyNodes": min_healthy,
                "cooldownSeconds": 0,
                **actions,
            },
        }
    )


def node(name: str, *effects: str, pool: str = "a", ready: bool = True) -> fo.NodeObservation:
    return fo.NodeObservation(
        name=name,
        labels={"pool": pool},
        conditions=(READY if ready else NOT_READY,),
        taints=tuple(fo.Taint(KEY, e) for e in effects),  # type: ignore[arg-type]
    )


def pod(name: str, on: str, **kw: Any) -> fo.PodObservation:
    return fo.PodObservation(
        namespace="shop", name=name, node_name=on, owner=fo.OwnerRef("ReplicaSet", "web"), **kw
    )


DAEMON = fo.PodObservation(
    namespace="kube-system", name="agent", node_name="d", owner=fo.OwnerRef("DaemonSet", "a")
)


@pytest.mark.parametrize(
    ("nodes", "pods", "s", "held_back"),
    [
        # One node draining (our NoSchedule, a pod left): the slot is taken.
        ([node("d", "NoSchedule"), node("x")], [pod("w", "d")], spec(), "maxNodesAtOnce=1 reached (d)"),
        # ... unless maxNodesAtOnce leaves room for another.
        ([node("d", "NoSchedule"), node("x")], [pod("w", "d")], spec(max_nodes=2), None),
        # Drained (no pod left), or left only with pods nobody evicts: the slot is free (documented).
        ([node("d", "NoSchedule"), node("x")], [], spec(), None),
        ([node("d", "NoSchedule"), node("x")], [DAEMON, pod("t", "d", terminating=True)], spec(), None),
        ([node("d", "NoSchedule"), node("x")], [pod("done", "d", phase="Succeeded")], spec(), None),
        # Only our NoSchedule counts: PreferNoSchedule, another key, and nodes the policy does not select.
        ([node("d", "PreferNoSchedule"), node("x")], [pod("w", "d")], spec(), None),
        ([node("d", "NoSchedule", pool="b"), node("x")], [pod("w", "d")], spec(), None),
        # The node itself is not counted against itself (already tainted: the write changes nothing).
        ([node("x", "NoSchedule")], [pod("w", "x")], spec(), None),
        # With actions.evict off nothing drains, as in plan_actions.
        ([node("d", "NoSchedule"), node("x")], [pod("w", "d")], spec(evict=False), None),
        # minHealthyNodes: the others that are Ready, schedulable and not NoSchedule-tainted by us.
        ([node("y"), node("x")], [], spec(min_healthy=1), None),
        ([node("y", ready=False), node("x")], [], spec(min_healthy=1), "would leave 0 healthy node(s)"),
        ([node("d", "NoSchedule"), node("x")], [], spec(min_healthy=1), "would leave 0 healthy node(s)"),
        ([node("y", ready=False), node("x", ready=False)], [], spec(min_healthy=1), None),  # x is no capacity
        ([node("y")], [], spec(), "node x is no longer listed"),
    ],
)
def test_escalation_held_back(
    nodes: list[fo.NodeObservation],
    pods: list[fo.PodObservation],
    s: v1alpha1.FailoverPolicySpec,
    held_back: str | None,
) -> None:
    got = fo.escalation_held_back(s, "x", nodes, pods)
    assert got == held_back or (held_back is not None and got is not None and got.startswith(held_back))


def _apply(action: fo.Action, nodes: list[fo.NodeObservation], pods: list[fo.PodObservation]) -> None:
    """What the controller's write does to the observed state."""
    if action.kind in ("taint", "untaint"):
        i = next(i for i, n in enumerate(nodes) if n.name == action.node)
        taint = fo.Taint(KEY, action.effect)  # type: ignore[arg-type]
        taints = [t for t in nodes[i].taints if t != taint] + ([taint] if action.kind == "taint" else [])
        nodes[i] = replace(nodes[i], taints=tuple(taints))
    elif action.kind == "evict":
        i = next(i for i, p in enumerate(pods) if p.key == action.pod)
        pods[i] = replace(pods[i], terminating=True)


@pytest.mark.parametrize("seed", range(200))
def test_the_check_at_write_time_allows_what_the_plan_escalates(seed: int) -> None:
    """Carried out in order on the state the plan saw, each escalation the plan makes passes the check:
    the check only ever refuses what changed after the plan's reads."""
    rng = random.Random(seed)
    s = spec(max_nodes=rng.choice([1, 2, 3]), min_healthy=rng.choice([0, 1, 2]))
    nodes = [
        node(f"n{i}", *rng.choice([(), ("PreferNoSchedule",), ("PreferNoSchedule", "NoSchedule")]))
        for i in range(rng.randint(2, 7))
    ]
    nodes = [replace(n, conditions=(READY if rng.random() < 0.9 else NOT_READY,)) for n in nodes]
    pods = [pod(f"w{k}", rng.choice(nodes).name) for k in range(rng.randint(0, 12))]
    risks = [fo.NodeRiskAssessment(n.name, rng.choice([0.0, 0.1, 0.3, 0.6, 0.9])) for n in nodes]
    plan = fo.plan_actions(s, risks, nodes, pods, [], None, NOW)
    for action in plan:
        if action.kind == "taint" and action.effect == "NoSchedule":
            assert fo.escalation_held_back(s, action.node, nodes, pods) is None, (action, nodes, pods)
        _apply(action, nodes, pods)
