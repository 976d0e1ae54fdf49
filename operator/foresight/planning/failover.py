"""Pure failover decisions: node failure risk (:func:`assess_node`) and the response (:func:`plan_actions`).

Risk combines independent hazards, each with the probability it contributes and a readable reason:

* forecast: the share of a signal's sampled future paths that cross its threshold within the horizon;
* Kubernetes: node conditions weighted by the spec, a stale node lease, recent Ready flaps;
* prior: recurrence after a recent failure (LANL) and drive SMART precursors (Backblaze), see
  :mod:`foresight.planning._failure_prior`.

``p = 1 - prod(1 - p_i)``: the node fails if any cause fires. The causes are not truly independent (a node
under memory pressure also shows it in its memory signal), so the combination leans towards acting; the
threshold and hysteresis absorb that.

Planning turns risks into taints and evictions under the spec's safety rails: at most ``maxNodesAtOnce``
nodes draining, a cooldown between new nodes, never fewer than ``minHealthyNodes`` healthy selected nodes,
never the last healthy node a workload can run on, PodDisruptionBudgets respected, DaemonSet and mirror pods
left alone. No I/O and no clock here: the controller passes ``now`` and the observed state.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np

from foresight.api import v1alpha1
from foresight.api.v1alpha1.failover_policy import FailoverPolicySpec
from foresight.planning._failure_prior import FailurePrior, smart_any_nonzero

# The controller loads the shipped prior once: FailurePrior.load(settings.model_dir / PRIOR_DIR).
PRIOR_DIR = "failure-prior-v1"

__all__ = [
    "FAILURE_HISTORY_ANNOTATION",
    "FAILURE_HISTORY_LIMIT",
    "FLAP_WINDOW",
    "NODE_STARTUP_GRACE",
    "PRIOR_DIR",
    "Action",
    "DisruptionBudget",
    "FailureHistory",
    "FailurePrior",
    "NodeCondition",
    "NodeObservation",
    "NodeRiskAssessment",
    "OwnerRef",
    "PodObservation",
    "RiskComponent",
    "Taint",
    "assess_node",
    "combine_probabilities",
    "crossing_probability",
    "decode_failure_history",
    "encode_failure_history",
    "node_state",
    "plan_actions",
    "selector_matches",
    "update_failure_history",
]

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
ActionKind = Literal["taint", "untaint", "evict", "eviction-blocked", "skip"]
NodeState = Literal["watching", "tainted", "draining", "drained"]

# Ready flaps older than this no longer count as "recent" in the reason text; the recurrence hazard itself
# decays with the hours since the last recovery (LANL prior), so the window only bounds what is reported.
FLAP_WINDOW = timedelta(hours=24)
# Components below this probability still enter the product but are not listed as reasons (noise).
REASON_FLOOR = 0.001
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
# Each node's failure history lives on the node (it outlives the operator process and any one policy).
FAILURE_HISTORY_ANNOTATION = "foresight.dev/failure-history"
# Failures kept per node. The recurrence hazard needs only the latest recovery and the flap count only the
# last day, so a short tail holds everything the risk model reads while keeping the annotation small.
FAILURE_HISTORY_LIMIT = 10
# A node reports Ready=False from registration until its kubelet is up, and the node lifecycle controller
# marks a node that never reported Unknown after its grace period (40-50 s): a Ready condition that left
# True this soon after the node was created is a node joining, not a failure.
NODE_STARTUP_GRACE = timedelta(minutes=2)


# --------------------------------------------------------------------------------------------------------
# Observed state (plain data the controller builds from the API objects)


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
    (e.g. from smartctl_exporter), ``None`` when unknown; ``created`` is the node's creationTimestamp.
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
    created: datetime | None = None

    def condition(self, type_: str) -> NodeCondition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    @property
    def ready(self) -> bool:
        ready = self.condition("Ready")
        return ready is not None and ready.status == "True"


@dataclass(frozen=True)
class FailureHistory:
    """Past failures of one node: ``(started, recovered)``; ``recovered`` is ``None`` while still down."""

    failures: Sequence[tuple[datetime, datetime | None]] = ()

    @classmethod
    def of_times(cls, started: Iterable[datetime]) -> FailureHistory:
        """History from start times only (recovery unknown: the start stands in for it)."""
        return cls(tuple((t, t) for t in started))

    @property
    def not_ready_transitions(self) -> tuple[datetime, ...]:
        """When each failure began (the Ready condition left ``True``)."""
        return tuple(started for started, _ in self.failures)


def encode_failure_history(history: FailureHistory, limit: int = FAILURE_HISTORY_LIMIT) -> str:
    """The annotation value: the latest ``limit`` failures, oldest first, compact JSON (whole seconds, UTC).

    ``down`` is when Ready left ``True``; ``up`` when it came back, absent while the node is still down.

    >>> t = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    >>> history = FailureHistory(((t, t + timedelta(minutes=5)), (t + timedelta(hours=1), None)))
    >>> encode_failure_history(history)
    '[{"down":"2025-01-01T12:00:00Z","up":"2025-01-01T12:05:00Z"},{"down":"2025-01-01T13:00:00Z"}]'
    """
    entries = []
    for started, recovered in sorted(history.failures, key=lambda f: f[0])[-limit:] if limit > 0 else []:
        entry = {"down": _utc_seconds(started)}
        if recovered is not None:
            entry["up"] = _utc_seconds(recovered)
        entries.append(entry)
    return json.dumps(entries, separators=(",", ":"))


def decode_failure_history(text: str | None, limit: int = FAILURE_HISTORY_LIMIT) -> FailureHistory:
    """The history an annotation holds; unreadable entries are dropped (people can edit annotations).

    Only the latest ``limit`` failures are kept, oldest first; an ``up`` before its ``down`` is unknown.

    >>> decode_failure_history('[{"down":"2025-01-01T12:00:00Z"}, {"down":"yesterday"}, 7]').failures
    ((datetime.datetime(2025, 1, 1, 12, 0, tzinfo=datetime.timezone.utc), None),)
    >>> decode_failure_history("not json").failures
    ()
    """
    try:
        entries = json.loads(text) if text else []
    except ValueError:
        return FailureHistory()
    failures: list[tuple[datetime, datetime | None]] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        started = _parse_time(entry.get("down"))
        if started is None:
            continue
        recovered = _parse_time(entry.get("up"))
        failures.append((started, recovered if recovered is not None and recovered >= started else None))
    failures.sort(key=lambda f: f[0])
    return FailureHistory(tuple(failures[-limit:]) if limit > 0 else ())


def update_failure_history(
    history: FailureHistory,
    node: NodeObservation,
    now: datetime,
    *,
    seen_ready: bool = False,
    limit: int = FAILURE_HISTORY_LIMIT,
) -> FailureHistory:
    """The node's history after one look at its Ready condition.

    Level-based, so a controller that restarts (or missed a tick) resumes from the stored history: a
    node not Ready opens a failure at the Ready transition unless one is open or already covers that
    time; a Ready node closes the open failure at the transition. A Ready condition that left ``True``
    within :data:`NODE_STARTUP_GRACE` of the node's creation is a node joining, unless ``seen_ready``
    (the caller saw this node Ready before).
    """
    failures = sorted(history.failures, key=lambda f: f[0])
    ready = node.condition("Ready")
    changed = (ready.last_transition_time if ready is not None else None) or now
    still_down = bool(failures) and failures[-1][1] is None
    if node.ready:
        if still_down:
            started = failures[-1][0]
            failures[-1] = (started, max(changed, started))
    elif not still_down:
        latest = max((recovered or started for started, recovered in failures), default=None)
        joining = node.created is not None and changed - node.created < NODE_STARTUP_GRACE
        if (latest is None or changed > latest) and (seen_ready or not joining):
            failures.append((changed, None))
    return FailureHistory(tuple(failures[-limit:]) if limit > 0 else ())


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


@dataclass(frozen=True)
class DisruptionBudget:
    """A PodDisruptionBudget's selector and how many disruptions it allows right now."""

    namespace: str
    name: str
    selector: v1alpha1.LabelSelector
    disruptions_allowed: int


# --------------------------------------------------------------------------------------------------------
# Risk


@dataclass(frozen=True)
class RiskComponent:
    """One independent cause of failure and its probability within the horizon."""

    source: Literal["forecast", "condition", "lease", "recurrence", "smart", "base-rate"]
    probability: float
    reason: str


@dataclass(frozen=True)
class NodeRiskAssessment:
    """A node's failure probability within the horizon, with each contributing cause."""

    node: str
    failure_probability: float
    components: tuple[RiskComponent, ...] = ()

    @property
    def reasons(self) -> list[str]:
        """Readable causes, most likely first; negligible ones are left out."""
        ranked = sorted(self.components, key=lambda c: -c.probability)
        return [c.reason for c in ranked if c.probability >= REASON_FLOOR]

    def to_status(self, state: NodeState = "watching", since: datetime | None = None) -> v1alpha1.NodeRisk:
        return v1alpha1.NodeRisk(
            node=self.node,
            failure_probability=round(self.failure_probability, 4),
            reasons=self.reasons,
            since=_iso(since) if since is not None else None,
            state=state,
        )


def combine_probabilities(probabilities: Iterable[float]) -> float:
    """Independent hazards: the node fails if any cause fires.

    >>> round(combine_probabilities([0.5, 0.5]), 3), combine_probabilities([])
    (0.75, 0.0)
    """
    survival = 1.0
    for p in probabilities:
        survival *= 1.0 - min(max(p, 0.0), 1.0)
    return 1.0 - survival


def crossing_probability(paths: np.ndarray, threshold: float, direction: Literal["above", "below"]) -> float:
    """Share of sample paths that cross ``threshold`` at any step (``NaN`` if no path has data).

    Paths with missing steps count by their observed steps; all-``NaN`` paths are left out.

    >>> paths = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [0.0, 5.0, 0.0], [np.nan, np.nan, np.nan]])
    >>> round(crossing_probability(paths, 2.5, "above"), 3)
    0.667
    """
    values = np.asarray(paths, dtype=float)
    if values.ndim == 1:
        values = values[None, :]
    observed = ~np.all(np.isnan(values), axis=1)
    if not observed.any():
        return math.nan
    values = values[observed]
    with np.errstate(invalid="ignore"):
        crossed = values > threshold if direction == "above" else values < threshold
    return float(np.mean(np.any(crossed, axis=1)))


def assess_node(
    spec: FailoverPolicySpec,
    node: NodeObservation,
    signal_paths: Mapping[str, np.ndarray],
    history: FailureHistory,
    now: datetime,
    *,
    prior: FailurePrior,
) -> NodeRiskAssessment:
    """The probability that ``node`` fails within ``spec.horizon``, with the reason for each part.

    ``signal_paths[name]`` are sampled future paths ``[n_samples, horizon_steps]`` of the spec's signal
    ``name`` for this node, covering the horizon; signals without paths are skipped.
    """
    horizon = v1alpha1.parse_duration(spec.horizon)
    horizon_hours = horizon.total_seconds() / 3600
    label = spec.horizon
    components: list[RiskComponent] = []

    for signal in spec.signals:
        paths = signal_paths.get(signal.name)
        if paths is None:
            continue
        p = crossing_probability(paths, signal.threshold, signal.direction)
        if math.isnan(p):
            continue
        components.append(
            RiskComponent(
                "forecast",
                p,
                f"{signal.name} p(cross {signal.direction} {signal.threshold:g} within {label}) = {p:.2f}",
            )
        )

    for weight in spec.node_conditions:
        condition = node.condition(weight.type)
        if condition is not None and condition.status == weight.status and weight.weight > 0:
            components.append(
                RiskComponent(
                    "condition", weight.weight, f"{weight.type}={weight.status}: p = {weight.weight:.2f}"
                )
            )

    lease = _lease_component(spec, node, now)
    if lease is not None:
        components.append(lease)

    components.append(_recurrence_component(node, history, now, horizon_hours, label, prior))

    if node.smart_counters is not None:
        nonzero = smart_any_nonzero(node.smart_counters)
        p = prior.smart_probability(nonzero, horizon_hours)
        shown = ", ".join(f"{k}={v:g}" for k, v in sorted(node.smart_counters.items()) if (v or 0) > 0)
        reason = (
            f"SMART precursors {shown}: p(drive failure within {label}) = {p:.4f} (Backblaze prior)"
            if nonzero
            else f"SMART precursors all zero: p = {p:.6f}"
        )
        components.append(RiskComponent("smart", p, reason))

    return NodeRiskAssessment(
        node=node.name,
        failure_probability=combine_probabilities(c.probability for c in components),
        components=tuple(components),
    )


def _lease_component(spec: FailoverPolicySpec, node: NodeObservation, now: datetime) -> RiskComponent | None:
    """A lease renewed late is the earliest sign of a node going Unknown.

    The node lifecycle controller marks Ready=Unknown once the lease is older than its grace period (40 s by
    default, the lease duration); before that the risk ramps linearly from 0 at one lease duration to the
    spec's Ready=Unknown weight at two. A heuristic (no public data pairs leases with failures); skipped
    once Ready is already not True, where the condition weight applies.
    """
    if node.lease_renew_time is None or not node.ready:
        return None
    weight = next(
        (w.weight for w in spec.node_conditions if w.type == "Ready" and w.status == "Unknown"), None
    )
    if weight is None:
        return None
    age = (now - node.lease_renew_time).total_seconds()
    duration = max(node.lease_duration_seconds, 1.0)
    ramp = min(max((age - duration) / duration, 0.0), 1.0)
    if ramp <= 0:
        return None
    p = weight * ramp
    return RiskComponent(
        "lease", p, f"node lease renewed {age:.0f}s ago (duration {duration:.0f}s): p = {p:.2f}"
    )


def _recurrence_component(
    node: NodeObservation,
    history: FailureHistory,
    now: datetime,
    horizon_hours: float,
    label: str,
    prior: FailurePrior,
) -> RiskComponent:
    """Failures cluster: the hazard after the last recovery (recorded failure or Ready flap), LANL prior.

    Recorded failures and Ready flaps are one event stream here (both mean "the node went unavailable"),
    so a flap that was also recorded as a failure is not counted twice.
    """
    recoveries = [(recovered or started) for started, recovered in history.failures if started <= now]
    ready = node.condition("Ready")
    flaps = [t for t in node.not_ready_transitions if now - FLAP_WINDOW <= t <= now]
    if flaps and node.ready and ready is not None:
        # The node came back when Ready last turned True; without that time, the flap itself stands in.
        back = ready.last_transition_time
        recoveries.append(back if back is not None and back >= max(flaps) else max(flaps))
    recoveries = [t for t in recoveries if t <= now]
    if not recoveries:
        p = prior.probability_after_failure(None, horizon_hours)
        return RiskComponent("base-rate", p, f"no recorded failure: base rate p = {p:.5f}")
    hours = (now - max(recoveries)).total_seconds() / 3600
    p = prior.probability_after_failure(hours, horizon_hours)
    flap_text = f"{len(flaps)} Ready flap(s) in {_hours(FLAP_WINDOW)}, " if flaps else ""
    return RiskComponent(
        "recurrence",
        p,
        f"{flap_text}last recovered {_ago(hours)} ago: p(fail again within {label}) = {p:.4f} (LANL prior)",
    )


# --------------------------------------------------------------------------------------------------------
# Planning


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
        return v1alpha1.ActionRecord(time=_iso(now), node=self.node, action=self.kind, detail=detail[:2048])


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


def node_state(spec: FailoverPolicySpec, node: NodeObservation, pods: Sequence[PodObservation]) -> NodeState:
    """Where the node stands in the taint -> drain sequence (for ``NodeRisk.state``)."""
    effects = _our_effects(spec, node)
    if "NoSchedule" in effects:
        remaining = [p for p in pods if p.node_name == node.name and _evictable(spec, p)]
        return "draining" if remaining else "drained"
    return "tainted" if effects else "watching"


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
        # Unknown risk (no data this round) holds the current state rather than releasing the node.
        if p is not None and p < release_below:
            for effect in sorted(effects):
                act("untaint", node.name, f"risk {p:.2f} < {release_below:.2f}", effect=effect, taint_key=key)
            released.add(node.name)
        elif "NoSchedule" in effects:
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
    healthy_count = sum(healthy(n.name) for n in selected)
    at_risk = sorted(
        (n for n in selected if n.name not in hard and risk_of.get(n.name, 0.0) >= threshold),
        key=lambda n: (-risk_of[n.name], n.name),
    )
    for node in at_risk:
        p = risk_of[node.name]
        effects = _our_effects(spec, node)
        if spec.actions.taint and "PreferNoSchedule" not in effects:
            act(
                "taint",
                node.name,
                f"risk {p:.2f} >= {threshold:.2f}",
                effect="PreferNoSchedule",
                taint_key=key,
            )
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
            act(
                "taint",
                node.name,
                f"risk {p:.2f} >= {threshold:.2f}: drain",
                effect="NoSchedule",
                taint_key=key,
            )
        if spec.actions.evict:
            actions.extend(_evictions(node.name, evictable, budget, dry_run, f"risk {p:.2f}"))
        hard.add(node.name)
        if was_healthy:
            healthy_count -= 1
        free_slots -= 1
        # One new node per cooldown period (the cooldown exists to watch the effect of each drain).
        if cooldown.total_seconds() > 0:
            cooldown_until = now + cooldown
    return actions


class PdbBudget:
    """Disruptions still allowed per PodDisruptionBudget while a plan is built."""

    def __init__(self, budgets: Sequence[DisruptionBudget]) -> None:
        self._budgets = list(budgets)
        self._left = {(b.namespace, b.name): b.disruptions_allowed for b in budgets}

    def take(self, pod: PodObservation) -> str | None:
        """Consume one disruption from every PDB covering the pod; the blocking PDB's name if none is left."""
        covering = [
            b
            for b in self._budgets
            if b.namespace == pod.namespace and selector_matches(b.selector, pod.labels)
        ]
        for b in covering:
            if self._left[(b.namespace, b.name)] <= 0:
                return f"{b.namespace}/{b.name}"
        for b in covering:
            self._left[(b.namespace, b.name)] -= 1
        return None


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


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _utc_seconds(t: datetime) -> str:
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_time(value: object) -> datetime | None:
    """An RFC 3339 time with a zone, or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g}h"


def _ago(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f}m"
    if hours < 48:
        return f"{hours:.1f}h"
    return f"{hours / 24:.1f}d"
