"""What a run cost and how well it served, from the per-tick arrays of a :class:`Run`.

Only ticks where the trace has a reading count (gaps are neither served nor paid). Definitions:

* **under-provisioned time**: share of time where the load exceeds ready capacity
  (``ready × capacity_per_replica``) by more than ``tolerance`` (1 %), in percent;
* **unserved fraction**: load above ready capacity over all load;
* **deficit replica-minutes**: ``Σ max(0, load / capacity_per_replica − ready)`` over time;
* **replica-hours**: replicas requested (starting ones are paid too) over time;
* **scaling actions per day**: changes of the requested replica count;
* **surges**: a tick where the replicas needed (``ceil(load / capacity_per_replica)``) exceed the previous
  30 minutes' maximum by at least ``max(2, 20 %)``; later ticks within 30 minutes belong to the same surge.
  A surge is *provisioned before it starts* when the replicas ready at its first tick already serve it; the
  *lead* is how long they had been ready then (capped at 30 min), negative when they came late;
* **queueing model**: each ready replica is an M/M/c queue with ``c = 4`` workers of mean service time
  100 ms, so that a replica at ``capacity_per_replica`` is 80 % busy (the capacity is the load it serves
  within its latency objective). Load is spread evenly over ready replicas; a tick where the load reaches
  the replicas' full service rate has every request wait the 10 s timeout. Latency is reported over
  *high traffic* (ticks with load at or above the 90th percentile of the trace): the load-weighted mean and
  the 99th percentile of the mixture of the ticks' response-time distributions (Erlang C; response time is
  service plus an exponentially distributed wait). CPU utilization is served load over the service rate of
  all requested replicas; peak throughput is the most load served in any 5 minutes, per second of trace unit.
"""

from __future__ import annotations

import math

import numpy as np

from foresight.simulation._engine import Run, Workload

__all__ = ["QueueModel", "run_metrics"]

UNDER_TOLERANCE = 0.01
SURGE_WINDOW_SECONDS = 1800


class QueueModel:
    """M/M/c per replica (see the module docstring); all times in seconds."""

    workers = 4
    service_seconds = 0.1
    utilization_at_capacity = 0.8
    timeout_seconds = 10.0

    def utilization(self, load: np.ndarray, ready: np.ndarray, capacity_per_replica: float) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = load / (np.maximum(ready, 0) * capacity_per_replica) * self.utilization_at_capacity
        return np.where(ready > 0, rho, np.inf)

    def _erlang_c(self, rho: np.ndarray) -> np.ndarray:
        c = self.workers
        a = c * rho
        terms = sum(a**k / math.factorial(k) for k in range(c))
        top = a**c / math.factorial(c) / (1.0 - rho)
        return top / (terms + top)

    def survival(self, t: float, rho: np.ndarray) -> np.ndarray:
        """P(response time > t) per tick (``rho`` < 1)."""
        mu = 1.0 / self.service_seconds
        theta = self.workers * mu * (1.0 - rho)
        theta = np.where(np.abs(theta - mu) < 1e-6, mu * (1 + 1e-6), theta)
        wait = self._erlang_c(rho)
        both = (theta * np.exp(-mu * t) - mu * np.exp(-theta * t)) / (theta - mu)
        return (1.0 - wait) * np.exp(-mu * t) + wait * both

    def mean(self, rho: np.ndarray) -> np.ndarray:
        mu = 1.0 / self.service_seconds
        return self.service_seconds + self._erlang_c(rho) / (self.workers * mu * (1.0 - rho))

    def latency(self, rho: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
        """Load-weighted mean and 99th percentile response time (seconds) over ticks."""
        total = float(weights.sum())
        if total <= 0:
            return float("nan"), float("nan")
        saturated = rho >= 0.999
        stable = np.where(saturated, 0.5, rho)
        means = np.where(saturated, self.timeout_seconds, np.minimum(self.mean(stable), self.timeout_seconds))
        mean = float((means * weights).sum() / total)

        def tail(t: float) -> float:
            s = np.where(saturated, 1.0, self.survival(t, stable))
            return float((s * weights).sum() / total)

        if tail(self.timeout_seconds) >= 0.01:
            return mean, self.timeout_seconds
        low, high = 0.0, self.timeout_seconds
        for _ in range(50):
            mid = (low + high) / 2
            low, high = (mid, high) if tail(mid) > 0.01 else (low, mid)
        return mean, high


def _surges(required: np.ndarray, window: int) -> list[int]:
    """First ticks of surges (see the module docstring)."""
    if len(required) <= window:
        return []
    windows = np.lib.stride_tricks.sliding_window_view(required, window)[:-1]
    prior = windows.max(axis=1)
    candidates = required[window:]
    jump = np.maximum(2, np.ceil(0.2 * prior))
    ticks = np.flatnonzero(candidates >= prior + jump) + window
    starts: list[int] = []
    for t in ticks:
        if not starts or t - starts[-1] >= window:
            starts.append(int(t))
    return starts


def _lead_ticks(ready: np.ndarray, required: np.ndarray, start: int, window: int) -> int:
    need = required[start]
    if ready[start] >= need:
        before = ready[max(0, start - window) : start][::-1] < need
        return int(np.argmax(before)) if before.any() else window
    after = np.flatnonzero(ready[start:] >= need)
    return -int(after[0]) if after.size else -(len(ready) - start)


def run_metrics(run: Run, workload: Workload, capacity_per_replica: float) -> dict[str, float]:
    """The metrics of one run (see the module docstring); percentages are 0-100."""
    observed = np.isfinite(workload.demand)
    demand = np.where(observed, workload.demand, 0.0)
    hours_per_tick = workload.tick_seconds / 3600.0
    ready = run.ready.astype(float)
    capacity = ready * capacity_per_replica
    n_observed = max(int(observed.sum()), 1)
    under = observed & (demand > capacity * (1 + UNDER_TOLERANCE))
    shortfall = np.where(observed, np.maximum(demand - capacity, 0.0), 0.0)
    deficit = np.where(observed, np.maximum(demand / capacity_per_replica - ready, 0.0), 0.0)
    replicas = run.replicas[observed].astype(float)
    days = n_observed * workload.tick_seconds / 86400.0
    changes = int(np.count_nonzero(np.diff(run.replicas[observed])))

    required = np.ceil(demand / capacity_per_replica * (1 - 1e-9)).astype(np.int64)
    window = max(1, SURGE_WINDOW_SECONDS // workload.tick_seconds)
    surges = _surges(required, window)
    leads = [_lead_ticks(run.ready, required, s, window) * workload.tick_seconds for s in surges]

    model = QueueModel()
    rho = model.utilization(demand, ready, capacity_per_replica)
    high = observed & (demand >= np.quantile(demand[observed], 0.9)) if observed.any() else observed
    mean_latency, p99_latency = model.latency(rho[high], demand[high])
    service_rate = run.replicas * capacity_per_replica / model.utilization_at_capacity
    served = np.minimum(demand, np.where(np.isfinite(rho), capacity / model.utilization_at_capacity, 0.0))
    five_minutes = max(1, 300 // workload.tick_seconds)
    rolling = (
        np.convolve(served, np.ones(five_minutes) / five_minutes, mode="valid") if len(served) else served
    )
    return {
        "under_provisioned_pct": 100.0 * float(under.sum()) / n_observed,
        "unserved_fraction": float(shortfall.sum() / max(demand.sum(), 1e-12)),
        "deficit_replica_minutes": float(deficit.sum() * workload.tick_seconds / 60.0),
        "replica_hours": float(replicas.sum() * hours_per_tick),
        "mean_replicas": float(replicas.mean()) if replicas.size else 0.0,
        "scaling_actions_per_day": changes / days if days else 0.0,
        "surges": float(len(surges)),
        "surges_provisioned_pct": 100.0 * float(np.mean([lead >= 0 for lead in leads]))
        if leads
        else math.nan,
        "surge_median_lead_seconds": float(np.median(leads)) if leads else math.nan,
        "latency_mean_ms_high_traffic": 1000.0 * mean_latency,
        "latency_p99_ms_high_traffic": 1000.0 * p99_latency,
        "peak_throughput": float(rolling.max()) if rolling.size else 0.0,
        "cpu_utilization_pct": 100.0
        * float(served[observed].sum() / max(float(service_rate[observed].sum()), 1e-12)),
    }
