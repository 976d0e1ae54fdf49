"""Pod downtime replay: what each failure costs under Kubernetes' default reaction and under Foresight.

:func:`replay_failover` takes the taint runs of a LANL replay and applies the policy's rails as the planner
does: a tainted node is escalated to ``NoSchedule`` and drained only while its risk is at or above the
threshold and the rails allow, at most one new node per cooldown and ``maxNodesAtOnce`` draining, per
policy (one per LANL system). Each failure then falls in one of three outcomes:

* **drained in time**: the node was draining long enough for every pod to be evicted before it failed;
* **draining** (caught late): the node was draining, but some pods were still on it;
* **missed**: the node was not draining when it failed (never at risk, its taint already lifted, or only
  ``PreferNoSchedule`` because the rails held the drain back).

:func:`simulate_downtime` turns those outcomes into pod downtime and charges the false alarms what they
cost: the restart of every pod of a node drained for nothing, and the node-time kept drained without a
failure following within the horizon (capacity).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from foresight.api import v1alpha1
from foresight.simulation.failover.evaluation import EvaluationResult, LanlReplay

__all__ = [
    "DowntimeParams",
    "DowntimeResult",
    "FailoverReplay",
    "Rails",
    "escalation_times",
    "leads_per_failure",
    "replay_failover",
    "simulate_downtime",
]


@dataclass(frozen=True)
class DowntimeParams:
    """How a node failure turns into pod downtime (Kubernetes defaults where there is one)."""

    pods_per_node: int = 20
    node_monitor_grace_seconds: float = 40.0  # kube-controller-manager --node-monitor-grace-period
    toleration_seconds: float = 300.0  # default not-ready/unreachable NoExecute toleration
    schedule_seconds: float = 2.0
    startup_seconds: float = 30.0
    eviction_interval_seconds: float = 1.0  # eviction API calls are paced, one pod after another

    @property
    def drain_seconds(self) -> float:
        """From ``NoSchedule`` to the last pod's eviction."""
        return (self.pods_per_node - 1) * self.eviction_interval_seconds


@dataclass(frozen=True)
class Rails:
    """The spec's pace limits on new drains (``spec.actions``), applied per policy."""

    cooldown_seconds: float = 300.0
    max_nodes_at_once: int = 1

    @classmethod
    def of(cls, actions: v1alpha1.ActionsSpec) -> Rails:
        return cls(float(actions.cooldown_seconds), actions.max_nodes_at_once)


@dataclass(frozen=True)
class DowntimeResult:
    """Per-pod downtime per failure (seconds) and totals (pod-hours), Foresight vs the default reaction.

    ``caught_in_time``, ``caught_draining`` and ``missed`` count the failures by outcome; the ``*_pod_hours``
    split the downtime the same way. ``false_alarm_pod_hours`` are the restarts of pods moved off nodes that
    then did not fail (``false_alarm_restarts`` pods), and ``false_alarm_drained_node_hours`` the node-time
    drained with no failure following within the horizon.
    """

    policy: str
    failures: int
    mean_seconds: float
    p95_seconds: float
    total_pod_hours: float
    false_alarm_pod_hours: float
    caught_in_time: int = 0
    caught_draining: int = 0
    missed: int = 0
    in_time_pod_hours: float = 0.0
    draining_pod_hours: float = 0.0
    missed_pod_hours: float = 0.0
    false_alarm_restarts: int = 0
    false_alarm_drained_node_hours: float = 0.0

    @property
    def pod_minutes_per_failure(self) -> float:
        """Pod downtime per real failure, false-alarm restarts included."""
        return self.total_pod_hours * 60 / self.failures if self.failures else math.nan


def simulate_downtime(
    failure_leads_minutes: Sequence[float | None],
    false_alarms: int,
    params: DowntimeParams | None = None,
    false_alarm_drained_node_hours: float = 0.0,
    empty: Sequence[bool] | None = None,
) -> list[DowntimeResult]:
    """Replay failures: ``lead`` is the time from ``NoSchedule`` to the failure, ``None`` for a miss.

    ``empty[i]``: the failing node held no pods (it had been kept drained since it came back from its
    previous failure), so the failure costs no pod downtime under Foresight; ``false_alarms`` counts the
    drains that moved pods for nothing.

    Default Kubernetes: pods stay bound to the dead node until grace + toleration, then are recreated
    elsewhere. Foresight: pods evicted once the node is draining, one after another, are recreated while
    the node still works (each replica is down only for schedule + start-up); pods not yet evicted when the
    node dies fall back to the default path. A false alarm costs every pod of the node one restart, and the
    node-time it stays drained (reported, not converted into pod downtime).
    """
    p = params or DowntimeParams()
    restart = p.schedule_seconds + p.startup_seconds
    default = p.node_monitor_grace_seconds + p.toleration_seconds + restart
    order = np.arange(p.pods_per_node) * p.eviction_interval_seconds
    n = len(failure_leads_minutes)
    per_failure_default = np.full(n, default)
    per_failure = np.full(n, default)
    outcome = np.zeros(n, dtype=int)  # 0 missed, 1 draining, 2 drained in time
    for i, lead in enumerate(failure_leads_minutes):
        if empty is not None and empty[i]:
            per_failure[i] = 0.0
            outcome[i] = 2
            continue
        if lead is None:
            continue
        evicted_in_time = order < lead * 60
        per_failure[i] = float(np.where(evicted_in_time, restart, default).mean())
        outcome[i] = 2 if evicted_in_time.all() else 1
    false_restarts = false_alarms * p.pods_per_node
    false_cost = false_restarts * restart / 3600
    pod_hours = p.pods_per_node / 3600
    out = [
        _result("Kubernetes default", per_failure_default, np.zeros(n, dtype=int), pod_hours),
        _result("Foresight", per_failure, outcome, pod_hours),
    ]
    out[1] = replace(
        out[1],
        total_pod_hours=out[1].total_pod_hours + false_cost,
        false_alarm_pod_hours=false_cost,
        false_alarm_restarts=false_restarts,
        false_alarm_drained_node_hours=false_alarm_drained_node_hours,
    )
    return out


def _result(name: str, seconds: np.ndarray, outcome: np.ndarray, pod_hours: float) -> DowntimeResult:
    def total(mask: np.ndarray) -> float:
        return float(seconds[mask].sum() * pod_hours)

    return DowntimeResult(
        policy=name,
        failures=len(seconds),
        mean_seconds=float(seconds.mean()) if len(seconds) else math.nan,
        p95_seconds=float(np.quantile(seconds, 0.95)) if len(seconds) else math.nan,
        total_pod_hours=total(np.ones(len(seconds), dtype=bool)),
        false_alarm_pod_hours=0.0,
        caught_in_time=int((outcome == 2).sum()),
        caught_draining=int((outcome == 1).sum()),
        missed=int((outcome == 0).sum()),
        in_time_pod_hours=total(outcome == 2),
        draining_pod_hours=total(outcome == 1),
        missed_pod_hours=total(outcome == 0),
    )


def leads_per_failure(result: EvaluationResult) -> list[float | None]:
    """The evaluation's leads padded with misses, one entry per failure (order is irrelevant).

    These are taint leads with no rails applied; :func:`replay_failover` gives the drain leads.
    """
    leads: list[float | None] = list(result.leads_minutes)
    return leads + [None] * (result.failures - len(leads))


@dataclass(frozen=True)
class FailoverReplay:
    """What the policy did about each failure of a replay's scored period, and what its false alarms cost.

    ``leads_minutes``: per failure, minutes from ``NoSchedule`` to the failure (``None``: not draining);
    ``empty``: the node was kept drained since it came back from its previous failure, so no pod was on it.
    ``held_back``: failures on a node tainted only ``PreferNoSchedule`` because the rails held its drain
    back. ``over_credited``: failures with an alarm in the horizon before them whose node was not draining
    when it failed (what a replay crediting any alarm in the horizon counts as caught). ``drains``: nodes
    escalated in the period; ``false_drains``: those not ending in a failure that moved pods (a node that
    returns from a failure at risk and is escalated at once comes back empty and moves none).
    ``false_drained_node_hours``: ``NoSchedule`` node-time with no failure following within the horizon,
    of ``node_hours`` in all.
    """

    leads_minutes: tuple[float | None, ...]
    empty: tuple[bool, ...]
    held_back: int
    over_credited: int
    drains: int
    false_drains: int
    false_drained_node_hours: float
    node_hours: float

    @property
    def false_drained_share(self) -> float:
        return self.false_drained_node_hours / self.node_hours if self.node_hours > 0 else math.nan


def escalation_times(
    runs: pd.DataFrame, eligible: pd.DataFrame, rails: Rails, drain_seconds: float
) -> np.ndarray:
    """When each taint run is escalated to ``NoSchedule`` (hours; NaN: never), one policy per system.

    A run may be escalated inside its ``eligible`` parts (risk at or above the threshold) once the cooldown
    since the last escalation has passed and fewer than ``max_nodes_at_once`` nodes are still draining (a
    drain lasts ``drain_seconds``). Waiting runs are served in the order they became eligible.
    """
    out = np.full(len(runs), np.nan)
    if eligible.empty:
        return out
    cooldown = rails.cooldown_seconds / 3600
    drain = drain_seconds / 3600
    parts = eligible.sort_values(["run", "start"])
    by_run: dict[int, list[tuple[float, float]]] = {}
    for run, a, b in parts[["run", "start", "end"]].itertuples(index=False):
        by_run.setdefault(int(run), []).append((float(a), float(b)))
    systems = runs["system"].to_numpy()
    for system in np.unique(systems[list(by_run)]):
        heap = [(spans[0][0], run, 0) for run, spans in by_run.items() if systems[run] == system]
        heapq.heapify(heap)
        last = -math.inf
        draining: deque[float] = deque()  # drain end times, in escalation order
        while heap:
            t, run, k = heapq.heappop(heap)
            at = max(t, last + cooldown)
            while draining and draining[0] <= at:
                draining.popleft()
            if len(draining) >= rails.max_nodes_at_once:
                at = max(at, draining[-rails.max_nodes_at_once])
            spans = by_run[run]
            if at < spans[k][1]:
                out[run] = at
                last = at
                draining.append(at + drain)
                continue
            later = next((j for j in range(k + 1, len(spans)) if spans[j][1] > at), None)
            if later is not None:
                heapq.heappush(heap, (max(spans[later][0], at), run, later))
    return out


def replay_failover(replay: LanlReplay, params: DowntimeParams, rails: Rails) -> FailoverReplay:
    """Apply the rails to a replay's taint runs; leads, outcomes and false-alarm costs of its period."""
    runs, failures, h = replay.runs, replay.failures, replay.horizon_hours
    escalated = escalation_times(runs, replay.eligible, rails, params.drain_seconds)
    run = failures["run"].to_numpy()
    when = failures["time"].to_numpy()
    at = np.where(run >= 0, escalated[np.maximum(run, 0)], np.nan) if len(runs) else np.full(len(run), np.nan)
    draining = (run >= 0) & (at <= when)
    leads = tuple(float((w - a) * 60) if d else None for w, a, d in zip(when, at, draining, strict=True))
    # Escalated as it came back: the node is empty and stays so (NoSchedule) until the taint is lifted.
    kept_empty = runs["returns_tainted"].to_numpy() & (escalated == runs["start"].to_numpy())
    empty = draining & (kept_empty[np.maximum(run, 0)] if len(runs) else False)

    lo = runs["system"].map(replay.window["lo"]).to_numpy()
    hi = runs["system"].map(replay.window["hi"]).to_numpy()
    start = np.maximum(escalated, lo)  # NaN (never escalated) stays NaN
    end = np.minimum(runs["end"].to_numpy(), hi)
    failure = runs["failure"].to_numpy()
    following = runs["next_failure"].to_numpy()
    drained = np.where(np.isnan(start), 0.0, np.clip(end - start, 0, None))
    # Drained time with a failure of the node within the horizon after it was not for nothing.
    followed = np.where(
        np.isnan(start) | np.isnan(following),
        0.0,
        np.clip(np.minimum(end, following) - np.maximum(start, following - h), 0, None),
    )
    in_period = ~np.isnan(escalated) & (escalated >= lo) & (escalated < hi)
    return FailoverReplay(
        leads_minutes=leads,
        empty=tuple(bool(x) for x in empty),
        held_back=int(((run >= 0) & ~draining).sum()),
        over_credited=int((failures["alarm_in_horizon"].to_numpy() & ~draining).sum()),
        drains=int(in_period.sum()),
        false_drains=int((in_period & np.isnan(failure) & ~kept_empty).sum()),
        false_drained_node_hours=float((drained - followed).sum()),
        node_hours=replay.up_node_hours,
    )
