"""Node failure risk (:func:`assess_node`): independent hazards, each with its probability and reason.

* forecast: the share of a signal's sampled future paths that cross its threshold within the horizon;
* Kubernetes: node conditions weighted by the spec, a stale node lease, recent Ready flaps;
* prior: recurrence after a recent failure (LANL) and drive SMART precursors (Backblaze), see
  :mod:`foresight.planning.failover.prior`.

The disk-health model's days-ahead risk (:mod:`foresight.planning.failover.disk`) is assessed beside these,
not folded into ``p``: it has its own horizon, threshold and pace.

``p = 1 - prod(1 - p_i)``: the node fails if any cause fires. The causes are not truly independent (a node
under memory pressure also shows it in its memory signal), so the combination leans towards acting; the
threshold and hysteresis absorb that.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from foresight.api import v1alpha1
from foresight.api.v1alpha1.failover_policy import FailoverPolicySpec
from foresight.planning.disk_health import DiskHealthModel
from foresight.planning.failover._timestamps import iso
from foresight.planning.failover.disk import DiskRisk, assess_disk
from foresight.planning.failover.history import FailureHistory
from foresight.planning.failover.observations import NodeObservation, NodeState
from foresight.planning.failover.prior import FailurePrior, smart_any_nonzero

__all__ = [
    "FLAP_WINDOW",
    "REASON_FLOOR",
    "NodeRiskAssessment",
    "RiskComponent",
    "assess_node",
    "calibrated_crossing",
    "combine_probabilities",
    "crossing_probability",
]

# Ready flaps older than this no longer count as "recent" in the reason text; the recurrence hazard itself
# decays with the hours since the last recovery (LANL prior), so the window only bounds what is reported.
FLAP_WINDOW = timedelta(hours=24)
# Components below this probability still enter the product but are not listed as reasons (noise).
REASON_FLOOR = 0.001


@dataclass(frozen=True)
class RiskComponent:
    """One independent cause of failure and its probability within the horizon."""

    source: Literal["forecast", "condition", "lease", "recurrence", "smart", "base-rate"]
    probability: float
    reason: str


@dataclass(frozen=True)
class NodeRiskAssessment:
    """A node's failure probability within the horizon, with each contributing cause.

    ``disk`` is the days-ahead drive risk, judged on its own (``None``: not configured or no readings).
    ``unestimated`` names the spec's signals that gave no estimate this round (the query failed, the node
    has no series, the forecast has no data): ``failure_probability`` then sums the other causes only, a
    lower bound, enough to act on but not to release the node on (:func:`~.actions.plan_actions`).
    """

    node: str
    failure_probability: float
    components: tuple[RiskComponent, ...] = ()
    disk: DiskRisk | None = None
    unestimated: tuple[str, ...] = ()

    @property
    def reasons(self) -> list[str]:
        """Readable causes, most likely first; negligible ones are left out. The disk risk (another
        horizon, so not ranked with the rest) leads when it alarms and closes the list otherwise."""
        ranked = sorted(self.components, key=lambda c: -c.probability)
        reasons = [c.reason for c in ranked if c.probability >= REASON_FLOOR]
        reasons += [f"{name}: no estimate this round, taint state held" for name in self.unestimated]
        if self.disk is not None:
            reasons = [self.disk.reason, *reasons] if self.disk.alarm else [*reasons, self.disk.reason]
        return reasons

    def to_status(self, state: NodeState = "watching", since: datetime | None = None) -> v1alpha1.NodeRisk:
        return v1alpha1.NodeRisk(
            node=self.node,
            failure_probability=round(self.failure_probability, 4),
            disk_failure_probability=None if self.disk is None else round(self.disk.probability, 4),
            reasons=self.reasons,
            since=iso(since) if since is not None else None,
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


def calibrated_crossing(share: float, knots: Sequence[tuple[float, float]]) -> float:
    """The probability of a crossing given the share of paths that cross, by a fitted calibration.

    ``knots`` are ``(share, observed frequency)`` points, linear in between and flat beyond the ends
    (:attr:`FailurePrior.crossing_calibration`); no knots, or no share (``NaN``), leave it as it is.

    >>> round(calibrated_crossing(0.25, [(0.0, 0.01), (0.5, 0.4), (1.0, 0.9)]), 3)
    0.205
    >>> calibrated_crossing(0.3, [])
    0.3
    """
    if not knots or math.isnan(share):
        return share
    xs, ys = zip(*knots, strict=True)
    return float(np.interp(share, xs, ys))


def assess_node(
    spec: FailoverPolicySpec,
    node: NodeObservation,
    signal_paths: Mapping[str, np.ndarray],
    history: FailureHistory,
    now: datetime,
    *,
    prior: FailurePrior,
    disk_model: DiskHealthModel | None = None,
) -> NodeRiskAssessment:
    """The probability that ``node`` fails within ``spec.horizon``, with the reason for each part.

    ``signal_paths[name]`` are sampled future paths ``[n_samples, horizon_steps]`` of the spec's signal
    ``name`` for this node, covering the horizon; a signal without paths (or with no data in them) adds
    nothing and is listed in ``unestimated``. With ``spec.diskHealth``, a ``disk_model`` and the node's
    drive readings, the disk risk is assessed too.
    """
    horizon = v1alpha1.parse_duration(spec.horizon)
    horizon_hours = horizon.total_seconds() / 3600
    label = spec.horizon
    components: list[RiskComponent] = []
    unestimated: list[str] = []

    for signal in spec.signals:
        paths = signal_paths.get(signal.name)
        share = math.nan if paths is None else crossing_probability(paths, signal.threshold, signal.direction)
        if math.isnan(share):
            unestimated.append(signal.name)
            continue
        p = calibrated_crossing(share, prior.crossing_calibration)
        crossing = f"{signal.name} p(cross {signal.direction} {signal.threshold:g} within {label})"
        shown = f" ({share:.2f} of paths)" if prior.crossing_calibration else ""
        components.append(RiskComponent("forecast", p, f"{crossing} = {p:.2f}{shown}"))

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

    disk = None
    if spec.disk_health is not None and disk_model is not None and node.drives:
        disk = assess_disk(spec.disk_health, node.drives, disk_model)

    return NodeRiskAssessment(
        node=node.name,
        failure_probability=combine_probabilities(c.probability for c in components),
        components=tuple(components),
        disk=disk,
        unestimated=tuple(unestimated),
    )


def _lease_component(spec: FailoverPolicySpec, node: NodeObservation, now: datetime) -> RiskComponent | None:
    """A lease renewed late is the earliest sign of a node going Unknown.

    The node lifecycle controller marks Ready=Unknown once the lease is older than its grace period
    (``--node-monitor-grace-period``: 40 s before Kubernetes 1.32, 50 s since; the kubelet's lease duration
    is 40 s); before that the risk ramps linearly from 0 at one lease duration to the spec's Ready=Unknown
    weight at two. A heuristic (no public data pairs leases with failures); skipped
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
    down = [started for started, recovered in history.failures if recovered is None and started <= now]
    if down or not node.ready:
        # Not recovered yet: the prior's clock starts when it is back, at the hazard right after a failure.
        since = f" for {_ago((now - max(down)).total_seconds() / 3600)}" if down else ""
        what = f"{flap_text}down now{since}: p(fail again within {label} once back) = {p:.4f} (LANL prior)"
        return RiskComponent("recurrence", p, what)
    return RiskComponent(
        "recurrence",
        p,
        f"{flap_text}last recovered {_ago(hours)} ago: p(fail again within {label}) = {p:.4f} (LANL prior)",
    )


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g}h"


def _ago(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f}m"
    if hours < 48:
        return f"{hours:.1f}h"
    return f"{hours / 24:.1f}d"
