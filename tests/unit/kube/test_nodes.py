"""Node objects in, planner observations and guarded node patches out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from foresight.kube import nodes
from foresight.planning import failover as fo

KEY = "foresight.dev/failure-predicted"


def _node(**annotations: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "n0", "resourceVersion": "9", "annotations": annotations},
        "spec": {"taints": [{"key": KEY, "value": "true", "effect": "NoSchedule"}]},
        "status": {
            "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": "2026-01-05T11:58:00Z"}]
        },
    }


def test_removing_the_hard_taint_clears_the_escalation_time_in_the_same_write() -> None:
    node = _node(**{nodes.ESCALATED_ANNOTATION: "2026-01-05T11:00:00Z"})
    patch = nodes.taint_patch(node, KEY, "NoSchedule", add=False)
    assert patch == {
        "metadata": {"resourceVersion": "9", "annotations": {nodes.ESCALATED_ANNOTATION: None}},
        "spec": {"taints": []},
    }
    assert nodes.escalated_at(node) == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)


def test_the_soft_taint_never_touches_the_escalation_time() -> None:
    patch = nodes.taint_patch(_node(), KEY, "PreferNoSchedule", add=True, escalated_at="2026-01-05T12:00:00Z")
    assert patch is not None and "annotations" not in patch["metadata"]
    assert [t["effect"] for t in patch["spec"]["taints"]] == ["NoSchedule", "PreferNoSchedule"]


def test_a_failure_history_round_trips_through_the_node() -> None:
    node = _node()
    observed = nodes.observe_node(node, None)
    assert not observed.ready and observed.lease_renew_time is None
    history = fo.update_failure_history(
        nodes.stored_failure_history(node), observed, datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    )
    patch = nodes.history_patch(node, history)
    assert patch is not None and patch["metadata"]["resourceVersion"] == "9"
    node["metadata"]["annotations"].update(patch["metadata"]["annotations"])
    assert nodes.stored_failure_history(node) == history
    assert nodes.history_patch(node, history) is None
