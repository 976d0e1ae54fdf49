"""Nodes, pods and PodDisruptionBudgets as the failover planner sees them, and the node patches it asks for.

Reading turns API objects (plain dicts) into :mod:`foresight.planning.failover` observations. Writing is
one merge patch per change, guarded by the node's ``resourceVersion`` (a concurrent writer makes the API
answer 409 and the caller re-reads). Foresight keeps two things on the node itself, each key next to its
codec: the failure history (:data:`~foresight.planning.failover.FAILURE_HISTORY_ANNOTATION`, encoded by
the planner) and when the node was escalated (:data:`ESCALATED_ANNOTATION`, here).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from foresight.api.v1alpha1 import LabelSelector, parse_time
from foresight.planning import failover as fo

# Set with the NoSchedule taint, removed with it: when this node was escalated (paces cooldownSeconds).
ESCALATED_ANNOTATION = "foresight.dev/escalated-at"
# The kubelet's default lease duration, for a lease that does not say.
DEFAULT_LEASE_SECONDS = 40.0


def label_selector_string(selector: LabelSelector) -> str:
    """The API's string form of the equality part of a selector (expressions are checked in the planner).

    >>> label_selector_string(LabelSelector(match_labels={"pool": "general", "zone": "a"}))
    'pool=general,zone=a'
    """
    return ",".join(f"{k}={v}" for k, v in sorted(selector.match_labels.items()))


def observe_node(node: dict[str, Any], lease: dict[str, Any] | None) -> fo.NodeObservation:
    """A node object (and its lease) as the planner sees it, without its failure history yet.

    >>> node = {"metadata": {"name": "n0", "creationTimestamp": "2026-01-01T00:00:00Z"},
    ...         "spec": {"taints": [{"key": "x", "effect": "NoSchedule"}]},
    ...         "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    >>> seen = observe_node(node, {"spec": {"renewTime": "2026-01-05T12:00:00.000000Z"}})
    >>> seen.ready, seen.taints, seen.lease_renew_time.hour, seen.lease_duration_seconds
    (True, (Taint(key='x', effect='NoSchedule', value=''),), 12, 40.0)
    """
    meta, spec, status = node["metadata"], node.get("spec", {}), node.get("status", {})
    conditions = tuple(
        fo.NodeCondition(c["type"], c["status"], parse_time(c.get("lastTransitionTime")))
        for c in status.get("conditions") or []
    )
    lease_spec = (lease or {}).get("spec", {})
    return fo.NodeObservation(
        name=meta["name"],
        labels=meta.get("labels") or {},
        conditions=conditions,
        lease_renew_time=parse_time(lease_spec.get("renewTime")),
        lease_duration_seconds=float(lease_spec.get("leaseDurationSeconds") or DEFAULT_LEASE_SECONDS),
        taints=tuple(fo.Taint(t["key"], t["effect"], t.get("value", "")) for t in spec.get("taints") or []),
        unschedulable=bool(spec.get("unschedulable")),
        created=parse_time(meta.get("creationTimestamp")),
    )


def observe_pod(pod: dict[str, Any], namespace_labels: Mapping[str, Mapping[str, str]]) -> fo.PodObservation:
    """A pod object as the planner sees it.

    >>> pod = {"metadata": {"namespace": "shop", "name": "web-1", "deletionTimestamp": "2026-01-05T12:00:00Z",
    ...        "ownerReferences": [{"kind": "ReplicaSet", "name": "web", "controller": True}]},
    ...        "spec": {"nodeName": "n0"}}
    >>> seen = observe_pod(pod, {"shop": {"team": "a"}})
    >>> seen.owner, seen.namespace_labels, seen.phase, seen.terminating
    (OwnerRef(kind='ReplicaSet', name='web'), {'team': 'a'}, 'Pending', True)
    """
    meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    owner = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
    return fo.PodObservation(
        namespace=meta["namespace"],
        name=meta["name"],
        node_name=spec.get("nodeName"),
        labels=meta.get("labels") or {},
        namespace_labels=namespace_labels.get(meta["namespace"], {}),
        annotations=meta.get("annotations") or {},
        owner=fo.OwnerRef(owner["kind"], owner["name"]) if owner else None,
        node_selector=spec.get("nodeSelector") or {},
        phase=status.get("phase", "Pending"),
        terminating=meta.get("deletionTimestamp") is not None,
    )


def observe_pdb(pdb: dict[str, Any]) -> fo.DisruptionBudget:
    """A PodDisruptionBudget with the disruptions its controller currently allows.

    >>> observe_pdb({"metadata": {"namespace": "shop", "name": "web"},
    ...              "spec": {"selector": {"matchLabels": {"app": "web"}}}}).disruptions_allowed
    0
    """
    selector = pdb.get("spec", {}).get("selector") or {}
    return fo.DisruptionBudget(
        namespace=pdb["metadata"]["namespace"],
        name=pdb["metadata"]["name"],
        selector=LabelSelector.model_validate(selector),
        disruptions_allowed=int((pdb.get("status") or {}).get("disruptionsAllowed", 0)),
    )


def stored_failure_history(node: dict[str, Any]) -> fo.FailureHistory:
    """The failure history the node carries (an unreadable annotation reads as none).

    >>> stored_failure_history({"metadata": {"annotations": {
    ...     "foresight.dev/failure-history": '[{"down":"2026-01-05T12:00:00Z"}]'}}}).failures[0][1] is None
    True
    """
    annotations = node["metadata"].get("annotations") or {}
    return fo.decode_failure_history(annotations.get(fo.FAILURE_HISTORY_ANNOTATION))


def history_patch(node: dict[str, Any], history: fo.FailureHistory) -> dict[str, Any] | None:
    """The patch storing ``history`` on the node, guarded by its resourceVersion; ``None`` if unchanged.

    >>> n = {"metadata": {"resourceVersion": "7", "annotations": {}}}
    >>> history_patch(n, fo.FailureHistory())["metadata"]["annotations"]
    {'foresight.dev/failure-history': '[]'}
    >>> n["metadata"]["annotations"]["foresight.dev/failure-history"] = "[]"
    >>> history_patch(n, fo.FailureHistory()) is None
    True
    """
    value = fo.encode_failure_history(history)
    annotations = node["metadata"].get("annotations") or {}
    if annotations.get(fo.FAILURE_HISTORY_ANNOTATION) == value:
        return None
    return {
        "metadata": {
            "resourceVersion": node["metadata"]["resourceVersion"],
            "annotations": {fo.FAILURE_HISTORY_ANNOTATION: value},
        }
    }


def taint_patch(
    node: dict[str, Any], key: str, effect: str, add: bool, *, escalated_at: str | None = None
) -> dict[str, Any] | None:
    """One patch adding or removing Foresight's taint, guarded by the node's resourceVersion.

    The ``NoSchedule`` taint carries :data:`ESCALATED_ANNOTATION` (``escalated_at``) in the same write, so
    the cooldown clock survives an operator killed before it wrote the policy's status.

    >>> n = {"metadata": {"resourceVersion": "5"}, "spec": {"taints": [{"key": "x", "effect": "NoSchedule"}]}}
    >>> key = "foresight.dev/failure-predicted"
    >>> p = taint_patch(n, key, "NoSchedule", True, escalated_at="2025-01-01T00:00:00Z")
    >>> p["spec"]["taints"][1]["key"], p["metadata"]["annotations"]
    ('foresight.dev/failure-predicted', {'foresight.dev/escalated-at': '2025-01-01T00:00:00Z'})
    >>> taint_patch(n, "foresight.dev/failure-predicted", "NoSchedule", False) is None
    True
    """
    taints = list(node.get("spec", {}).get("taints") or [])
    present = any(t["key"] == key and t["effect"] == effect for t in taints)
    if add == present:
        return None
    if add:
        taints.append({"key": key, "value": "true", "effect": effect})
    else:
        taints = [t for t in taints if not (t["key"] == key and t["effect"] == effect)]
    metadata: dict[str, Any] = {"resourceVersion": node["metadata"]["resourceVersion"]}
    if effect == "NoSchedule" and (escalated_at is not None or not add):
        metadata["annotations"] = {ESCALATED_ANNOTATION: escalated_at if add else None}
    return {"metadata": metadata, "spec": {"taints": taints}}


def escalated_at(node: dict[str, Any] | None) -> datetime | None:
    """When Foresight escalated this node (its ``NoSchedule`` taint's annotation), if it did.

    >>> escalated_at({"metadata": {"annotations": {"foresight.dev/escalated-at": "2025-01-01T00:05:00Z"}}})
    datetime.datetime(2025, 1, 1, 0, 5, tzinfo=datetime.timezone.utc)
    >>> escalated_at({"metadata": {"annotations": {"foresight.dev/escalated-at": "edited by hand"}}}) is None
    True
    """
    annotations = ((node or {}).get("metadata") or {}).get("annotations") or {}
    try:
        return parse_time(annotations.get(ESCALATED_ANNOTATION))
    except ValueError:
        return None  # edited by hand: the policy's status still holds the time


def last_escalation(status_time: str | None, nodes: list[dict[str, Any]]) -> datetime | None:
    """When a node was last escalated: the later of the policy's status and the nodes' own record.

    >>> n = {"metadata": {"annotations": {"foresight.dev/escalated-at": "2025-01-01T00:05:00Z"}}}
    >>> last_escalation("2025-01-01T00:00:00Z", [n, {"metadata": {}}]).minute
    5
    """
    times = [parse_time(status_time), *(escalated_at(node) for node in nodes)]
    return max((t for t in times if t is not None), default=None)


def node_ref(name: str) -> dict[str, Any]:
    """A reference to a node that Kubernetes Events can be posted on (nodes have no namespace of their own).

    >>> node_ref("n0")["kind"]
    'Node'
    """
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "namespace": "default", "uid": name},
    }
