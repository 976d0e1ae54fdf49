"""What the HPA alone would have done with the same load at the same moments, and both runs scored.

The counterfactual is the benchmark's upstream-HPA replay (:class:`foresight.simulation.HpaPolicy` through
:func:`foresight.simulation.simulate`): the algorithm of ``pkg/controller/podautoscaler`` with upstream's
defaults (15 s sync, 10 % tolerance, the default scale-up and scale-down behaviour), at the workload HPA's
70 % target, reading the demo's load through the same pipeline as the PredictiveScaler (a scrape every
second, a one-minute rate), with pods that take the same start-up time. It starts when the demo's
Deployment is applied, from the same replicas.

Both runs, the simulated HPA and what the demo cluster really did (pods asked for and pods Ready, read
from the API), are scored by the benchmark's own metrics (:func:`foresight.simulation.run_metrics`):
under-provisioned minutes, replica-hours and p99 latency at high traffic from its queueing model. Pure
code: the load and the observations are arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from foresight import simulation
from foresight.demo import scenario

__all__ = ["TICK_SECONDS", "Observation", "hpa_alone", "load_grid", "observed_run", "score", "tick_of"]

TICK_SECONDS = 1
SCORED = ("under_provisioned_minutes", "replica_hours", "latency_p99_ms_high_traffic")

Observation = tuple[datetime, int, int]
"""``(time, pods asked for, pods Ready)`` as read from the API."""


def tick_of(start: datetime, at: datetime) -> int:
    """Index of the tick holding ``at`` on a grid from ``start``.

    >>> from datetime import UTC
    >>> t0 = datetime(2030, 1, 1, tzinfo=UTC)
    >>> tick_of(t0, t0 + timedelta(seconds=2.5)), tick_of(t0, t0 - timedelta(seconds=1))
    (2, 0)
    """
    return max(0, int((at - start).total_seconds() // TICK_SECONDS))


def load_grid(load_at: Callable[[datetime], float], start: datetime, end: datetime) -> np.ndarray:
    """The offered load (requests per second) at every tick from ``start`` to ``end``."""
    n = max(1, tick_of(start, end))
    return np.array([load_at(start + timedelta(seconds=i * TICK_SECONDS)) for i in range(n)], dtype=float)


def _cluster() -> simulation.ClusterConfig:
    return simulation.ClusterConfig(
        capacity_per_replica=scenario.CAPACITY_PER_REPLICA,
        startup_seconds=scenario.STARTUP_SECONDS,
        tick_seconds=TICK_SECONDS,
        min_replicas=scenario.ORIGINAL_FLOOR,
        max_replicas=scenario.MAX_REPLICAS,
        pipeline=simulation.MetricPipeline(
            scrape_interval_seconds=scenario.SCRAPE_SECONDS,
            rate_window_seconds=scenario.RATE_WINDOW_SECONDS,
        ),
    )


def _workload(demand: np.ndarray, start: datetime) -> simulation.Workload:
    return simulation.Workload(demand, pd.Timestamp(start), TICK_SECONDS, "demo")


def hpa_alone(demand: np.ndarray, start: datetime, initial_replicas: int) -> simulation.Run:
    """The upstream HPA alone on ``demand`` (one value per tick from ``start``), from ``initial_replicas``.

    >>> from datetime import UTC
    >>> run = hpa_alone(np.full(120, 20.0), datetime(2030, 1, 1, tzinfo=UTC), 2)
    >>> int(run.replicas[30]), int(run.ready[30]), int(run.ready[-1])  # asks at once, Ready a minute later
    (6, 2, 6)
    """
    policy = simulation.HpaPolicy(simulation.HpaConfig(target_utilization=scenario.HPA_TARGET_UTILIZATION))
    return simulation.simulate(policy, _workload(demand, start), _cluster(), initial_replicas)


def observed_run(observations: Sequence[Observation], start: datetime, ticks: int) -> simulation.Run:
    """What the cluster did, on the tick grid: each observation held until the next one.

    >>> from datetime import UTC
    >>> t0 = datetime(2030, 1, 1, tzinfo=UTC)
    >>> run = observed_run([(t0, 4, 2), (t0 + timedelta(seconds=2), 5, 4)], t0, 4)
    >>> run.replicas.tolist(), run.ready.tolist()
    ([4, 4, 5, 5], [2, 2, 4, 4])
    """
    replicas = np.zeros(ticks, dtype=np.int32)
    ready = np.zeros(ticks, dtype=np.int32)
    ordered = sorted(observations)
    for k, (at, asked, serving) in enumerate(ordered):
        first = tick_of(start, at) if k else 0
        last = tick_of(start, ordered[k + 1][0]) if k + 1 < len(ordered) else ticks
        replicas[first:last] = asked
        ready[first:last] = serving
    return simulation.Run("foresight", replicas, ready, replicas.copy())


def score(
    run: simulation.Run, demand: np.ndarray, start: datetime, first: int, last: int
) -> dict[str, float]:
    """The benchmark's metrics of ``run`` over ticks ``[first, last)``: only those the demo reports.

    >>> from datetime import UTC
    >>> t0 = datetime(2030, 1, 1, tzinfo=UTC)
    >>> run = simulation.Run("x", np.full(120, 4), np.full(120, 4), np.full(120, 4))
    >>> s = score(run, np.r_[np.full(60, 10.0), np.full(60, 30.0)], t0, 0, 120)
    >>> s["under_provisioned_minutes"], round(s["replica_hours"], 3)  # 30 req/s > 4 x 5 for the last minute
    (1.0, 0.133)
    """
    window = slice(first, last)
    part = simulation.Run(run.policy, run.replicas[window], run.ready[window], run.floor[window])
    metrics = simulation.run_metrics(
        part,
        _workload(demand[window], start + timedelta(seconds=first * TICK_SECONDS)),
        scenario.CAPACITY_PER_REPLICA,
    )
    return {name: float(metrics[name]) for name in SCORED}
