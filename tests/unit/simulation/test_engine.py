"""Replay mechanics, the oracle's optimality (brute force) and that no policy can see the future."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from foresight import forecasting
from foresight.simulation import (
    ClusterConfig,
    ForecastMetricPolicy,
    ForesightPolicy,
    HpaConfig,
    HpaPolicy,
    OraclePolicy,
    Policy,
    Trace,
    Workload,
    build_forecast_bank,
    demand_on_grid,
    oracle_replicas,
    run_metrics,
    simulate,
)
from foresight.simulation._engine import _Pods

START = pd.Timestamp("2024-01-01", tz="UTC")


def workload(demand: list[float] | np.ndarray, tick: int = 60) -> Workload:
    return Workload(np.asarray(demand, dtype=float), START, tick)


def test_pods_become_ready_after_startup_and_starting_ones_go_first() -> None:
    pods = _Pods(ready=2, startup_ticks=3, limit=None)
    pods.scale(5, tick=0)
    pods.advance(2)
    assert (pods.ready, pods.replicas) == (2, 5)
    pods.advance(3)
    assert (pods.ready, pods.replicas) == (5, 5)
    pods.scale(7, tick=4)
    pods.scale(4, tick=5)  # removes the 2 starting pods, then one ready pod
    assert (pods.ready, pods.replicas) == (4, 4)


def test_node_limit_keeps_pods_pending() -> None:
    pods = _Pods(ready=1, startup_ticks=0, limit=3)
    pods.scale(5, tick=0)
    assert (pods.ready, pods.replicas) == (3, 5)


def _feasible_cost(plan: tuple[int, ...], required: np.ndarray, startup: int, initial: int) -> int | None:
    pods = _Pods(ready=initial, startup_ticks=startup, limit=None)
    for tick, replicas in enumerate(plan):
        pods.advance(tick)
        pods.scale(replicas, tick)
        if pods.ready < required[tick]:
            return None
    return sum(plan)


@pytest.mark.parametrize("seed", range(6))
def test_oracle_is_optimal_by_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    required = rng.integers(0, 4, size=6)
    startup = int(rng.integers(1, 3))
    initial = 3  # enough for anything before the first pods can start
    best = min(
        cost
        for plan in itertools.product(range(4), repeat=len(required))
        if (cost := _feasible_cost(plan, required, startup, initial)) is not None
    )
    plan = oracle_replicas(required, startup, min_replicas=0)
    assert _feasible_cost(tuple(int(p) for p in plan), required, startup, initial) == best


def test_oracle_run_never_under_provisions() -> None:
    rng = np.random.default_rng(1)
    demand = rng.gamma(2.0, 50.0, size=2000)
    load = workload(demand, tick=15)
    cluster = ClusterConfig(capacity_per_replica=40, tick_seconds=15)
    run = simulate(OraclePolicy(), load, cluster, initial_replicas=30)
    metrics = run_metrics(run, load, 40)
    assert metrics["under_provisioned_pct"] == 0.0
    assert metrics["unserved_fraction"] == 0.0


def test_hpa_reacts_only_after_startup() -> None:
    demand = [100.0] * 10 + [400.0] * 20
    cluster = ClusterConfig(capacity_per_replica=100, tick_seconds=15, startup_seconds=180)
    run = simulate(HpaPolicy(HpaConfig(target_utilization=1.0)), workload(demand, tick=15), cluster, 1)
    assert run.replicas[10] == 4  # asked at once (1 -> max(2, 1 + 4) = 5 is the limit, ratio says 4)
    assert run.ready[10 + 11] == 1 and run.ready[10 + 12] == 4  # ready 180 s = 12 ticks later


def test_demand_on_grid_keeps_gaps() -> None:
    trace = Trace("t", np.array([10.0, np.nan, 30.0, 40.0]), START, 60)
    grid = demand_on_grid(trace, 30)
    assert np.isnan(grid[1:4]).all() and grid[0] == 10.0 and grid[-1] == 40.0


class _Spy(forecasting.BaseForecaster):
    """Forecasts the last observed value; remembers nothing, so any future leak shows in its output."""

    name = "spy"

    def _sample_batch(
        self, series: list[forecasting.Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        last = np.array([s.values[np.isfinite(s.values)][-1] for s in series])
        return np.broadcast_to(last[:, None, None], (len(series), n_samples, horizon_steps)).copy()


@pytest.mark.parametrize("family", ["foresight", "foresight-calibrated", "holt-winters", "fft", "hpa"])
def test_no_policy_sees_the_future(family: str) -> None:
    """Change the trace after time t: every decision up to t must stay the same."""
    rng = np.random.default_rng(0)
    values = 200 + 100 * np.sin(np.arange(600) / 30) + rng.normal(0, 20, 600)
    cut = 400  # trace index; the workload starts at index 200
    changed = values.copy()
    changed[cut:] *= 3
    cluster = ClusterConfig(capacity_per_replica=50, tick_seconds=15)

    def run(vals: np.ndarray) -> np.ndarray:
        trace = Trace("t", vals, START, 60)
        load = Workload(demand_on_grid(trace, 15, 200, 599), trace.time_of(200), 15)
        bank = build_forecast_bank(trace, 200, 400 * 60, "spy", 300, 600, 8, forecaster=_Spy())
        policies: dict[str, Policy] = {
            "foresight": ForesightPolicy(bank),
            "foresight-calibrated": ForesightPolicy(bank, calibrate=True),
            "holt-winters": ForecastMetricPolicy("holt-winters", bank, (180.0, 240.0)),
            "fft": ForecastMetricPolicy("fft", bank, (0.0, 3600.0)),
            "hpa": HpaPolicy(),
        }
        return simulate(policies[family], load, cluster, initial_replicas=5).replicas

    # Ticks up to trace point cut - 1 have the same load (later ones interpolate towards point cut);
    # every decision there may only use what was known then.
    ticks_before_cut = (cut - 1 - 200) * 4 + 1
    before, after = run(values), run(changed)
    assert np.array_equal(before[:ticks_before_cut], after[:ticks_before_cut])
    assert not np.array_equal(before, after)  # the change does matter later: the test has teeth
