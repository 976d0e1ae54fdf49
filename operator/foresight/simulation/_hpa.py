"""The upstream HorizontalPodAutoscaler algorithm, for replay.

Follows ``pkg/controller/podautoscaler`` of kubernetes/kubernetes (``replica_calculator.go`` and
``horizontal.go``) for a CPU-utilization (Resource) metric:

* ``usageRatio = utilization over ready pods / target``; within ``tolerance`` (0.1) nothing changes;
* on a scale-up, not-yet-ready pods count as using 0 % (so new pods damp the next step), on a scale-down
  they are ignored; a recomputed ratio that flips direction or falls within tolerance changes nothing;
* ``desired = ceil(usageRatio * pods counted)``;
* the default ``behavior``: scale-up stabilization 0 s and at most ``max(100 %, 4 pods)`` per 15 s;
  scale-down to the highest recommendation of the last 300 s, at most 100 % per 15 s;
* ``minReplicas``/``maxReplicas`` clamp the result, and a workload below ``minReplicas`` is raised to it
  before any metric is read.

The HPA reads the offered load through the metric pipeline (:class:`foresight.simulation.MetricPipeline`:
scrape interval and rate window), as with a request-rate metric; a saturated CPU metric would read lower and
make the HPA slower still, so this is in the HPA's favour. With several metrics (Crane's EHPA adds a
prediction metric) the highest proposal wins, as upstream.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque

__all__ = ["HpaConfig", "HpaController", "replica_count"]


@dataclasses.dataclass(frozen=True)
class HpaConfig:
    """An HPA object's settings that matter for replay (defaults are upstream's)."""

    target_utilization: float = 0.7
    tolerance: float = 0.1
    sync_seconds: int = 15
    scale_up_percent: int = 100
    scale_up_pods: int = 4
    scale_up_stabilization_seconds: int = 0
    scale_down_stabilization_seconds: int = 300
    scale_down_percent: int = 100


def replica_count(
    current: int, ready: int, load: float, capacity_per_replica: float, target: float, tolerance: float = 0.1
) -> int:
    """Replicas one metric proposes (upstream ``calcPlainMetricReplicas`` with CPU's unready-pod rules).

    ``load / capacity_per_replica`` is the load in "replicas at 100 %"; ``target`` the utilization to keep.

    >>> replica_count(4, 4, 300, 100, 0.5)  # 75 % on 4 pods, target 50 % -> ceil(1.5 * 4)
    6
    >>> replica_count(4, 4, 210, 100, 0.5)  # ratio 1.05: inside the 10 % tolerance
    4
    >>> replica_count(6, 4, 300, 100, 0.5)  # 2 pods starting count as idle: ceil(3 / 0.5) = 6, no change
    6
    """
    if ready <= 0 or current <= 0 or math.isnan(load):
        return current  # no metrics: upstream skips the scale
    utilization = load / capacity_per_replica
    usage_ratio = utilization / ready / target
    unready = current - ready
    if unready <= 0:
        if abs(1.0 - usage_ratio) <= tolerance:
            return current
        return math.ceil(usage_ratio * ready)
    if usage_ratio > 1.0:
        counted = current  # unready pods are taken as using 0 %
        new_ratio = utilization / counted / target
    else:
        counted, new_ratio = ready, usage_ratio  # unready pods are left out
    flipped = (usage_ratio < 1.0 < new_ratio) or (usage_ratio > 1.0 > new_ratio)
    if abs(1.0 - new_ratio) <= tolerance or flipped:
        return current
    proposal = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and proposal > current) or (new_ratio > 1.0 and proposal < current):
        return current
    return proposal


class HpaController:
    """One HPA's memory (recommendations and scale events) across syncs; ``sync`` is one reconcile."""

    def __init__(self, config: HpaConfig, capacity_per_replica: float) -> None:
        self.config = config
        self.capacity_per_replica = capacity_per_replica
        # Recommendations of each stabilization window as monotonic queues of (time, value): the front
        # is the window's highest (scale-down) or lowest (scale-up) one, as a scan of all would find.
        self._highest: deque[tuple[float, int]] = deque()
        self._lowest: deque[tuple[float, int]] = deque()
        # Read on every sync (the replay's hot path): kept as plain attributes.
        self._up_factor = 1 + config.scale_up_percent / 100
        self._down_factor = 1 - config.scale_down_percent / 100

    def sync(
        self,
        now: float,
        current: int,
        ready: int,
        loads: tuple[float, ...],
        min_replicas: int,
        max_replicas: int,
    ) -> int:
        """Desired replicas at ``now`` (seconds) given the metric ``loads`` (the highest proposal wins).

        >>> hpa = HpaController(HpaConfig(target_utilization=0.5), capacity_per_replica=100)
        >>> hpa.sync(0, 2, 2, (1000.0,), 1, 50)  # wants 20, but at most max(2 * 2, 2 + 4) per 15 s
        6
        >>> hpa.sync(15, 6, 2, (1000.0,), 1, 50), hpa.sync(30, 12, 2, (1000.0,), 1, 50)
        (12, 20)
        >>> [hpa.sync(t, 20, 20, (100.0,), 1, 50) for t in (45, 300, 346)]  # down only after 300 s
        [20, 20, 2]
        """
        cfg = self.config
        if current < min_replicas:
            return min_replicas
        if current > max_replicas:
            return max_replicas
        capacity, target, tolerance = self.capacity_per_replica, cfg.target_utilization, cfg.tolerance
        desired = replica_count(current, ready, loads[0], capacity, target, tolerance)
        for load in loads[1:]:
            desired = max(desired, replica_count(current, ready, load, capacity, target, tolerance))
        # Stabilization: up to the lowest recommendation of the up-window, down to the highest
        # of the down-window (the recommendations of earlier syncs within each window).
        tops, bottoms = self._highest, self._lowest
        while tops and tops[0][0] <= now - cfg.scale_down_stabilization_seconds:
            tops.popleft()
        while bottoms and bottoms[0][0] <= now - cfg.scale_up_stabilization_seconds:
            bottoms.popleft()
        down = max(desired, tops[0][1]) if tops else desired
        up = min(desired, bottoms[0][1]) if bottoms else desired
        while tops and tops[-1][1] <= desired:
            tops.pop()
        tops.append((now, desired))
        if cfg.scale_up_stabilization_seconds > 0:
            while bottoms and bottoms[-1][1] >= desired:
                bottoms.pop()
            bottoms.append((now, desired))
        stabilized = min(max(current, up), down)
        # Rate limits over one period; with a 15 s sync and 15 s periods the period starts at `current`.
        up_limit = max(math.ceil(current * self._up_factor), current + cfg.scale_up_pods)
        down_limit = math.ceil(current * self._down_factor)
        highest = min(max_replicas, up_limit)
        lowest = max(min_replicas, down_limit)
        return max(min(stabilized, highest), lowest)
