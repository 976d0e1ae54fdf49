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
    MetricPipeline,
    OraclePolicy,
    Policy,
    Trace,
    Workload,
    build_forecast_bank,
    cost_metrics,
    demand_on_grid,
    oracle_replicas,
    required_replicas,
    run_metrics,
    simulate,
)
from foresight.simulation._engine import _Pods

START = pd.Timestamp("2024-01-01", tz="UTC")
# The load itself, read at every tick: no scrape interval, no rate window.
INSTANT = MetricPipeline(scrape_interval_seconds=15, rate_window_seconds=0)


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


def test_oracle_uses_the_metrics_tolerance() -> None:
    """The oracle is sized as the metric judges: a load up to 1 % above capacity is not a deficit."""
    demand = np.array([100.0, 100.9, 101.2, 250.0] * 50)
    assert required_replicas(demand[:4], 100.0).tolist() == [1, 1, 2, 3]
    load = workload(demand, tick=15)
    cluster = ClusterConfig(capacity_per_replica=100, tick_seconds=15, startup_seconds=0)
    plan = oracle_replicas(required_replicas(demand, 100.0), cluster.startup_ticks)
    run = simulate(OraclePolicy(), load, cluster, initial_replicas=int(plan[0]))
    values = cost_metrics(run, load, 100.0)
    assert values["under_provisioned_pct"] == 0.0
    strict = np.ceil(demand / 100.0 * (1 - 1e-9))  # no tolerance: one replica more at 100.9 rps
    assert values["replica_hours"] < strict.sum() * 15 / 3600
    # Any replica fewer at a tick where the oracle keeps more than one is a deficit by the metric.
    assert np.all(demand[run.ready > 1] > (run.ready[run.ready > 1] - 1) * 100.0 * 1.01)


def test_hpa_reacts_only_after_startup() -> None:
    demand = [100.0] * 10 + [400.0] * 20
    cluster = ClusterConfig(capacity_per_replica=100, tick_seconds=15, startup_seconds=180, pipeline=INSTANT)
    run = simulate(HpaPolicy(HpaConfig(target_utilization=1.0)), workload(demand, tick=15), cluster, 1)
    assert run.replicas[10] == 4  # asked at once (1 -> max(2, 1 + 4) = 5 is the limit, ratio says 4)
    assert run.ready[10 + 11] == 1 and run.ready[10 + 12] == 4  # ready 180 s = 12 ticks later


class _FloorAt:
    """A policy that raises the HPA floor from 1 to 6 at one tick and asks nothing else."""

    name = "floor-at"

    def __init__(self, tick: int) -> None:
        self.tick = tick
        self.hpa = HpaConfig(target_utilization=1.0)
        self.interval_ticks = 1

    def controller(self, workload: Workload, cluster: ClusterConfig) -> _FloorAt:
        return self

    def floor(self, tick: int, current_floor: int, replicas: int, ready: int, reading: float) -> int:
        return 6 if tick >= self.tick else 1

    def metric_loads(self, tick: int, reading: float) -> tuple[float, ...]:
        return (reading,)


def test_a_floor_reaches_the_hpa_at_its_next_sync() -> None:
    # As in a cluster: the floor written at tick 4 (just after the HPA's sync) is read at the next sync
    # (tick 5 at one tick per sync; tick 6 at two), and the pods it asks for are ready start-up later.
    for sync, asked in ((15, 5), (30, 6)):
        cluster = ClusterConfig(
            capacity_per_replica=100, tick_seconds=15, startup_seconds=30, pipeline=INSTANT
        )
        policy = _FloorAt(4)
        policy.hpa = HpaConfig(target_utilization=1.0, sync_seconds=sync)
        run = simulate(policy, workload([50.0] * 12, tick=15), cluster, 1)
        assert run.floor[4] == 6 and run.replicas[asked - 1] == 1 and run.replicas[asked] == 6, run.replicas
        assert run.ready[asked + 1] == 1 and run.ready[asked + 2] == 6


def test_demand_on_grid_keeps_gaps() -> None:
    trace = Trace("t", np.array([10.0, np.nan, 30.0, 40.0]), START, 60)
    grid = demand_on_grid(trace, 30)
    assert np.isnan(grid[2:4]).all() and grid[0] == 10.0 and grid[-1] == 40.0


def test_demand_is_held_until_the_next_point() -> None:
    """A point is the load over its step: no tick before the next point shows any of it."""
    trace = Trace("t", np.array([10.0, 90.0, 20.0]), START, 300)
    grid = demand_on_grid(trace, 15)
    assert grid[:20].tolist() == [10.0] * 20  # the whole first step, up to the tick before 300 s
    assert grid[20:40].tolist() == [90.0] * 20


def test_metric_pipeline_lags_the_load() -> None:
    """A step in the load shows in the reading after the next scrape, fully once the rate window holds it."""
    pipeline = MetricPipeline()  # 30 s scrapes, a 2-minute rate window
    demand = np.array([100.0] * 40 + [300.0] * 40)  # 15 s ticks: the step is at 600 s (tick 40)
    readings = pipeline.readings(demand, 15)
    assert np.all(readings[8:42] == 100.0)  # nothing of the step until the scrape at 630 s
    assert 100.0 < readings[42] < 300.0  # the 630 s scrape: 30 s of the new load in a 2-minute window
    assert np.all(readings[48:] == 300.0)  # from the 720 s scrape on, the window holds only the new load
    assert pipeline.mean_delay_seconds == 75.0


class _Spy(forecasting.BaseForecaster):
    """Forecasts the last observed value; remembers nothing, so any future leak shows in its output."""

    name = "spy"

    def _sample_batch(
        self, series: list[forecasting.Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        last = np.array([s.values[np.isfinite(s.values)][-1] for s in series])
        return np.broadcast_to(last[:, None, None], (len(series), n_samples, horizon_steps)).copy()


@pytest.mark.parametrize("pipeline", [MetricPipeline(), INSTANT], ids=["pipeline", "instant"])
@pytest.mark.parametrize("family", ["foresight", "foresight-calibrated", "holt-winters", "fft", "hpa"])
def test_no_policy_sees_the_future(family: str, pipeline: MetricPipeline) -> None:
    """Change the trace from time t on: every decision before t must stay the same, reactive ones too."""
    rng = np.random.default_rng(0)
    values = 200 + 100 * np.sin(np.arange(600) / 30) + rng.normal(0, 20, 600)
    cut = 400  # trace index; the workload starts at index 200
    changed = values.copy()
    changed[cut:] *= 3
    cluster = ClusterConfig(capacity_per_replica=50, tick_seconds=15, pipeline=pipeline)

    def run(vals: np.ndarray) -> np.ndarray:
        trace = Trace("t", vals, START, 60)
        load = Workload(demand_on_grid(trace, 15, 200, 599), trace.time_of(200), 15)
        bank = build_forecast_bank(trace, 200, 400 * 60, "spy", 60, 600, 8, forecaster=_Spy())
        policies: dict[str, Policy] = {
            "foresight": ForesightPolicy(bank),
            "foresight-calibrated": ForesightPolicy(bank, calibrate=True),
            "holt-winters": ForecastMetricPolicy("holt-winters", bank, (180.0, 240.0)),
            "fft": ForecastMetricPolicy("fft", bank, (0.0, 3600.0)),
            "hpa": HpaPolicy(),
        }
        return simulate(policies[family], load, cluster, initial_replicas=5).replicas

    # Every tick before trace point `cut` (the ticks of points 200..cut-1) had the same past; every
    # decision there may only use what was known then. A load blended towards the next point (as linear
    # interpolation would) shows the HPA the change up to one step early, and fails this.
    ticks_before_cut = (cut - 200) * 4
    before, after = run(values), run(changed)
    assert np.array_equal(before[:ticks_before_cut], after[:ticks_before_cut])
    assert not np.array_equal(before, after)  # the change does matter later: the test has teeth


def test_no_policy_sees_the_future_would_catch_a_blended_load() -> None:
    """The check above has teeth against defect 1: with the old linear blend, the HPA changes early."""
    rng = np.random.default_rng(0)
    values = 200 + 100 * np.sin(np.arange(600) / 30) + rng.normal(0, 20, 600)
    changed = values.copy()
    changed[400:] *= 3
    cluster = ClusterConfig(capacity_per_replica=50, tick_seconds=15, pipeline=INSTANT)

    def blended(vals: np.ndarray) -> np.ndarray:
        position = 200 + np.arange(0, 399 * 60 + 1, 15) / 60
        left = np.floor(position).astype(int)
        weight = position - left
        demand = vals[left] * (1 - weight) + vals[np.minimum(left + 1, 599)] * weight
        return simulate(HpaPolicy(), Workload(demand, START, 15), cluster, initial_replicas=5).replicas

    ticks_before_cut = 200 * 4
    assert not np.array_equal(blended(values)[:ticks_before_cut], blended(changed)[:ticks_before_cut])
