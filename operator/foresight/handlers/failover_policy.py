"""kopf handlers for ``FailoverPolicy``: predict node failures, taint at-risk nodes, evict pods in time.

A per-policy daemon runs ``reconcile`` every tick, in three phases. Observe reads nodes, leases, pods and
PodDisruptionBudgets (:mod:`foresight.kube.nodes` turns them into planner observations) and forecasts each
node's Prometheus signals (one batched call per signal) and, with ``diskHealth``, reads each drive's SMART
counters (one query, every :data:`DISK_REFRESH`); it writes nothing. Decide asks the pure planner
(:mod:`foresight.planning.failover`) for risks and actions. Apply stores each node's failure history on
the node and carries out the actions, unless the policy is in dryRun. Writes carry the node's
resourceVersion (no lost updates); evictions go through the eviction API, so PodDisruptionBudgets hold.
Each NoSchedule escalation is checked against the rails again on nodes and pods read just before its write,
one escalation at a time in the process (:func:`_escalate`): the plan's reads are old by then.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
import numpy as np
from pydantic import ValidationError

from foresight import forecasting
from foresight.api import GROUP
from foresight.api.v1alpha1 import (
    VERSION,
    ActionRecord,
    DiskHealthSpec,
    FailoverPolicySpec,
    FailoverPolicyStatus,
    NodeSignal,
    failover_policy,
    parse_duration,
)
from foresight.config import Settings
from foresight.handlers import _events as events
from foresight.handlers import telemetry
from foresight.handlers._status import NotReady, SetCondition, condition_setter, describe, every_tick, iso
from foresight.handlers.runtime import Runtime
from foresight.kube import client as kube
from foresight.kube import nodes as kube_nodes
from foresight.metrics import MetricSourceError, SampledSeries
from foresight.planning import failover as fo
from foresight.planning.disk_health import DiskHealthModel, SmartReadings

PLURAL = failover_policy.PLURAL
RECENT_ACTIONS = 20
# Node signals fail by drift (a leak, a filling disk), often on a node minutes old: Holt-Winters'
# damped trend extrapolates a drift from a few readings, where the load models (tuned for request
# rates that return to a daily level) forecast a return to the recent level.
SIGNAL_MODEL = "holt-winters"
SIGNAL_HORIZON_STEPS = 30
"""Forecast steps across the policy's horizon: a crossing is placed to within a thirtieth of it (10 s of
a 5-minute horizon), and all nodes' paths of one signal stay one small batched call."""
MIN_SIGNAL_STEP_SECONDS = 15
"""No finer step than this, however short the horizon: node exporters are seldom scraped more often, and
a finer grid would only repeat the same readings."""
SIGNAL_HISTORY_HORIZONS = 8
"""History read per signal, in horizons: several horizons of drift for the trend to extrapolate from."""
MIN_SIGNAL_HISTORY = timedelta(hours=1)
"""At least this much history, so that a short horizon still sees a drift that builds over tens of minutes."""
SIGNAL_SAMPLES = 100
"""Sample paths per node and signal: a crossing probability to the nearest 1 %."""
DISK_REFRESH = timedelta(minutes=10)
"""How often drives' SMART counters are read again: they move over days (smartctl_exporter itself reads
the drives every couple of minutes), and the disk cause looks days ahead."""
DISK_KEEP = timedelta(days=1)
"""How long the last readings stand in while Prometheus cannot be read (the failure is reported)."""
DISK_STEP_SECONDS = 86400
"""One reading per drive and day, as the disk-health model was fitted (Backblaze's daily drive stats)."""

DriveReadings = dict[str, tuple[SmartReadings, ...]]
"""Each node's drives' SMART readings, by node name."""


@dataclass(frozen=True)
class DiskRead:
    """The last good read of the drives: what was asked (query and labels), when, and the answer."""

    asked: tuple[str, ...]
    read_at: datetime
    drives: DriveReadings


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
    disk_model: DiskHealthModel | None = None
    disk: DiskRead | None = None


@dataclass
class _Observed:
    """What one pass saw of the cluster, as the planner takes it."""

    node_objects: dict[str, dict[str, Any]]  # every listed node by name, as last read or written
    nodes: list[fo.NodeObservation] = field(default_factory=list)  # the selected ones, with their history
    stored: dict[str, fo.FailureHistory] = field(default_factory=dict)  # each one's history as on the node
    histories: dict[str, fo.FailureHistory] = field(default_factory=dict)  # ... and after this look
    pods: list[fo.PodObservation] = field(default_factory=list)
    pdbs: list[fo.DisruptionBudget] = field(default_factory=list)
    signal_paths: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # node -> signal -> paths
    problems: list[str] = field(default_factory=list)  # signals that could not be read or forecast


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
    status = _status_of(body)
    status.observed_generation = body.get("metadata", {}).get("generation")
    condition = condition_setter(status, now, status.observed_generation)
    try:
        _check_namespace(runtime.settings, namespace)
        spec = _validate(body)
        disk_model = await _disk_model(runtime, memory, spec)
    except NotReady as exc:
        condition("Ready", "False", exc.reason, str(exc))
        return status
    if memory.prior is None:
        memory.prior = await asyncio.to_thread(
            fo.FailurePrior.load, runtime.settings.model_dir / fo.PRIOR_DIR
        )
    seen = await _observe(runtime, memory, spec, now)
    risks, plan = _decide(spec, seen, memory.prior, status.last_escalation_time, now, disk_model=disk_model)
    await _store_histories(memory, seen, dry_run=spec.mode == "dryRun")
    records = await _apply_plan(runtime, plan, spec, seen, body, status, namespace, name, now)
    if records:
        status.recent_actions = [*records, *status.recent_actions][:RECENT_ACTIONS]
    _report(status, spec, seen, risks, len(plan), condition, namespace, name, now)
    return status


async def _apply_plan(
    runtime: Runtime,
    plan: list[fo.Action],
    spec: FailoverPolicySpec,
    seen: _Observed,
    body: dict[str, Any],
    status: FailoverPolicyStatus,
    namespace: str,
    name: str,
    now: datetime,
) -> list[ActionRecord]:
    """Carry out ``plan`` in order; a node whose escalation is refused at write time loses its evictions."""
    records = []
    held_back: set[str] = set()
    for action in plan:
        if action.pod is not None and action.node in held_back:
            continue
        done = await _apply(action, spec, seen.node_objects, body, namespace, name, now, runtime.escalations)
        records.append(done.to_record(now))
        if action.kind == "taint" and action.effect == "NoSchedule":
            if done.kind == "skip":
                held_back.add(action.node)
            else:
                status.last_escalation_time = iso(now)
    return records


# --- observe (reads only) ----------------------------------------------------------------------


def _status_of(body: dict[str, Any]) -> FailoverPolicyStatus:
    try:
        return FailoverPolicyStatus.model_validate(body.get("status") or {})
    except ValidationError:
        return FailoverPolicyStatus()


def _check_namespace(settings: Settings, namespace: str) -> None:
    """Refuse a policy outside the namespaces the operator acts on for FailoverPolicies: its taints and
    evictions would reach every namespace, so a tenant must not be able to ask for them."""
    if not settings.failover_allowed(namespace):
        allowed = ", ".join(settings.failover_namespaces) or "none"
        raise NotReady(
            "NamespaceNotAllowed",
            f"FailoverPolicies are acted on only in these namespaces: {allowed} (the operator's "
            f"FORESIGHT_FAILOVER_NAMESPACES, chart value failover.namespaces); this one is in {namespace}, "
            "so it reads no signal and taints or evicts nothing",
        )


def _validate(body: dict[str, Any]) -> FailoverPolicySpec:
    try:
        return FailoverPolicySpec.model_validate(body.get("spec") or {})
    except ValidationError as exc:
        raise NotReady("InvalidSpec", describe(exc)) from exc


async def _disk_model(
    runtime: Runtime, memory: FailoverMemory, spec: FailoverPolicySpec
) -> DiskHealthModel | None:
    """The shipped disk-health model (loaded once) when the spec asks for the disk cause, else ``None``;
    a horizon the model has no threshold for, and the spec gives none, is an invalid spec."""
    if spec.disk_health is None:
        return None
    if memory.disk_model is None:
        directory = runtime.settings.model_dir / fo.DISK_MODEL_DIR
        memory.disk_model = await asyncio.to_thread(DiskHealthModel.load, directory)
    try:
        fo.disk_threshold(spec.disk_health, memory.disk_model)
    except ValueError as exc:
        raise NotReady("InvalidSpec", str(exc)) from exc
    return memory.disk_model


async def _observe(
    runtime: Runtime, memory: FailoverMemory, spec: FailoverPolicySpec, now: datetime
) -> _Observed:
    """Nodes (with each one's failure history after this look), pods, PDBs and signal forecasts."""
    nodes_raw, leases, pods_raw, pdbs_raw, namespaces = await asyncio.gather(
        asyncio.to_thread(kube.list_nodes, kube_nodes.label_selector_string(spec.node_selector)),
        asyncio.to_thread(kube.list_leases),
        asyncio.to_thread(kube.list_pods),
        asyncio.to_thread(kube.list_pdbs),
        asyncio.to_thread(kube.list_namespaces),
    )
    lease_of = {lease["metadata"]["name"]: lease for lease in leases}
    namespace_labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in namespaces}
    seen = _Observed(node_objects={n["metadata"]["name"]: n for n in nodes_raw})
    for raw in nodes_raw:
        observed = kube_nodes.observe_node(raw, lease_of.get(raw["metadata"]["name"]))
        if not fo.selector_matches(spec.node_selector, observed.labels):
            continue
        stored = kube_nodes.stored_failure_history(raw)
        # In dryRun nothing is written: the history active mode would have stored is kept in memory.
        known = memory.histories.get(observed.name, stored) if spec.mode == "dryRun" else stored
        seen_ready = observed.name in memory.seen_ready
        history = fo.update_failure_history(known, observed, now, seen_ready=seen_ready)
        seen.stored[observed.name], seen.histories[observed.name] = stored, history
        seen.nodes.append(replace(observed, not_ready_transitions=history.not_ready_transitions))
    seen.pods = [kube_nodes.observe_pod(p, namespace_labels) for p in pods_raw]
    seen.pdbs = [kube_nodes.observe_pdb(p) for p in pdbs_raw]
    seen.signal_paths, seen.problems = await _signal_paths(runtime, spec, now, [n.name for n in seen.nodes])
    if spec.disk_health is not None:
        drives, problems = await _drive_readings(runtime, memory, spec.disk_health, now)
        seen.nodes = [replace(n, drives=drives.get(n.name)) for n in seen.nodes]
        seen.problems.extend(problems)
    return seen


async def _signal_paths(
    runtime: Runtime, spec: FailoverPolicySpec, now: datetime, nodes: list[str]
) -> tuple[dict[str, dict[str, np.ndarray]], list[str]]:
    """Sampled future paths per node and signal; problems are returned as messages, not raised.

    A signal that fails, or has no series for some of ``nodes``, is a problem: those nodes have no estimate
    of it this round, and the planner holds their taint state rather than reading the gap as no risk.
    """
    horizon = parse_duration(spec.horizon)
    step = max(MIN_SIGNAL_STEP_SECONDS, int(horizon.total_seconds() // SIGNAL_HORIZON_STEPS))
    history = max(horizon * SIGNAL_HISTORY_HORIZONS, MIN_SIGNAL_HISTORY)
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
        per_node = _per_node(series, signal)
        if not per_node:
            problems.append(f"signal {signal.name}: no series with a {signal.node_label!r} label")
            continue
        if missing := [n for n in nodes if n not in per_node]:
            problems.append(f"signal {signal.name}: no series for node(s) {', '.join(missing)}")
        samples = await asyncio.gather(
            *(
                runtime.batcher.sample(SIGNAL_MODEL, s, SIGNAL_HORIZON_STEPS, SIGNAL_SAMPLES)
                for s in per_node.values()
            )
        )
        for node, (sample, _model) in zip(per_node, samples, strict=True):
            paths.setdefault(node, {})[signal.name] = sample
    return paths, problems


def _per_node(series: list[SampledSeries], signal: NodeSignal) -> dict[str, forecasting.Series]:
    """Each node's history of one signal, from its first reading on; series without the node label or a
    reading are left out."""
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
    return per_node


async def _drive_readings(
    runtime: Runtime, memory: FailoverMemory, disk: DiskHealthSpec, now: datetime
) -> tuple[DriveReadings, list[str]]:
    """Each node's drives' SMART readings over the last 30 days, read again every :data:`DISK_REFRESH`;
    while Prometheus fails, the last good readings stand in for up to :data:`DISK_KEEP`."""
    asked = (disk.query, disk.node_label, disk.drive_label, disk.attribute_label)
    last = memory.disk if memory.disk is not None and memory.disk.asked == asked else None
    if last is not None and now - last.read_at < DISK_REFRESH:
        return last.drives, []
    kept = last.drives if last is not None and now - last.read_at < DISK_KEEP else {}
    start = now - timedelta(days=fo.DISK_HISTORY_DAYS)
    try:
        client = runtime.prometheus.get()
        series = await asyncio.to_thread(client.range, disk.query, start, now, DISK_STEP_SECONDS)
    except MetricSourceError as exc:
        return kept, [f"diskHealth: {exc}"]
    drives = _per_drive(series, disk)
    if not drives:
        labels = f"{disk.node_label!r}, {disk.drive_label!r} and {disk.attribute_label!r}"
        return kept, [f"diskHealth: no series with {labels} labels and a reading now"]
    memory.disk = DiskRead(asked, now, drives)
    return drives, []


def _per_drive(series: list[SampledSeries], disk: DiskHealthSpec) -> DriveReadings:
    """Group the daily series by node, drive and attribute; one drive's attribute found in several series
    (an exporter pod that restarted, a backfill) is merged, the later series winning where both read."""
    grids: dict[str, dict[str, dict[int, np.ndarray]]] = {}
    for s in series:
        node, drive, attribute = (
            s.labels.get(k) for k in (disk.node_label, disk.drive_label, disk.attribute_label)
        )
        if node is None or drive is None or attribute is None or not attribute.isdigit():
            continue
        attributes = grids.setdefault(node, {}).setdefault(drive, {})
        known = attributes.get(int(attribute))
        attributes[int(attribute)] = (
            s.values if known is None else np.where(np.isnan(s.values), known, s.values)
        )
    out: DriveReadings = {}
    for node, drives in grids.items():
        readings = [fo.drive_readings({a: list(v) for a, v in drives[d].items()}) for d in sorted(drives)]
        if found := tuple(r for r in readings if r is not None):
            out[node] = found
    return out


# --- decide ------------------------------------------------------------------------------------


def _decide(
    spec: FailoverPolicySpec,
    seen: _Observed,
    prior: fo.FailurePrior,
    last_escalation_time: str | None,
    now: datetime,
    *,
    disk_model: DiskHealthModel | None = None,
) -> tuple[dict[str, fo.NodeRiskAssessment], list[fo.Action]]:
    """Each selected node's failure risk, and the planner's actions for them."""
    risks = {
        node.name: fo.assess_node(
            spec,
            node,
            seen.signal_paths.get(node.name, {}),
            seen.histories[node.name],
            now,
            prior=prior,
            disk_model=disk_model,
        )
        for node in seen.nodes
    }
    selected = [seen.node_objects[n.name] for n in seen.nodes]
    last_escalation = kube_nodes.last_escalation(last_escalation_time, selected)
    return risks, fo.plan_actions(spec, risks, seen.nodes, seen.pods, seen.pdbs, last_escalation, now)


# --- apply -------------------------------------------------------------------------------------


async def _store_histories(memory: FailoverMemory, seen: _Observed, *, dry_run: bool) -> None:
    """Keep each node's failure history after this look: on the node, or in memory in dryRun."""
    for node in seen.nodes:
        history = seen.histories[node.name]
        if node.ready:
            memory.seen_ready.add(node.name)
        if dry_run:
            memory.histories[node.name] = history
            continue
        # An empty history is not written: the annotation appears with a node's first failure.
        if not (history.failures or seen.stored[node.name].failures):
            continue
        patch = kube_nodes.history_patch(seen.node_objects[node.name], history)
        if patch is None:
            continue
        try:
            seen.node_objects[node.name] = await asyncio.to_thread(kube.patch_node, node.name, patch)
        except (kube.Conflict, kube.NotFound):
            pass  # the node changed or went under us: the next tick reads it again and retries


async def _apply(
    action: fo.Action,
    spec: FailoverPolicySpec,
    node_objects: dict[str, dict[str, Any]],
    body: dict[str, Any],
    namespace: str,
    name: str,
    now: datetime,
    escalations: asyncio.Lock,
) -> fo.Action:
    """Carry out one planned action (not in dryRun); returns the action as it really went."""
    telemetry.failover_actions.labels(namespace, name, action.kind).inc()
    if action.dry_run or action.kind == "skip":
        return action
    if action.kind == "taint" and action.effect == "NoSchedule":
        return await _escalate(action, spec, node_objects, now, escalations)
    if action.kind in ("taint", "untaint"):
        return await _set_taint(action, spec, node_objects, now)
    if action.kind == "evict" and action.pod:
        return await _evict(action, body)
    if action.kind == "eviction-blocked":
        events.warn(body, "EvictionBlocked", f"pod {action.pod}: {action.reason}")
    return action


async def _escalate(
    action: fo.Action,
    spec: FailoverPolicySpec,
    node_objects: dict[str, dict[str, Any]],
    now: datetime,
    escalations: asyncio.Lock,
) -> fo.Action:
    """``NoSchedule`` on one more node, only if the rails still allow it on nodes and pods read just now.

    The plan counted draining nodes on this tick's reads; before this write, a release planned in the same
    tick may have failed to write, or another policy's loop may have escalated a node. Under the lock this
    process escalates one node at a time, each after reading the cluster again, so each counts all before it.
    """
    async with escalations:
        nodes_raw, pods_raw, namespaces = await asyncio.gather(
            asyncio.to_thread(kube.list_nodes, kube_nodes.label_selector_string(spec.node_selector)),
            asyncio.to_thread(kube.list_pods),
            asyncio.to_thread(kube.list_namespaces),
        )
        namespace_labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in namespaces}
        held_back = fo.escalation_held_back(
            spec,
            action.node,
            [kube_nodes.observe_node(n, None) for n in nodes_raw],
            [kube_nodes.observe_pod(p, namespace_labels) for p in pods_raw],
        )
        if held_back is not None:
            return fo.Action("skip", action.node, f"{held_back}, checked again before tainting")
        node_objects.update({n["metadata"]["name"]: n for n in nodes_raw})
        return await _set_taint(action, spec, node_objects, now)


async def _set_taint(
    action: fo.Action, spec: FailoverPolicySpec, node_objects: dict[str, dict[str, Any]], now: datetime
) -> fo.Action:
    """Add or remove Foresight's taint on one node, re-reading the node on conflict."""
    add = action.kind == "taint"

    def patch_for(node: dict[str, Any]) -> dict[str, Any] | None:
        return kube_nodes.taint_patch(
            node, spec.actions.taint_key, str(action.effect), add, escalated_at=iso(now)
        )

    try:
        updated = await asyncio.to_thread(
            kube.patch_with_retry,
            lambda: kube.get_node(action.node),
            patch_for,
            lambda patch: kube.patch_node(action.node, patch),
            what=f"node {action.node}",
            known=node_objects.get(action.node),
        )
    except kube.KeptChanging:
        return fo.Action("skip", action.node, "node kept changing; retrying next tick")
    if updated is not None:
        node_objects[action.node] = updated
        events.info(kube_nodes.node_ref(action.node), "ForesightTaint", f"{action.kind}: {action.reason}")
    return action


async def _evict(action: fo.Action, body: dict[str, Any]) -> fo.Action:
    """Evict one pod through the eviction API, so PodDisruptionBudgets hold."""
    assert action.pod is not None
    pod_namespace, pod_name = action.pod.split("/", 1)
    try:
        await asyncio.to_thread(kube.evict, pod_namespace, pod_name)
    except kube.TooManyRequests as exc:
        events.warn(body, "EvictionBlocked", f"pod {action.pod}: {exc}")
        return fo.Action("eviction-blocked", action.node, f"eviction API refused: {exc}", pod=action.pod)
    except kube.NotFound:
        return fo.Action("skip", action.node, "pod already gone", pod=action.pod)
    events.info(body, "Evicted", f"pod {action.pod} from {action.node}: {action.reason}")
    return action


# --- report ------------------------------------------------------------------------------------


def _report(
    status: FailoverPolicyStatus,
    spec: FailoverPolicySpec,
    seen: _Observed,
    risks: dict[str, fo.NodeRiskAssessment],
    actions: int,
    condition: SetCondition,
    namespace: str,
    name: str,
    now: datetime,
) -> None:
    """Nodes at risk (or not merely watched), signal health, readiness, and the exported gauges."""
    if seen.problems:
        condition("Degraded", "True", "SignalUnavailable", "; ".join(seen.problems)[:2000])
    else:
        condition("Degraded", "False", "SignalsHealthy", "every signal answered")
    shown = []
    for node in seen.nodes:
        risk, state = risks[node.name], fo.node_state(spec, node, seen.pods)
        disk_holds = risk.disk is not None and risk.disk.holds
        if risk.failure_probability >= spec.untaint_probability or disk_holds or state != "watching":
            since = kube_nodes.escalated_at(seen.node_objects.get(node.name))
            shown.append(risk.to_status(state, since=since))
    status.nodes_at_risk = sorted(shown, key=lambda r: -r.failure_probability)
    status.last_evaluation = iso(now)
    for node in seen.nodes:
        telemetry.node_failure_probability.labels(node.name).set(risks[node.name].failure_probability)
    at_risk = sum(
        r.failure_probability >= spec.failure_probability_threshold or (r.disk is not None and r.disk.alarm)
        for r in risks.values()
    )
    telemetry.nodes_at_risk.labels(namespace, name).set(at_risk)
    summary = f"{len(seen.nodes)} node(s) watched, {at_risk} at risk, {actions} action(s)"
    condition("Ready", "True", "DryRun" if spec.mode == "dryRun" else "Evaluated", summary)


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
async def policy_deleted(
    *, name: str, namespace: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> None:
    """Remove Foresight's taints from the nodes this policy tainted, so nothing stays half-done.

    A policy in a namespace the operator does not act on never tainted anything, and its deletion removes
    nothing: otherwise deleting one that names another policy's taint key would lift that policy's taints.
    """
    assert namespace is not None, "Foresight resources are namespaced"
    runtime: Runtime = memo.runtime
    if not runtime.settings.failover_allowed(namespace):
        return
    try:
        spec = FailoverPolicySpec.model_validate(body.get("spec") or {})
    except ValidationError:
        return
    selector = kube_nodes.label_selector_string(spec.node_selector)
    for node in await asyncio.to_thread(kube.list_nodes, selector):
        await asyncio.to_thread(_remove_taints, node, spec.actions.taint_key)
    telemetry.nodes_at_risk.labels(namespace, name).set(0)


def _remove_taints(node: dict[str, Any], taint_key: str) -> None:
    """Both of Foresight's taints off one node; ``kube.KeptChanging`` (kopf retries) if it keeps changing."""
    node_name = node["metadata"]["name"]
    for effect in ("PreferNoSchedule", "NoSchedule"):
        updated = kube.patch_with_retry(
            lambda: kube.get_node(node_name),
            functools.partial(kube_nodes.taint_patch, key=taint_key, effect=effect, add=False),
            functools.partial(kube.patch_node, node_name),
            what=f"node {node_name}",
            known=node,
        )
        node = updated or node
