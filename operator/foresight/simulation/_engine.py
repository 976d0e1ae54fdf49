"""Discrete-time replay of a workload under one scaling policy.

Time advances in ticks (15 s by default: the HPA's sync period). At every tick, pods whose start-up is over
become ready; at every control interval the policy sets the HPA floor (or, for the oracle, the replicas
themselves); at every HPA sync the reactive HPA computes replicas from the load it sees right now. A pod
requested at tick ``i`` serves from tick ``i + ceil(startup_seconds / tick_seconds)``. A scale-down removes
pods that are still starting first, then ready ones (as a ReplicaSet does). An optional node limit keeps
pods beyond it pending (unschedulable).

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

__all__ = ["ClusterConfig", "Controller", "Policy", "Run", "Workload", "simulate"]


@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    """The workload's deployment and the cluster it runs on."""

    capacity_per_replica: float
    startup_seconds: int = 180
    tick_seconds: int = 15
    control_interval_seconds: int = 60
    min_replicas: int = 1
    max_replicas: int = 100
    max_schedulable_replicas: int | None = None

    @property
    def startup_ticks(self) -> int:
        return math.ceil(self.startup_seconds / self.tick_seconds)

    @property
    def control_ticks(self) -> int:
        return max(1, round(self.control_interval_seconds / self.tick_seconds))


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
    """A policy's state during one run."""

    @property
    def hpa(self) -> HpaConfig | None:
        """The reactive HPA under the floor; ``None``: :meth:`floor` sets the replicas directly."""

    @property
    def interval_ticks(self) -> int | None:
        """How often :meth:`floor` is asked; ``None``: every control interval."""

    def floor(self, tick: int, current_floor: int, replicas: int, ready: int, load: float) -> int: ...

    def metric_loads(self, tick: int, load: float) -> tuple[float, ...]: ...


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
    control_ticks = controller.interval_ticks or cluster.control_ticks
    pods = _Pods(initial_replicas, cluster.startup_ticks, cluster.max_schedulable_replicas)
    demand = workload.demand.tolist()  # Python floats: the loop below is the hot path
    replicas_out = np.empty(n, dtype=np.int32)
    ready_out = np.empty(n, dtype=np.int32)
    floor_out = np.empty(n, dtype=np.int32)
    floor = cluster.min_replicas
    for i in range(n):
        pods.advance(i)
        load = demand[i]
        if i % control_ticks == 0:
            floor = controller.floor(i, floor, pods.replicas, pods.ready, load)
            if hpa is None:
                pods.scale(floor, i)
        if hpa is not None and i % sync_ticks == 0:
            loads = controller.metric_loads(i, load)
            desired = hpa.sync(
                i * tick_seconds, pods.replicas, pods.ready, loads, floor, cluster.max_replicas
            )
            pods.scale(desired, i)
        replicas_out[i] = pods.replicas
        ready_out[i] = pods.ready
        floor_out[i] = floor
    return Run(policy.name, replicas_out, ready_out, floor_out)
