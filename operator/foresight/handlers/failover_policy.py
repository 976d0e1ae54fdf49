"""kopf handlers for ``FailoverPolicy``: predict node failures, taint at-risk nodes, evict pods in time.

A per-policy daemon runs ``reconcile`` every tick: it observes nodes, leases, pods and
PodDisruptionBudgets, forecasts each node's Prometheus signals (one batched call per signal), asks
the pure planner (:mod:`foresight.planning.failover`) for risks and actions, and applies them unless
the policy is in dryRun. Taints carry the node's resourceVersion (no lost updates); evictions go
through the eviction API, so PodDisruptionBudgets hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
import numpy as np
from pydantic import ValidationError

from foresight import forecasting, logs
from foresight.api import GROUP
from foresight.api.v1alpha1 import (
    VERSION,
    FailoverPolicySpec,
    FailoverPolicyStatus,
    LabelSelector,
    failover_policy,
    parse_duration,
)
from foresight.handlers import _events as events
from foresight.handlers import telemetry
from foresight.handlers._status import condition_setter, describe, every_tick, iso
from foresight.handlers.predictive_scaler import Runtime
from foresight.kube import client as kube
from foresight.metrics import MetricSourceError
from foresight.planning import failover as fo

PLURAL = failover_policy.PLURAL
RECENT_ACTIONS = 20
# Node signals fail by drift (a leak, a filling disk), often on a node minutes old: Holt-Winters'
# damped trend extrapolates a drift from a few readings, where the load models (tuned for request
# rates that return to a daily level) forecast a return to the recent level.
SIGNAL_MODEL = "holt-winters"
SIGNAL_HORIZON_STEPS = 30
# Set with the NoSchedule taint, removed with it: when this node was escalated (paces cooldownSeconds).
ESCALATED_ANNOTATION = "foresight.dev/escalated-at"
log = logs.get(__name__)


@dataclass
class FailoverMemory:
    """What the failover loop keeps between ticks; none of it is needed to resume after a restart.

    Each node's failure history is stored on the node (:data:`fo.FAILURE_HISTORY_ANNOTATION`) and read
    back every tick; ``seen_ready`` only lets a node that fails right after joining count as failed, and
    in dryRun (which writes nothing) ``histories`` holds what active mode would have written.
    """

    seen_ready: set[str] = field(default_factory=set)
    histories: dict[str, fo.FailureHistory] = field(default_factory=dict)
    prior: fo.FailurePrior | None = None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def label_selector_string(selector: LabelSelector) -> str:
    """The API's string form of the equality part of a selector (expressions are checked in the planner).

    >>> label_selector_string(LabelSelector(match_labels={"pool": "general", "zone": "a"}))
    'pool=general,zone=a'
    """
    return ",".join(f"{k}={v}" for k, v in sorted(selector.match_labels.items()))


def observe_node(node: dict[str, Any], lease: dict[str, Any] | None) -> fo.NodeObservation:
    """A node object (and its lease) as the planner sees it, without its failure history yet."""
    meta, spec, status = node["metadata"], node.get("spec", {}), node.get("status", {})
    conditions = tuple(
        fo.NodeCondition(c["type"], c["status"], _time(c.get("lastTransitionTime")))
        for c in status.get("conditions") or []
    )
    lease_spec = (lease or {}).get("spec", {})
    return fo.NodeObservation(
        name=meta["name"],
        labels=meta.get("labels") or {},
        conditions=conditions,
        lease_renew_time=_time(lease_spec.get("renewTime")),
        lease_duration_seconds=float(lease_spec.get("leaseDurationSeconds") or 40),
        taints=tuple(fo.Taint(t["key"], t["effect"], t.get("value", "")) for t in spec.get("taints") or []),
        unschedulable=bool(spec.get("unschedulable")),
        created=_time(meta.get("creationTimestamp")),
    )


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


async def _failure_history(
    memory: FailoverMemory, node: dict[str, Any], observed: fo.NodeObservation, now: datetime, dry_run: bool
) -> tuple[fo.FailureHistory, dict[str, Any]]:
    """The node's failure history after this look, written back to the node (not in dryRun).

    Returns the history and the node object as it now is (a write bumps its resourceVersion).
    """
    name = observed.name
    stored = fo.decode_failure_history(
        (node["metadata"].get("annotations") or {}).get(fo.FAILURE_HISTORY_ANNOTATION)
    )
    known = memory.histories.get(name, stored) if dry_run else stored
    history = fo.update_failure_history(known, observed, now, seen_ready=name in memory.seen_ready)
    if observed.ready:
        memory.seen_ready.add(name)
    if dry_run:
        memory.histories[name] = history
        return history, node
    # An empty history is not written: the annotation appears with a node's first failure.
    patch = history_patch(node, history) if history.failures or stored.failures else None
    if patch is None:
        return history, node
    try:
        return history, await asyncio.to_thread(kube.patch_node, name, patch)
    except kube.Conflict:
        return history, node  # the node changed under us: the next tick reads it again and retries
    except kube.NotFound:
        return history, node


def observe_pod(pod: dict[str, Any], namespace_labels: Mapping[str, Mapping[str, str]]) -> fo.PodObservation:
    """A pod object as the planner sees it."""
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
    """A PodDisruptionBudget with the disruptions its controller currently allows."""
    selector = pdb.get("spec", {}).get("selector") or {}
    return fo.DisruptionBudget(
        namespace=pdb["metadata"]["namespace"],
        name=pdb["metadata"]["name"],
        selector=LabelSelector.model_validate(selector),
        disruptions_allowed=int((pdb.get("status") or {}).get("disruptionsAllowed", 0)),
    )


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


def _escalated_at(node: dict[str, Any] | None) -> datetime | None:
    """When Foresight escalated this node (its ``NoSchedule`` taint's annotation), if it did.

    >>> _escalated_at({"metadata": {"annotations": {"foresight.dev/escalated-at": "edited by hand"}}}) is None
    True
    """
    annotations = ((node or {}).get("metadata") or {}).get("annotations") or {}
    try:
        return _time(annotations.get(ESCALATED_ANNOTATION))
    except ValueError:
        return None  # edited by hand: the policy's status still holds the time


def last_escalation(status_time: str | None, nodes: list[dict[str, Any]]) -> datetime | None:
    """When a node was last escalated: the later of the policy's status and the nodes' own record.

    >>> n = {"metadata": {"annotations": {"foresight.dev/escalated-at": "2025-01-01T00:05:00Z"}}}
    >>> last_escalation("2025-01-01T00:00:00Z", [n, {"metadata": {}}]).minute
    5
    """
    times = [_time(status_time), *(_escalated_at(node) for node in nodes)]
    return max((t for t in times if t is not None), default=None)


async def _signal_paths(
    runtime: Runtime, spec: FailoverPolicySpec, now: datetime
) -> tuple[dict[str, dict[str, np.ndarray]], list[str]]:
    """Sampled future paths per node and signal; problems are returned as messages, not raised."""
    horizon = parse_duration(spec.horizon)
    step = max(15, int(horizon.total_seconds() // SIGNAL_HORIZON_STEPS))
    history = max(horizon * 8, timedelta(hours=1))
    # Node signals come from the operator's own Prometheus, with its token and CA bundle.
    client = runtime.prometheus.get()
    end = datetime.fromtimestamp(now.timestamp() // step * step, tz=UTC)
    paths: dict[str, dict[str, np.ndarray]] = {}
    problems: list[str] = []
    for signal in spec.signals:
        try:
            series = await asyncio.to_thread(client.range, signal.query, end - history, end, step)
        except MetricSourceError as exc:
            problems.append(f"signal {signal.name}: {exc}")
            continue
        per_node: dict[str, forecasting.Series] = {}
        for s in series:
            node = s.labels.get(signal.node_label)
            finite = np.flatnonzero(np.isfinite(s.values))
            if node is None or not finite.size:
                continue
            start = s.start + timedelta(seconds=int(finite[0]) * s.step_seconds)
            per_node[node] = forecasting.Series(
                s.values[finite[0] :], start, s.step_seconds, item_id=f"{node}/{signal.name}"
            )
        if not per_node:
            problems.append(f"signal {signal.name}: no series with a {signal.node_label!r} label")
            continue
        samples = await asyncio.gather(
            *(runtime.batcher.sample(SIGNAL_MODEL, s, SIGNAL_HORIZON_STEPS, 100) for s in per_node.values())
        )
        for node, (sample, _model) in zip(per_node, samples, strict=True):
            paths.setdefault(node, {})[signal.name] = sample
    return paths, problems


async def reconcile(
    runtime: Runtime,
    memory: FailoverMemory,
    *,
    name: str,
    namespace: str,
    body: dict[str, Any],
    now: datetime,
) -> FailoverPolicyStatus:
    """One pass: observe, assess every selected node, plan, act (unless dryRun), report."""
    try:
        old = FailoverPolicyStatus.model_validate(body.get("status") or {})
    except ValidationError:
        old = FailoverPolicyStatus()
    status = old.model_copy(deep=True)
    generation = body.get("metadata", {}).get("generation")
    status.observed_generation = generation

    condition = condition_setter(status, now, generation)

    try:
        spec = FailoverPolicySpec.model_validate(body.get("spec") or {})
    except ValidationError as exc:
        condition("Ready", "False", "InvalidSpec", describe(exc))
        return status
    if memory.prior is None:
        memory.prior = await asyncio.to_thread(
            fo.FailurePrior.load, runtime.settings.model_dir / fo.PRIOR_DIR
        )

    nodes_raw, leases, pods_raw, pdbs_raw, namespaces = await asyncio.gather(
        asyncio.to_thread(kube.list_nodes, label_selector_string(spec.node_selector)),
        asyncio.to_thread(kube.list_leases),
        asyncio.to_thread(kube.list_pods),
        asyncio.to_thread(kube.list_pdbs),
        asyncio.to_thread(kube.list_namespaces),
    )
    lease_of = {lease["metadata"]["name"]: lease for lease in leases}
    namespace_labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in namespaces}
    node_objects = {n["metadata"]["name"]: n for n in nodes_raw}
    histories: dict[str, fo.FailureHistory] = {}
    nodes = []
    for raw in nodes_raw:
        observed = observe_node(raw, lease_of.get(raw["metadata"]["name"]))
        if not fo.selector_matches(spec.node_selector, observed.labels):
            continue
        history, node_objects[observed.name] = await _failure_history(
            memory, raw, observed, now, spec.mode == "dryRun"
        )
        histories[observed.name] = history
        nodes.append(replace(observed, not_ready_transitions=history.not_ready_transitions))
    pods = [observe_pod(p, namespace_labels) for p in pods_raw]
    pdbs = [observe_pdb(p) for p in pdbs_raw]

    signal_paths, problems = await _signal_paths(runtime, spec, now)
    if problems:
        condition("Degraded", "True", "SignalUnavailable", "; ".join(problems)[:2000])
    else:
        condition("Degraded", "False", "SignalsHealthy", "every signal answered")

    risks = {
        node.name: fo.assess_node(
            spec,
            node,
            signal_paths.get(node.name, {}),
            histories[node.name],
            now,
            prior=memory.prior,
        )
        for node in nodes
    }
    selected = [node_objects[n.name] for n in nodes]
    plan = fo.plan_actions(
        spec, risks, nodes, pods, pdbs, last_escalation(status.last_escalation_time, selected), now
    )
    records = []
    for action in plan:
        record = await _apply(action, spec, node_objects, body, namespace, name, now)
        records.append(record.to_record(now))
        if action.kind == "taint" and action.effect == "NoSchedule":
            status.last_escalation_time = iso(now)
    status.recent_actions = (
        [*records, *status.recent_actions][:RECENT_ACTIONS] if records else status.recent_actions
    )

    watch_below = spec.untaint_probability
    shown = [
        r.to_status(fo.node_state(spec, n, pods), since=_escalated_at(node_objects.get(n.name)))
        for n in nodes
        if (r := risks[n.name]).failure_probability >= watch_below
        or fo.node_state(spec, n, pods) != "watching"
    ]
    status.nodes_at_risk = sorted(shown, key=lambda r: -r.failure_probability)
    status.last_evaluation = iso(now)
    for node in nodes:
        telemetry.node_failure_probability.labels(node.name).set(risks[node.name].failure_probability)
    at_risk = sum(r.failure_probability >= spec.failure_probability_threshold for r in risks.values())
    telemetry.nodes_at_risk.labels(namespace, name).set(at_risk)
    summary = f"{len(nodes)} node(s) watched, {at_risk} at risk, {len(plan)} action(s)"
    condition("Ready", "True", "DryRun" if spec.mode == "dryRun" else "Evaluated", summary)
    return status


async def _apply(
    action: fo.Action,
    spec: FailoverPolicySpec,
    node_objects: dict[str, dict[str, Any]],
    body: dict[str, Any],
    namespace: str,
    name: str,
    now: datetime,
) -> fo.Action:
    """Carry out one planned action (not in dryRun); returns the action as it really went."""
    telemetry.failover_actions.labels(namespace, name, action.kind).inc()
    if action.dry_run or action.kind == "skip":
        return action
    if action.kind in ("taint", "untaint"):
        for _ in range(3):
            node = node_objects.get(action.node)
            if node is None:
                node = await asyncio.to_thread(kube.get_node, action.node)
            patch = taint_patch(
                node,
                spec.actions.taint_key,
                str(action.effect),
                action.kind == "taint",
                escalated_at=iso(now),
            )
            if patch is None:
                return action
            try:
                updated = await asyncio.to_thread(kube.patch_node, action.node, patch)
                node_objects[action.node] = updated
                events.info(_node_ref(action.node), "ForesightTaint", f"{action.kind}: {action.reason}")
                return action
            except kube.Conflict:
                node_objects[action.node] = next(
                    n
                    for n in await asyncio.to_thread(kube.list_nodes, "")
                    if n["metadata"]["name"] == action.node
                )
        return fo.Action("skip", action.node, "node kept changing; retrying next tick")
    if action.kind == "evict" and action.pod:
        pod_namespace, pod_name = action.pod.split("/", 1)
        try:
            await asyncio.to_thread(kube.evict, pod_namespace, pod_name)
            events.info(body, "Evicted", f"pod {action.pod} from {action.node}: {action.reason}")
        except kube.TooManyRequests as exc:
            events.warn(body, "EvictionBlocked", f"pod {action.pod}: {exc}")
            return fo.Action("eviction-blocked", action.node, f"eviction API refused: {exc}", pod=action.pod)
        except kube.NotFound:
            return fo.Action("skip", action.node, "pod already gone", pod=action.pod)
    if action.kind == "eviction-blocked":
        events.warn(body, "EvictionBlocked", f"pod {action.pod}: {action.reason}")
    return action


def _node_ref(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "namespace": "default", "uid": name},
    }


# --- kopf registration -------------------------------------------------------------------------


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=10.0)
async def policy_daemon(
    *,
    stopped: kopf.DaemonStopped,
    name: str,
    namespace: str | None,
    body: kopf.Body,
    memo: kopf.Memo,
    **_: Any,
) -> None:
    """Evaluate every tick until the policy is deleted or the operator stops."""
    assert namespace is not None, "Foresight resources are namespaced"
    runtime: Runtime = memo.runtime
    memory = FailoverMemory()
    await every_tick(
        stopped,
        runtime.settings.tick_seconds,
        PLURAL,
        namespace,
        name,
        lambda now: reconcile(runtime, memory, name=name, namespace=namespace, body=dict(body), now=now),
    )


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def policy_deleted(*, name: str, namespace: str | None, body: kopf.Body, **_: Any) -> None:
    """Remove Foresight's taints from the nodes this policy tainted, so nothing stays half-done."""
    assert namespace is not None, "Foresight resources are namespaced"
    try:
        spec = FailoverPolicySpec.model_validate(body.get("spec") or {})
    except ValidationError:
        return
    for node in await asyncio.to_thread(kube.list_nodes, label_selector_string(spec.node_selector)):
        for effect in ("PreferNoSchedule", "NoSchedule"):
            patch = taint_patch(node, spec.actions.taint_key, effect, add=False)
            if patch is not None:
                try:
                    node = await asyncio.to_thread(kube.patch_node, node["metadata"]["name"], patch)
                except kube.Conflict as exc:
                    raise kopf.TemporaryError(
                        f"node {node['metadata']['name']} changed; retrying", delay=2
                    ) from exc
    telemetry.nodes_at_risk.labels(namespace, name).set(0)
