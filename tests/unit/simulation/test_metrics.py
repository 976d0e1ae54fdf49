"""Run metrics: surges a person would call one, and a queue whose overload costs until it is worked off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from foresight.simulation import QueueModel, Run, Workload, run_metrics, surges

START = pd.Timestamp("2024-01-01", tz="UTC")


def _needed(*parts: tuple[float, int]) -> np.ndarray:
    return np.concatenate([np.full(n, v, dtype=float) for v, n in parts])


def test_a_gradual_ramp_is_a_surge() -> None:
    """+1 replica a minute for 8 minutes: never a jump over the previous tick, yet a surge to anyone."""
    ramp = np.concatenate([_needed((5.0, 60)), 5.0 + np.arange(1, 9), _needed((13.0, 60), (5.0, 60))])
    found = surges(ramp, 60)
    assert len(found) == 1
    assert (found[0].onset, found[0].peak) == (59, 67)


def test_noise_and_small_or_slow_rises_are_not_surges() -> None:
    rng = np.random.default_rng(0)
    noisy = 10.0 + rng.normal(0.0, 0.4, 600)
    assert surges(noisy, 60) == []
    spike = _needed((10.0, 100), (20.0, 1), (10.0, 100))  # one reading: gone before anyone could react
    assert surges(spike, 60) == []
    small = _needed((10.0, 100), (11.5, 100))  # +1.5 replicas
    assert surges(small, 60) == []
    daily = 10.0 + 10.0 * np.sin(np.arange(1440) * 2 * np.pi / 1440)  # a day's swing, 0.04 replicas a minute
    assert surges(daily, 60) == []


def test_surges_separated_by_a_quiet_window_are_two() -> None:
    one = _needed((5.0, 30), (12.0, 30))
    series = np.concatenate([one, _needed((5.0, 30)), one])
    assert len(surges(series, 60)) == 2


def _run(ready: np.ndarray) -> Run:
    ready = ready.astype(np.int32)
    return Run("p", ready, ready, ready)


def test_surge_served_in_time_and_its_lead() -> None:
    """Capacity for the peak ready 2 minutes before it: in time, lead 120 s; after it: late, negative."""
    needed = np.concatenate([_needed((5.0, 60)), np.linspace(6.0, 12.0, 6), _needed((12.0, 60))])
    demand = needed * 100.0 * 1.01
    peak = 65
    early = np.full(len(needed), 12)
    early[: peak - 2] = 5
    early[55:63] = np.ceil(needed[55:63])  # just enough on the way up
    late = np.full(len(needed), 5)
    late[peak + 3 :] = 12
    load = Workload(demand, START, 60)
    on_time = run_metrics(_run(early), load, 100.0)
    assert on_time["surges"] == 1.0 and on_time["surges_served_in_time"] == 1.0
    assert on_time["surge_median_lead_seconds"] == 120.0
    missed = run_metrics(_run(late), load, 100.0)
    assert missed["surges_served_in_time"] == 0.0
    assert missed["surge_median_lead_seconds"] == -180.0


def test_overload_leaves_a_backlog_that_costs_latency_after_it() -> None:
    """Load above the service rate queues and is worked off later; beyond the timeout it is dropped."""
    model = QueueModel()
    rate = np.full(6, 10.0)
    load = np.array([15.0, 15.0, 5.0, 5.0, 5.0, 5.0])
    backlog, served, dropped = model.fluid(load, rate, 1.0)
    assert backlog.tolist() == [0.0, 5.0, 10.0, 5.0, 0.0, 0.0]
    assert served.tolist() == [10.0, 10.0, 10.0, 10.0, 5.0, 5.0]
    assert dropped.sum() == 0.0
    _, _, dropped = model.fluid(np.array([50.0] * 30), np.full(30, 10.0), 1.0)
    assert dropped.sum() > 0  # more than 10 s of work waiting: timed out
    # The same trace scored: the ticks after the overload are slow too, so p99 counts them.
    ready = np.full(60, 10)
    demand = np.full(60, 600.0)
    demand[20:24] = 1500.0  # 4 minutes at 1.2x the service rate (10 replicas x 100 / 0.8 = 1,250)
    metrics = run_metrics(_run(ready), Workload(demand, START, 60), 100.0)
    calm = run_metrics(_run(ready), Workload(np.minimum(demand, 1200.0), START, 60), 100.0)
    assert metrics["latency_p99_ms_high_traffic"] == 10_000.0
    assert calm["latency_p99_ms_high_traffic"] < 2_000.0
    assert metrics["dropped_fraction"] > 0.0


@pytest.mark.parametrize("tick", [1, 15, 60])
def test_latency_never_rises_when_replicas_are_added(tick: int) -> None:
    """More ready replicas for the same load never give a slower p99, mean or p50, at any tick length.

    The load hits each replica count's service rate exactly (1.25 x capacity per replica) at some tick: a
    tick exactly at full utilization must not read as a time-out when one replica fewer, overloaded, would
    show only a short backlog.
    """
    rng = np.random.default_rng(7)
    demand = rng.uniform(600.0, 1500.0, 240)
    demand[::17] = 125.0 * rng.integers(6, 15, demand[::17].size)  # exactly n replicas' service rate
    load = Workload(demand, START, tick)
    previous = None
    for replicas in range(6, 20):
        metrics = run_metrics(_run(np.full(240, replicas)), load, 100.0)
        now = [metrics[f"latency_{k}_ms_high_traffic"] for k in ("mean", "p50", "p99")]
        if previous is not None:
            assert all(a <= b + 1e-6 for a, b in zip(now, previous, strict=True)), (replicas, now, previous)
        previous = now
    assert previous is not None and previous[2] < 1_000.0  # enough replicas: fast
