"""The HPA-alone counterfactual and the scoring of both runs (the benchmark's HPA replay and metrics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from foresight import simulation
from foresight.demo import counterfactual, scenario

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def step_load(low: float = 20.0, high: float = 60.0, at: int = 120, n: int = 480) -> np.ndarray:
    return np.r_[np.full(at, low), np.full(n - at, high)]


def test_hpa_alone_is_the_benchmark_replay_with_the_demo_settings() -> None:
    demand = step_load()
    run = counterfactual.hpa_alone(demand, T0, 6)
    expected = simulation.simulate(
        simulation.HpaPolicy(simulation.HpaConfig(target_utilization=0.7)),
        simulation.Workload(demand, counterfactual._workload(demand, T0).start, 1, "demo"),
        simulation.ClusterConfig(
            capacity_per_replica=scenario.CAPACITY_PER_REPLICA,
            startup_seconds=scenario.STARTUP_SECONDS,
            tick_seconds=1,
            min_replicas=2,
            max_replicas=scenario.MAX_REPLICAS,
            pipeline=simulation.MetricPipeline(scrape_interval_seconds=1, rate_window_seconds=60),
        ),
        6,
    )
    assert np.array_equal(run.replicas, expected.replicas) and np.array_equal(run.ready, expected.ready)


def test_hpa_alone_reacts_after_the_step_and_pods_need_their_start_up() -> None:
    run = counterfactual.hpa_alone(step_load(), T0, 6)
    # Nothing is asked for before the step (20 req/s fits 6 replicas at 70 %)...
    assert run.replicas[:120].max() == 6
    # ...and the first pod asked for after it serves a full start-up later.
    asked = int(np.argmax(run.replicas > 6))
    assert asked > 120
    assert run.ready[asked : asked + scenario.STARTUP_SECONDS].max() == 6
    assert run.ready[-1] * scenario.CAPACITY_PER_REPLICA >= 60


def test_hpa_alone_never_reads_ahead() -> None:
    base = step_load()
    changed = base.copy()
    changed[300:] = 200.0
    a = counterfactual.hpa_alone(base, T0, 6)
    b = counterfactual.hpa_alone(changed, T0, 6)
    assert np.array_equal(a.replicas[:301], b.replicas[:301])


def test_observed_run_holds_each_reading_until_the_next() -> None:
    seen = [
        (T0 + timedelta(seconds=s), asked, ready)
        for s, asked, ready in [(0.4, 6, 0), (60.2, 9, 6), (121, 9, 9)]
    ]
    run = counterfactual.observed_run(seen, T0, 180)
    assert run.replicas[:60].tolist() == [6] * 60 and run.ready[59] == 0
    assert run.ready[60] == 6 and run.ready[120] == 6 and run.ready[121:].min() == 9


def test_scores_count_only_the_scored_window() -> None:
    demand = step_load()
    late = simulation.Run("x", np.full(480, 12), np.r_[np.full(150, 6), np.full(330, 12)], np.full(480, 12))
    whole = counterfactual.score(late, demand, T0, 0, 480)
    assert whole["under_provisioned_minutes"] == 0.5  # 60 req/s > 6 x 5 for 30 s
    assert counterfactual.score(late, demand, T0, 150, 480)["under_provisioned_minutes"] == 0.0
    assert whole["replica_hours"] == 12 * 480 / 3600
    assert (
        whole["latency_p99_ms_high_traffic"]
        > counterfactual.score(late, demand, T0, 150, 480)["latency_p99_ms_high_traffic"]
    )
