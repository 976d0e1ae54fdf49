"""What a run cost and how well it served, from the per-tick arrays of a :class:`Run`.

Only ticks where the trace has a reading count (gaps are neither served nor paid). Definitions:

* **under-provisioned time**: share of time where the load exceeds ready capacity
  (``ready × capacity_per_replica``) by more than ``UNDER_TOLERANCE`` (1 %), in percent, and the same in
  minutes; the oracle is sized with the same tolerance, so it is never under-provisioned and no cheaper
  plan is;
* **unserved fraction**: load above ready capacity (with the same tolerance) over all load;
* **deficit replica-minutes**: ``Σ max(0, load / capacity_per_replica − ready)`` over time;
* **replica-hours**: replicas requested (starting ones are paid too) over time;
* **scaling actions per day**: changes of the requested replica count;
* **surges** (:func:`surges`): the load, in replicas needed (``load / (capacity × 1.01)``), rises by at
  least ``SURGE_MIN_REPLICAS`` (3, 15 % of the benchmark's peak) and by at least ``SURGE_MIN_RISE``
  (50 %) above its lowest point of the previous ``SURGE_WINDOW_SECONDS`` (15 min), and stays risen for
  ``SURGE_HOLD_SECONDS`` (5 min): a ramp a person would call a surge, not noise or one reading. Surging ticks
  less than a window apart are one surge; it starts at that lowest point (the *onset*) and ends at its
  highest load (the *peak*). A surge is *served in time* when no tick from onset to peak is
  under-provisioned. Its *lead* is how long before the peak the capacity the peak needs was ready and stayed
  ready up to it (at most a window before the onset); negative when that capacity came only after the peak;
* **queueing model** (:class:`QueueModel`): each ready replica serves at ``capacity_per_replica / 0.8``
  (a replica at its capacity is 80 % busy: 4 workers of 100 ms mean service, M/M/4). Load beyond that rate
  queues as a *fluid backlog* carried from tick to tick and drained at the spare rate, so an overload costs
  latency until its backlog is worked off; work that would wait longer than the 10 s timeout is dropped (its
  requests count at the timeout). A request's response time is its share of the backlog ahead of it plus
  the M/M/4 (Erlang C) response time at the tick's utilization. A tick is short, and a queue that takes
  longer than a tick to build cannot show in it: the M/M/4 utilization is capped where its mean wait reaches
  what a saturated replica's queue builds in one tick from empty (arrivals and services a driftless random
  walk, ``E|Q(T)| = sqrt(4 c mu T / pi)`` requests), and an overloaded tick is at that cap behind its
  backlog. So no latency figure falls as replicas are removed, and none jumps at full utilization. Latency is
  reported over *high traffic* (ticks at or above the trace's 90th load percentile): p50 and p99 of the
  mixture of the ticks' response-time distributions, weighted by their requests, and the mean;
* **peak served throughput**: the most load served (backlog drained included) in any 5 minutes;
* **CPU utilization**: load served over the service rate of all requested replicas (starting pods idle).
"""

from __future__ import annotations

import math

import numpy as np

from foresight.simulation._engine import Run, Workload

__all__ = [
    "SURGE_HOLD_SECONDS",
    "SURGE_MIN_REPLICAS",
    "SURGE_MIN_RISE",
    "SURGE_WINDOW_SECONDS",
    "UNDER_TOLERANCE",
    "QueueModel",
    "Surge",
    "cost_metrics",
    "run_metrics",
    "surges",
]

UNDER_TOLERANCE = 0.01
SURGE_WINDOW_SECONDS = 900
SURGE_HOLD_SECONDS = 300
SURGE_MIN_REPLICAS = 3.0
SURGE_MIN_RISE = 0.5
HIGH_TRAFFIC_QUANTILE = 0.9


class QueueModel:
    """M/M/c per replica behind a fluid backlog (see the module docstring); all times in seconds."""

    workers = 4
    service_seconds = 0.1
    utilization_at_capacity = 0.8
    timeout_seconds = 10.0

    def service_rate(self, ready: np.ndarray, capacity_per_replica: float) -> np.ndarray:
        """Load the ready replicas serve at full utilization."""
        return np.maximum(ready, 0) * capacity_per_replica / self.utilization_at_capacity

    def fluid(
        self, load: np.ndarray, rate: np.ndarray, tick_seconds: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Backlog at each tick's start, load served and load dropped per tick (load × seconds).

        >>> b, served, dropped = QueueModel().fluid(np.array([3.0, 1.0, 1.0]), np.array([2.0, 2.0, 2.0]), 1.0)
        >>> b.tolist(), served.tolist(), dropped.tolist()
        ([0.0, 1.0, 0.0], [2.0, 2.0, 1.0], [0.0, 0.0, 0.0])
        """
        n = len(load)
        backlog = np.zeros(n)
        served = np.minimum(load, rate) * tick_seconds
        dropped = np.zeros(n)
        # The recursion only runs from a tick whose load exceeds its service rate until the backlog is gone.
        over = np.flatnonzero(load > rate)
        k = 0
        while k < over.size:
            i = int(over[k])
            carried = 0.0
            while i < n:
                arriving = load[i] * tick_seconds
                capacity = rate[i] * tick_seconds
                backlog[i] = carried
                done = min(capacity, carried + arriving)
                left = carried + arriving - done
                limit = rate[i] * self.timeout_seconds
                served[i] = done
                dropped[i] = max(0.0, left - limit)
                carried = left - dropped[i]
                i += 1
                if carried <= 0.0 and (i >= n or load[i] <= rate[i]):
                    break
            k = int(np.searchsorted(over, i))
        return backlog, served, dropped

    def _erlang_c(self, rho: np.ndarray) -> np.ndarray:
        c = self.workers
        a = c * rho
        terms = sum(a**k / math.factorial(k) for k in range(c))
        top = a**c / math.factorial(c) / (1.0 - rho)
        return top / (terms + top)

    def survival(self, t: float, rho: np.ndarray) -> np.ndarray:
        """P(response time > t) per tick with no backlog (``rho`` < 1)."""
        mu = 1.0 / self.service_seconds
        theta = self.workers * mu * (1.0 - rho)
        theta = np.where(np.abs(theta - mu) < 1e-6, mu * (1 + 1e-6), theta)
        wait = self._erlang_c(rho)
        both = (theta * np.exp(-mu * t) - mu * np.exp(-theta * t)) / (theta - mu)
        return (1.0 - wait) * np.exp(-mu * t) + wait * both

    def mean(self, rho: np.ndarray) -> np.ndarray:
        mu = 1.0 / self.service_seconds
        return self.service_seconds + self._erlang_c(rho) / (self.workers * mu * (1.0 - rho))

    def transient_wait(self, tick_seconds: float) -> float:
        """Mean wait behind the queue a replica at full utilization builds in one tick, from empty.

        Arrivals and services (each at ``c mu``) make a driftless random walk reflected at zero, whose mean
        after ``T`` is ``sqrt(4 c mu T / pi)`` requests, served at ``c mu``.

        >>> round(QueueModel().transient_wait(1.0), 3), round(QueueModel().transient_wait(15.0), 3)
        (0.178, 0.691)
        """
        rate = self.workers / self.service_seconds
        return math.sqrt(4.0 * rate * tick_seconds / math.pi) / rate

    def saturation(self, tick_seconds: float) -> float:
        """The utilization whose stationary mean wait is :meth:`transient_wait`: the most a tick can show.

        >>> model = QueueModel()
        >>> wait = float(model.mean(np.array(model.saturation(15.0)))) - model.service_seconds
        >>> round(wait, 3) == round(model.transient_wait(15.0), 3)
        True
        """
        target = self.service_seconds + self.transient_wait(tick_seconds)
        low, high = 0.0, 1.0
        for _ in range(60):
            mid = (low + high) / 2
            low, high = (mid, high) if float(self.mean(np.array(mid))) < target else (low, mid)
        return low

    def latency(
        self,
        rho: np.ndarray,
        wait: np.ndarray,
        dropped_share: np.ndarray,
        weights: np.ndarray,
        tick_seconds: float,
    ) -> tuple[float, float, float]:
        """Mean, p50 and p99 response time (seconds) over ticks weighted by their requests.

        ``rho``: utilization where there is no backlog (at most 1 there); ``wait``: the fluid backlog's wait
        (``NaN`` where there is none); ``dropped_share``: share of a tick's requests that time out.

        >>> model = QueueModel()
        >>> none = np.array([np.nan])
        >>> at_capacity = model.latency(np.array([1.0]), none, np.zeros(1), np.ones(1), 15.0)
        >>> just_over = model.latency(np.array([1.0]), np.array([0.001]), np.zeros(1), np.ones(1), 15.0)
        >>> at_capacity[2] < model.timeout_seconds, round(just_over[0] - at_capacity[0], 2)  # no jump at 1
        (True, 0.0)
        """
        total = float(weights.sum())
        if total <= 0:
            return math.nan, math.nan, math.nan
        # A request's response time: the backlog's wait ahead of it, then M/M/4 at the utilization one tick
        # can show (see the module docstring; an overloaded tick is at that cap). Both only grow as replicas
        # are removed, so every quantile does too; the cap also keeps Erlang C finite.
        shift = np.nan_to_num(wait, nan=0.0)
        stable = np.minimum(np.where(np.isfinite(wait), 1.0, rho), self.saturation(tick_seconds))
        kept = 1.0 - dropped_share
        timeout = self.timeout_seconds
        mean_kept = np.minimum(shift + self.mean(stable), timeout)
        mean = float(((kept * mean_kept + dropped_share * timeout) * weights).sum() / total)

        def tail(t: float) -> float:
            s = np.where(t < shift, 1.0, self.survival(np.maximum(t - shift, 0.0), stable))
            return float(((kept * s + dropped_share) * weights).sum() / total)

        def quantile(q: float) -> float:
            if tail(timeout) >= 1.0 - q:
                return timeout
            low, high = 0.0, timeout
            for _ in range(40):
                mid = (low + high) / 2
                low, high = (mid, high) if tail(mid) > 1.0 - q else (low, mid)
            return high

        return mean, quantile(0.5), quantile(0.99)


class Surge:
    """One surge: tick indices of its onset (the lowest point before the rise) and of its peak."""

    __slots__ = ("onset", "peak")

    def __init__(self, onset: int, peak: int) -> None:
        self.onset = onset
        self.peak = peak

    def __repr__(self) -> str:
        return f"Surge(onset={self.onset}, peak={self.peak})"


def surges(needed: np.ndarray, tick_seconds: int) -> list[Surge]:
    """The surges of a series of replicas needed per tick (see the module docstring; ``NaN``: gap).

    >>> flat = [5.0] * 80
    >>> ramp = flat + [5.0 + k for k in range(1, 9)] + [13.0] * 40 + flat
    >>> surges(np.array(ramp), 60)
    [Surge(onset=79, peak=87)]
    >>> surges(np.array(flat + [9.0] + flat), 60)  # one noisy reading is no surge
    []
    """
    n = len(needed)
    window = max(1, SURGE_WINDOW_SECONDS // tick_seconds)
    hold = max(1, SURGE_HOLD_SECONDS // tick_seconds)
    if n <= window:
        return []
    level = np.where(np.isfinite(needed), needed, np.nan)
    padded = np.concatenate([np.full(window, np.inf), np.where(np.isfinite(level), level, np.inf)])
    trough = np.lib.stride_tricks.sliding_window_view(padded, window + 1).min(axis=1)[:n]
    # Sustained: the lowest load of the last `hold` ticks is risen too.
    recent = np.concatenate([np.full(hold - 1, np.inf), np.where(np.isfinite(level), level, np.inf)])
    sustained = np.lib.stride_tricks.sliding_window_view(recent, hold).min(axis=1)
    with np.errstate(invalid="ignore"):
        rise = sustained - trough
        surging = np.isfinite(rise) & (rise >= SURGE_MIN_REPLICAS) & (rise >= SURGE_MIN_RISE * trough)
    ticks = np.flatnonzero(surging)
    found: list[Surge] = []
    if not ticks.size:
        return found
    breaks = np.flatnonzero(np.diff(ticks) >= window) + 1
    for group in np.split(ticks, breaks):
        first, last = int(group[0]) - (hold - 1), int(group[-1])
        lookback = level[max(0, first - window) : first + 1]
        onset = max(0, first - window) + int(len(lookback) - 1 - np.nanargmin(lookback[::-1]))
        span = level[onset : last + 1]
        peak = onset + int(np.nanargmax(span))
        found.append(Surge(onset, peak))
    return found


def _lead_ticks(ready: np.ndarray, need: int, surge: Surge, window: int) -> int:
    """Ticks before the peak from which ``need`` replicas were ready up to it (negative: after it)."""
    if ready[surge.peak] >= need:
        start = max(0, surge.onset - window)
        before = ready[start : surge.peak + 1][::-1] < need
        return int(np.argmax(before)) - 1 if before.any() else surge.peak - start
    after = np.flatnonzero(ready[surge.peak :] >= need)
    return -int(after[0]) if after.size else -(len(ready) - surge.peak)


def cost_metrics(run: Run, workload: Workload, capacity_per_replica: float) -> dict[str, float]:
    """The cheap metrics: cost, under-provisioning and actions (what a frontier point needs)."""
    observed = np.isfinite(workload.demand)
    demand = np.where(observed, workload.demand, 0.0)
    hours_per_tick = workload.tick_seconds / 3600.0
    ready = run.ready.astype(float)
    capacity = ready * capacity_per_replica
    n_observed = max(int(observed.sum()), 1)
    under = observed & (demand > capacity * (1 + UNDER_TOLERANCE))
    shortfall = np.where(observed, np.maximum(demand - capacity * (1 + UNDER_TOLERANCE), 0.0), 0.0)
    deficit = np.where(observed, np.maximum(demand / capacity_per_replica - ready, 0.0), 0.0)
    replicas = run.replicas[observed].astype(float)
    days = n_observed * workload.tick_seconds / 86400.0
    changes = int(np.count_nonzero(np.diff(run.replicas[observed])))
    return {
        "under_provisioned_pct": 100.0 * float(under.sum()) / n_observed,
        "under_provisioned_minutes": float(under.sum()) * workload.tick_seconds / 60.0,
        "unserved_fraction": float(shortfall.sum() / max(demand.sum(), 1e-12)),
        "deficit_replica_minutes": float(deficit.sum() * workload.tick_seconds / 60.0),
        "replica_hours": float(replicas.sum() * hours_per_tick),
        "mean_replicas": float(replicas.mean()) if replicas.size else 0.0,
        "scaling_actions_per_day": changes / days if days else 0.0,
    }


def run_metrics(run: Run, workload: Workload, capacity_per_replica: float) -> dict[str, float]:
    """All metrics of one run (see the module docstring); percentages are 0-100."""
    values = cost_metrics(run, workload, capacity_per_replica)
    tick = workload.tick_seconds
    observed = np.isfinite(workload.demand)
    demand = np.where(observed, workload.demand, 0.0)

    needed = np.where(observed, workload.demand / (capacity_per_replica * (1 + UNDER_TOLERANCE)), np.nan)
    found = surges(needed, tick)
    window = max(1, SURGE_WINDOW_SECONDS // tick)
    ready_capacity = run.ready.astype(float) * capacity_per_replica * (1 + UNDER_TOLERANCE)
    in_time = [
        bool(np.all(ready_capacity[s.onset : s.peak + 1] >= demand[s.onset : s.peak + 1])) for s in found
    ]
    need = np.ceil(needed * (1 - 1e-9))
    leads = [_lead_ticks(run.ready, int(need[s.peak]), s, window) * tick for s in found]

    model = QueueModel()
    rate = model.service_rate(run.ready.astype(float), capacity_per_replica)
    backlog, served, dropped = model.fluid(demand, rate, tick)
    arrived = demand * tick
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(rate > 0, demand / rate, np.inf)
        after = backlog + arrived - served - dropped  # the backlog at the tick's end
        queued = (backlog > 0) | (after > 0) | (rate <= 0)
        # A request waits for the backlog ahead of it: on average, the tick's mean backlog.
        drain = np.where(rate > 0, (backlog + after) / 2 / rate, np.inf)
        wait = np.where(queued, np.minimum(drain, model.timeout_seconds), np.nan)
        dropped_share = np.where(arrived > 0, np.minimum(dropped / arrived, 1.0), 0.0)
    threshold = np.quantile(demand[observed], HIGH_TRAFFIC_QUANTILE) if observed.any() else math.inf
    high = observed & (demand >= threshold)
    mean_latency, p50_latency, p99_latency = model.latency(
        rho[high], wait[high], dropped_share[high], demand[high], tick
    )
    served_rate = served / tick
    five_minutes = max(1, 300 // tick)
    rolling = (
        np.convolve(served_rate, np.ones(five_minutes) / five_minutes, mode="valid")
        if len(served)
        else served
    )
    service = model.service_rate(run.replicas.astype(float), capacity_per_replica)
    values.update(
        {
            "surges": float(len(found)),
            "surges_served_in_time": float(sum(in_time)),
            "surges_provisioned_pct": 100.0 * float(np.mean(in_time)) if found else math.nan,
            "surge_median_lead_seconds": float(np.median(leads)) if leads else math.nan,
            "dropped_fraction": float(dropped.sum() / max(float(arrived.sum()), 1e-12)),
            "latency_mean_ms_high_traffic": 1000.0 * mean_latency,
            "latency_p50_ms_high_traffic": 1000.0 * p50_latency,
            "latency_p99_ms_high_traffic": 1000.0 * p99_latency,
            "peak_throughput": float(rolling.max()) if rolling.size else 0.0,
            "cpu_utilization_pct": 100.0
            * float(served_rate[observed].sum() / max(float(service[observed].sum()), 1e-12)),
        }
    )
    return values
