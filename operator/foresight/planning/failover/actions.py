"""The failover response (:func:`plan_actions`): taints and evictions under the spec's safety rails.

At most ``maxNodesAtOnce`` nodes draining, a cooldown between new nodes, never fewer than
``minHealthyNodes`` healthy selected nodes, never the last healthy node a workload can run on,
PodDisruptionBudgets respected (:mod:`foresight.planning.failover.budget`), DaemonSet and mirror pods left
alone. A node at risk only by its disks (days ahead, :mod:`foresight.planning.failover.disk`) is drained
at a slower pace: no sooner than ``diskHealth.cooldownSeconds`` after the last drain of any cause, and
only inside ``actions.window`` if one is set. No I/O and no clock here: the controller passes ``now`` and
the observed state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from foresight.api import v1alpha1
from foresight.api.v1alpha1.failover_policy import FailoverPolicySpec
from foresight.planning.failover._timestamps import iso
from foresight.planning.failover.budget import DisruptionBudget, PdbBudget
from foresight.planning.failover.disk import DiskRisk, in_window
from foresight.planning.failover.observations import (
    NodeObservation,
    NodeState,
    PodObservation,
    TaintEffect,
    selector_matches,
)
from foresight.planning.failover.risk import NodeRiskAssessment

__all__ = ["MIRROR_ANNOTATION", "Action", "ActionKind", "escalation_held_back", "node_state", "plan_actions"]

ActionKind = Literal["taint", "untaint", "evict", "eviction-blocked", "skip"]
# Static pods the kubelet runs from files carry this annotation on their API mirror; they cannot be evicted.
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


@dataclass(frozen=True)
class Action:
    """One step of the plan: a taint change, an eviction, or why something was not done.

    ``dry_run`` marks a plan computed in ``dryRun`` mode: report it, change nothing.
    """

    kind: ActionKind
    node: str
    reason: str
    effect: TaintEffect | None = None
    taint_key: str | None = None
    pod: str | None = None
    dry_run: bool = False

    def to_record(self, now: datetime) -> v1alpha1.ActionRecord:
        what = {"taint": f"{self.taint_key}:{self.effect}", "untaint": f"{self.taint_key}:{self.effect}"}
        detail = " ".join(
            x
            for x in (
                "[dryRun]" if self.dry_run else "",
                what.get(self.kind, ""),
                f"pod {self.pod}" if self.pod else "",
                self.reason,
            )
            if x
        )
        return v1alpha1.ActionRecord(time=iso(now), node=self.node, action=self.kind, detail=detail[:2048])


def node_state(spec: FailoverPolicySpec, node: NodeObservation, pods: Sequence[PodObservation]) -> NodeState:
    """Where the node stands in the taint -> drain sequence (for ``NodeRisk.state``)."""
    effects = _our_effects(spec, node)
    if "NoSchedule" in effects:
        remaining = [p for p in pods if p.node_name == node.name and _evictable(spec, p)]
        return "draining" if remaining else "drained"
    return "tainted" if effects else "watching"


def escalation_held_back(
    spec: FailoverPolicySpec, node: str, nodes: Sequence[NodeObservation], pods: Sequence[PodObservation]
) -> str | None:
    """Why ``node`` may not take the ``NoSchedule`` taint now, or ``None`` when the rails let it.

    :func:`plan_actions` decides on what a tick read, and the taint is written later: by then a release it
    planned may have failed to write, or another policy's loop (same taint key, overlapping nodes) may have
    escalated a node. So the controller asks again, on nodes and pods read right before the write, with
    escalations serialized: each one counts every escalation written before it. The counts are the plan's:
    nodes draining (our ``NoSchedule`` and evictable pods left, when ``actions.evict`` is on) against
    ``maxNodesAtOnce``, and healthy selected nodes against ``minHealthyNodes``.
    """
    target = next((n for n in nodes if n.name == node), None)
    if target is None:
        return f"node {node} is no longer listed"
    others = [n for n in nodes if n.name != node and selector_matches(spec.node_selector, n.labels)]
    hard = {n.name for n in others if "NoSchedule" in _our_effects(spec, n)}
    pods_left_on = {p.node_name for p in pods if _evictable(spec, p)}
    draining = sorted(hard & pods_left_on) if spec.actions.evict else []
    if len(draining) >= spec.actions.max_nodes_at_once:
        return f"maxNodesAtOnce={spec.actions.max_nodes_at_once} reached ({', '.join(draining)})"
    healthy_left = sum(n.ready and not n.unschedulable and n.name not in hard for n in others)
    least = spec.actions.min_healthy_nodes
    healthy = target.ready and not target.unschedulable and "NoSchedule" not in _our_effects(spec, target)
    if healthy and healthy_left < least:
        return f"would leave {healthy_left} healthy node(s) < minHealthyNodes={least}"
    return None


def plan_actions(
    spec: FailoverPolicySpec,
    risks: Mapping[str, NodeRiskAssessment] | Sequence[NodeRiskAssessment],
    nodes: Sequence[NodeObservation],
    pods: Sequence[PodObservation],
    pdb_state: Sequence[DisruptionBudget],
    last_action_time: datetime | None,
    now: datetime,
) -> list[Action]:
    """The taints, untaints and evictions to do now, and a ``skip`` for each at-risk node held back.

    Sequence per node: ``PreferNoSchedule`` as soon as it is at risk (harmless, no budget), then
    ``NoSchedule`` plus evictions once the rails allow. ``last_action_time`` is when the last *new* node was
    escalated (in dryRun too, so that the reported plan paces like the real one).
    """
    risk_of = _risk_map(risks)
    disk_of = _disk_map(risks)
    values = risks.values() if isinstance(risks, Mapping) else risks
    unestimated_of = {r.node: r.unestimated for r in values}
    threshold = spec.failure_probability_threshold
    release_below = spec.untaint_probability
    key = spec.actions.taint_key
    dry_run = spec.mode == "dryRun"
    selected = [n for n in nodes if selector_matches(spec.node_selector, n.labels)]
    by_name = {n.name: n for n in nodes}
    pods_on: dict[str, list[PodObservation]] = {}
    for pod in pods:
        if pod.node_name is not None:
            pods_on.setdefault(pod.node_name, []).append(pod)

    actions: list[Action] = []

    def act(kind: ActionKind, node: str, reason: str, **kw: object) -> None:
        actions.append(Action(kind, node, reason, dry_run=dry_run, **kw))  # type: ignore[arg-type]

    # Nodes whose NoSchedule taint stays after this plan (and so are not healthy capacity).
    hard: set[str] = set()
    released: set[str] = set()
    for node in selected:
        effects = _our_effects(spec, node)
        if not effects:
            continue
        p = risk_of.get(node.name)
        disk = disk_of.get(node.name)
        missing = unestimated_of.get(node.name, ())
        # Unknown risk (no data this round) holds the current state rather than releasing the node; so
        # does a risk without one of its signals (only a lower bound), and a disk risk not yet below its
        # own release level.
        if p is not None and p < release_below and not (disk is not None and disk.holds):
            why = f"risk {p:.2f} < {release_below:.2f}"
            if not missing:
                for effect in sorted(effects):
                    act("untaint", node.name, why, effect=effect, taint_key=key)
                released.add(node.name)
                continue
            act("skip", node.name, f"{why} without {', '.join(missing)}: no estimate this round, taint kept")
        if "NoSchedule" in effects:
            hard.add(node.name)

    def healthy(name: str) -> bool:
        node = by_name[name]
        return node.ready and not node.unschedulable and name not in hard

    budget = PdbBudget(pdb_state)
    # Continue draining nodes already escalated (hysteresis: between the two levels, state holds).
    draining: list[str] = []
    for node in selected:
        if node.name not in hard:
            continue
        remaining = [p for p in pods_on.get(node.name, []) if _evictable(spec, p)]
        if remaining and spec.actions.evict:
            draining.append(node.name)
            actions.extend(_evictions(node.name, remaining, budget, dry_run, "draining at-risk node"))

    free_slots = spec.actions.max_nodes_at_once - len(draining)
    cooldown = timedelta(seconds=spec.actions.cooldown_seconds)
    cooldown_until = None if last_action_time is None else last_action_time + cooldown
    # Disk drains: one per diskHealth.cooldownSeconds, counted from the last drain of any cause.
    disk_cooldown = timedelta(seconds=spec.disk_health.cooldown_seconds if spec.disk_health else 0)
    disk_until = None if last_action_time is None else last_action_time + disk_cooldown
    healthy_count = sum(healthy(n.name) for n in selected)

    def urgent(name: str) -> bool:
        return risk_of.get(name, 0.0) >= threshold

    def disk_p(name: str) -> float:
        disk = disk_of.get(name)
        return disk.probability if disk is not None and disk.alarm else 0.0

    # Minute-scale risks first, riskiest first; nodes at risk only by their disks after them.
    at_risk = sorted(
        (n for n in selected if n.name not in hard and (urgent(n.name) or disk_p(n.name) > 0)),
        key=lambda n: (not urgent(n.name), -risk_of.get(n.name, 0.0), -disk_p(n.name), n.name),
    )
    for node in at_risk:
        p = risk_of.get(node.name, 0.0)
        disk = None if urgent(node.name) else disk_of.get(node.name)
        why = f"risk {p:.2f} >= {threshold:.2f}" if disk is None else _disk_why(disk)
        effects = _our_effects(spec, node)
        if spec.actions.taint and "PreferNoSchedule" not in effects:
            act("taint", node.name, why, effect="PreferNoSchedule", taint_key=key)
        if not (spec.actions.taint or spec.actions.evict):
            act("skip", node.name, "actions.taint and actions.evict are both off: report only")
            continue
        if free_slots <= 0:
            busy = ", ".join(draining) or "nodes escalated in this plan"
            act("skip", node.name, f"maxNodesAtOnce={spec.actions.max_nodes_at_once} reached ({busy})")
            continue
        if cooldown_until is not None and now < cooldown_until:
            wait = (cooldown_until - now).total_seconds()
            act("skip", node.name, f"cooldown: next node in {wait:.0f}s")
            continue
        if disk is not None and not in_window(spec.actions.window, now):
            act("skip", node.name, f"{why}: outside actions.window, the drain waits for it")
            continue
        if disk is not None and disk_until is not None and now < disk_until:
            wait = (disk_until - now).total_seconds()
            act("skip", node.name, f"{why}: diskHealth.cooldownSeconds, next disk drain in {wait:.0f}s")
            continue
        was_healthy = healthy(node.name)
        if was_healthy and healthy_count - 1 < spec.actions.min_healthy_nodes:
            act(
                "skip",
                node.name,
                f"would leave {healthy_count - 1} healthy node(s) < minHealthyNodes="
                f"{spec.actions.min_healthy_nodes}",
            )
            continue
        evictable = [pod for pod in pods_on.get(node.name, []) if _evictable(spec, pod)]
        stranded = _stranded_workloads(node.name, evictable, nodes, healthy)
        if stranded:
            act("skip", node.name, f"last healthy node for {', '.join(stranded)}")
            continue
        # Escalate: new pods stay off, running pods leave while the node still works.
        if spec.actions.taint:
            act("taint", node.name, f"{why}: drain", effect="NoSchedule", taint_key=key)
        if spec.actions.evict:
            evict_why = f"risk {p:.2f}" if disk is None else f"disk risk {disk.probability:.2f}"
            actions.extend(_evictions(node.name, evictable, budget, dry_run, evict_why))
        hard.add(node.name)
        if was_healthy:
            healthy_count -= 1
        free_slots -= 1
        # One new node per cooldown period (the cooldown exists to watch the effect of each drain).
        if cooldown.total_seconds() > 0:
            cooldown_until = now + cooldown
        if disk_cooldown.total_seconds() > 0:
            disk_until = now + disk_cooldown
    return actions


def _disk_why(disk: DiskRisk) -> str:
    return f"disk risk {disk.probability:.2f} >= {disk.threshold:.2f} within {disk.horizon}"


def _evictions(
    node: str, pods: Sequence[PodObservation], budget: PdbBudget, dry_run: bool, why: str
) -> list[Action]:
    out = []
    for pod in sorted(pods, key=lambda p: p.key):
        blocker = budget.take(pod)
        if blocker is None:
            out.append(Action("evict", node, why, pod=pod.key, dry_run=dry_run))
        else:
            out.append(
                Action(
                    "eviction-blocked",
                    node,
                    f"PDB {blocker} allows no disruption",
                    pod=pod.key,
                    dry_run=dry_run,
                )
            )
    return out


def _stranded_workloads(
    node: str,
    pods: Sequence[PodObservation],
    nodes: Sequence[NodeObservation],
    healthy: Callable[[str], bool],
) -> list[str]:
    """Workloads on ``node`` with no other healthy node they can run on."""
    stranded = []
    seen: set[str] = set()
    for pod in pods:
        if pod.workload in seen:
            continue
        seen.add(pod.workload)
        candidates = [
            n
            for n in nodes
            if n.name != node
            and healthy(n.name)
            and (pod.eligible_nodes is None or n.name in pod.eligible_nodes)
            and all(n.labels.get(k) == v for k, v in pod.node_selector.items())
        ]
        if not candidates:
            stranded.append(pod.workload)
    return sorted(stranded)


def _evictable(spec: FailoverPolicySpec, pod: PodObservation) -> bool:
    """Pods the policy moves: selected, running, and not pinned to the node by design."""
    if pod.owner is not None and pod.owner.kind == "DaemonSet":
        return False  # the DaemonSet controller would recreate it on the same node
    if MIRROR_ANNOTATION in pod.annotations:
        return False  # static pods belong to the kubelet; the API cannot evict them
    if pod.terminating or pod.phase in ("Succeeded", "Failed"):
        return False
    return selector_matches(spec.pod_selector, pod.labels) and selector_matches(
        spec.namespace_selector, pod.namespace_labels
    )


def _our_effects(spec: FailoverPolicySpec, node: NodeObservation) -> set[str]:
    return {t.effect for t in node.taints if t.key == spec.actions.taint_key}


def _risk_map(
    risks: Mapping[str, NodeRiskAssessment] | Sequence[NodeRiskAssessment],
) -> dict[str, float]:
    values = risks.values() if isinstance(risks, Mapping) else risks
    return {r.node: r.failure_probability for r in values}


def _disk_map(
    risks: Mapping[str, NodeRiskAssessment] | Sequence[NodeRiskAssessment],
) -> dict[str, DiskRisk]:
    values = risks.values() if isinstance(risks, Mapping) else risks
    return {r.node: r.disk for r in values if r.disk is not None}
