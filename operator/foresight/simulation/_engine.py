"""Discrete-time replay of a workload under one scaling policy.

Time advances in ticks (15 s by default: the HPA's sync period). At every tick, pods whose start-up is over
become ready; at every HPA sync the reactive HPA computes replicas from the metric it reads and the floor it
last saw; then, at every reconcile (30 s, the operator's default ``--tick``), the policy sets the HPA floor
(or, for the oracle, the replicas themselves), which the HPA reads at its next sync. A pod requested at tick
``i`` serves from tick ``i + ceil(startup_seconds / tick_seconds)``. A scale-down removes pods that are still
starting first, then ready ones (as a ReplicaSet does). An optional node limit keeps pods beyond it pending
(unschedulable).

Policies never read the load itself: they read what the metric pipeline (:class:`MetricPipeline`) shows at
that moment, which lags the load by the scrape interval and the rate window, as a real one does. Only the
oracle, a bound and not a policy, reads the workload directly.

Everything is deterministic: the same workload, policy and configuration give the same run.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from typing import Protocol

import numpy as np
import pandas as pd

from foresight.simulation._hpa import HpaConfig, HpaController

__all__ = ["ClusterConfig", "Controller", "MetricPipeline", "Policy", "Run", "Workload", "simulate"]


@dataclasses.dataclass(frozen=True)
class MetricPipeline:
    """What an autoscaler reads at time ``t``: the load as the scrape pipeline has seen it by then.

    Prometheus scrapes every ``scrape_interval_seconds``; the autoscaler's query averages the last
    ``rate_window_seconds`` of it (``rate(x[2m])``, ``avg_over_time``); a read at ``t`` gets the value as of
    the latest scrape ``S = floor(t / scrape) * scrape``. So the reading at ``t`` is the mean load over
    ``[S - window, S)``, and the HPA adds up to one sync period on top. Defaults: a 30 s scrape (the
    kube-prometheus-stack ServiceMonitor default) and a 2-minute rate window (four scrapes, Prometheus'
    rule of thumb and prometheus-adapter's walkthrough; the adapter chart's default rules use 5 minutes).
    A window of 0 reads the load at the last scrape itself.

    >>> load = np.array([0.0, 0.0, 0.0, 0.0, 80.0, 80.0, 80.0, 80.0])  # 15 s ticks: a step at 60 s
    >>> MetricPipeline(scrape_interval_seconds=30, rate_window_seconds=60).readings(load, 15).tolist()
    [nan, nan, 0.0, 0.0, 0.0, 0.0, 40.0, 40.0]
    """

    scrape_interval_seconds: int = 30
    rate_window_seconds: int = 120

    def __post_init__(self) -> None:
        if self.scrape_interval_seconds < 1 or self.rate_window_seconds < 0:
            raise ValueError("need scrape_interval_seconds >= 1 and rate_window_seconds >= 0")

    @property
    def mean_delay_seconds(self) -> float:
        """Average age of what a reading reflects: half a scrape interval plus half the window."""
        return self.scrape_interval_seconds / 2 + self.rate_window_seconds / 2

    def readings(self, demand: np.ndarray, tick_seconds: int) -> np.ndarray:
        """The reading at every tick of ``demand`` (``NaN`` where the window holds no finite load)."""
        n = len(demand)
        scrape = (np.arange(n, dtype=np.int64) * tick_seconds) // self.scrape_interval_seconds
        scrape *= self.scrape_interval_seconds  # the latest scrape, in seconds
        if self.rate_window_seconds == 0:
            return np.asarray(demand, dtype=float)[np.minimum(scrape // tick_seconds, n - 1)]
        # Ticks j whose load the window [S - w, S) holds: j * tick >= S - w and j * tick < S.
        high = -(-scrape // tick_seconds)
        low = np.maximum(0, -(-(scrape - self.rate_window_seconds) // tick_seconds))
        finite = np.isfinite(demand)
        sums = np.concatenate([[0.0], np.cumsum(np.where(finite, demand, 0.0))])
        counts = np.concatenate([[0], np.cumsum(finite)])
        count = counts[high] - counts[low]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, (sums[high] - sums[low]) / np.maximum(count, 1), np.nan)


@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    """The workload's deployment, the cluster it runs on, and how its controllers see it.

    ``reconcile_seconds`` is how often a policy decides (the operator reconciles every 30 s by default);
    ``control_interval_seconds`` the width of the lead window a decision covers (the operator uses
    ``max(forecast step, reconcile)``).
    """

    capacity_per_replica: float
    startup_seconds: int = 180
    tick_seconds: int = 15
    control_interval_seconds: int = 60
    reconcile_seconds: int = 30
    min_replicas: int = 1
    max_replicas: int = 100
    max_schedulable_replicas: int | None = None
    pipeline: MetricPipeline = dataclasses.field(default_factory=MetricPipeline)

    @property
    def startup_ticks(self) -> int:
        return math.ceil(self.startup_seconds / self.tick_seconds)

    @property
    def reconcile_ticks(self) -> int:
        return max(1, round(self.reconcile_seconds / self.tick_seconds))


@dataclasses.dataclass(frozen=True, eq=False)
class Workload:
    """The offered load at every tick (``NaN`` where the trace has a gap) and when tick 0 is."""

    demand: np.ndarray
    start: pd.Timestamp
    tick_seconds: int
    name: str = ""

    def __len__(self) -> int:
        return int(self.demand.shape[0])

    @property
    def days(self) -> float:
        return len(self) * self.tick_seconds / 86400.0


@dataclasses.dataclass(frozen=True, eq=False)
class Run:
    """What happened: replicas requested (what is paid for), ready, and the floor, per tick."""

    policy: str
    replicas: np.ndarray
    ready: np.ndarray
    floor: np.ndarray


class Controller(Protocol):
    """A policy's state during one run. ``reading`` is the metric pipeline's value at the tick."""

    @property
    def hpa(self) -> HpaConfig | None:
        """The reactive HPA under the floor; ``None``: :meth:`floor` sets the replicas directly."""

    @property
    def interval_ticks(self) -> int | None:
        """How often :meth:`floor` is asked; ``None``: every reconcile."""

    def floor(self, tick: int, current_floor: int, replicas: int, ready: int, reading: float) -> int: ...

    def metric_loads(self, tick: int, reading: float) -> tuple[float, ...]: ...


class Policy(Protocol):
    """A scaling policy: a name and a fresh controller per run."""

    @property
    def name(self) -> str: ...

    def controller(self, workload: Workload, cluster: ClusterConfig) -> Controller: ...


class _Pods:
    """Pods of the workload: a count of ready ones and the ticks at which the starting ones become ready."""

    __slots__ = ("limit", "pending", "ready", "startup_ticks")

    def __init__(self, ready: int, startup_ticks: int, limit: int | None) -> None:
        self.ready = ready
        self.pending: deque[int] = deque()
        self.startup_ticks = startup_ticks
        self.limit = limit

    @property
    def replicas(self) -> int:
        return self.ready + len(self.pending)

    def advance(self, tick: int) -> None:
        pending = self.pending
        while pending and pending[0] <= tick and (self.limit is None or self.ready < self.limit):
            pending.popleft()
            self.ready += 1

    def scale(self, replicas: int, tick: int) -> None:
        total = self.ready + len(self.pending)
        if replicas > total:
            self.pending.extend([tick + self.startup_ticks] * (replicas - total))
            if self.startup_ticks == 0:
                self.advance(tick)
        elif replicas < total:
            remove = total - replicas
            starting = min(remove, len(self.pending))
            for _ in range(starting):
                self.pending.pop()  # the newest starting pods go first
            self.ready -= remove - starting


def simulate(policy: Policy, workload: Workload, cluster: ClusterConfig, initial_replicas: int) -> Run:
    """Replay ``workload`` under ``policy``, starting from ``initial_replicas`` ready pods."""
    controller = policy.controller(workload, cluster)
    tick_seconds = workload.tick_seconds
    n = len(workload)
    hpa = None if controller.hpa is None else HpaController(controller.hpa, cluster.capacity_per_replica)
    sync_ticks = 1 if controller.hpa is None else max(1, round(controller.hpa.sync_seconds / tick_seconds))
    control_ticks = controller.interval_ticks or cluster.reconcile_ticks
    pods = _Pods(initial_replicas, cluster.startup_ticks, cluster.max_schedulable_replicas)
    # Python floats: the loop below is the hot path.
    readings = cluster.pipeline.readings(workload.demand, tick_seconds).tolist()
    replicas_out = np.empty(n, dtype=np.int32)
    ready_out = np.empty(n, dtype=np.int32)
    floor_out = np.empty(n, dtype=np.int32)
    floor = cluster.min_replicas
    max_replicas = cluster.max_replicas
    pending = pods.pending
    decide = controller.floor
    metric_loads = controller.metric_loads
    for i in range(n):
        if pending and pending[0] <= i:
            pods.advance(i)
        reading = readings[i]
        # The HPA syncs before the policy decides: a floor written at tick i is read at the next sync, as a
        # real HPA reads a floor written just after its sync (the planner's lead counts that sync).
        if hpa is not None and i % sync_ticks == 0:
            current = pods.ready + len(pending)
            desired = hpa.sync(
                i * tick_seconds, current, pods.ready, metric_loads(i, reading), floor, max_replicas
            )
            if desired != current:
                pods.scale(desired, i)
        if i % control_ticks == 0:
            floor = decide(i, floor, pods.ready + len(pending), pods.ready, reading)
            if hpa is None:
                pods.scale(floor, i)
        replicas_out[i] = pods.ready + len(pending)
        ready_out[i] = pods.ready
        floor_out[i] = floor
    return Run(policy.name, replicas_out, ready_out, floor_out)
