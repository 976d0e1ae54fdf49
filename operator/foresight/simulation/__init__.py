"""Trace-driven replay of scaling policies: the HPA, Holt-Winters (PHPA), FFT (Crane EHPA), Foresight, oracle.

``run_benchmark(read_trace(path))`` replays a load trace under each policy and scores cost and violations;
:mod:`foresight.simulation.report` turns results into plots and ``docs/benchmark.md``. Pure and
deterministic: no cluster, no clock.
"""

from foresight.simulation._bench import (
    POLICIES,
    BenchConfig,
    BenchResult,
    frontier_at,
    replica_hours_at,
    run_benchmark,
)
from foresight.simulation._engine import ClusterConfig, Policy, Run, Workload, simulate
from foresight.simulation._hpa import HpaConfig, HpaController, replica_count
from foresight.simulation._metrics import QueueModel, run_metrics
from foresight.simulation._policies import (
    ForecastBank,
    ForecastMetricPolicy,
    ForesightPolicy,
    HpaPolicy,
    OraclePolicy,
    build_forecast_bank,
    oracle_replicas,
    required_replicas,
)
from foresight.simulation._trace import Trace, default_value_column, demand_on_grid, read_trace

__all__ = [
    "POLICIES",
    "BenchConfig",
    "BenchResult",
    "ClusterConfig",
    "ForecastBank",
    "ForecastMetricPolicy",
    "ForesightPolicy",
    "HpaConfig",
    "HpaController",
    "HpaPolicy",
    "OraclePolicy",
    "Policy",
    "QueueModel",
    "Run",
    "Trace",
    "Workload",
    "build_forecast_bank",
    "default_value_column",
    "demand_on_grid",
    "frontier_at",
    "oracle_replicas",
    "read_trace",
    "replica_count",
    "replica_hours_at",
    "required_replicas",
    "run_benchmark",
    "run_metrics",
    "simulate",
]
