"""What the failover planner sees: plain data the controller builds from nodes, pods and their owners.

No I/O here: the controller reads the API objects and fills these in. :func:`selector_matches` applies
Kubernetes label-selector semantics to the labels they carry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from foresight.api import v1alpha1
from foresight.planning.disk_health import SmartReadings

__all__ = [
    "NodeCondition",
    "NodeObservation",
    "NodeState",
    "OwnerRef",
    "PodObservation",
    "Taint",
    "TaintEffect",
    "selector_matches",
]

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
# Where a node stands in the taint -> drain sequence (``NodeRisk.state``).
NodeState = Literal["watching", "tainted", "draining", "drained"]


@dataclass(frozen=True)
class NodeCondition:
    """A node condition as the API reports it (incl. node-problem-detector's)."""

    type: str
    status: Literal["True", "False", "Unknown"]
    last_transition_time: datetime | None = None


@dataclass(frozen=True)
class Taint:
    key: str
    effect: TaintEffect
    value: str = ""


@dataclass(frozen=True)
class NodeObservation:
    """What the controller sees of one node right now.

    ``not_ready_transitions`` are the times the node's Ready condition left ``True`` (from the node's
    failure history); ``smart_counters`` is the max over the node's drives of each SMART raw counter
    (e.g. from smartctl_exporter), ``None`` when unknown; ``drives`` holds each drive's SMART readings
    for the disk-health cause (:mod:`foresight.planning.failover.disk`), ``None`` when unknown;
    ``created`` is the node's creationTimestamp.
    """

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    conditions: Sequence[NodeCondition] = ()
    lease_renew_time: datetime | None = None
    lease_duration_seconds: float = 40.0
    not_ready_transitions: Sequence[datetime] = ()
    taints: Sequence[Taint] = ()
    unschedulable: bool = False
    smart_counters: Mapping[int, float] | None = None
    drives: Sequence[SmartReadings] | None = None
    created: datetime | None = None

    def condition(self, type_: str) -> NodeCondition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    @property
    def ready(self) -> bool:
        ready = self.condition("Ready")
        return ready is not None and ready.status == "True"


@dataclass(frozen=True)
class OwnerRef:
    """The controlling owner of a pod (``ReplicaSet``, ``StatefulSet``, ``DaemonSet``, ``Job``, ...)."""

    kind: str
    name: str


@dataclass(frozen=True)
class PodObservation:
    """A pod as the planner needs it.

    ``eligible_nodes`` lets the controller state where the workload may run (affinity, tolerations); when
    ``None`` the planner uses ``node_selector`` against node labels.
    """

    namespace: str
    name: str
    node_name: str | None
    labels: Mapping[str, str] = field(default_factory=dict)
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    owner: OwnerRef | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    eligible_nodes: frozenset[str] | None = None
    phase: str = "Running"
    terminating: bool = False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def workload(self) -> str:
        """The pod's workload: its controlling owner, or the pod itself when it has none."""
        if self.owner is None:
            return f"{self.namespace}/Pod/{self.name}"
        return f"{self.namespace}/{self.owner.kind}/{self.owner.name}"


def selector_matches(selector: v1alpha1.LabelSelector, labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics; an empty selector selects everything.

    >>> sel = v1alpha1.LabelSelector(match_labels={"pool": "gpu"})
    >>> selector_matches(sel, {"pool": "gpu", "zone": "a"}), selector_matches(sel, {"pool": "cpu"})
    (True, False)
    """
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    for req in selector.match_expressions:
        present = req.key in labels
        value = labels.get(req.key)
        ok = {
            "In": present and value in req.values,
            "NotIn": not present or value not in req.values,
            "Exists": present,
            "DoesNotExist": not present,
        }[req.operator]
        if not ok:
            return False
    return True
