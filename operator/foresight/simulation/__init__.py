"""Trace-driven replay of scaling policies: the HPA, Holt-Winters (PHPA), FFT (Crane EHPA), Foresight, oracle.

``run_benchmark(read_trace(path))`` replays a load trace under each policy and scores cost and violations;
:mod:`foresight.simulation.report` turns results into plots and ``docs/benchmark.md``. Pure and
deterministic: no cluster, no clock.
"""

from foresight.simulation._bench import (
    ABLATION,
    POLICIES,
    SLO_UNDER_PROVISIONED_PCT,
    BenchConfig,
    BenchResult,
    ModelExposure,
    frontier_at,
    frontier_ratio,
    least_replica_hours,
    model_exposure,
    quantile_sizing,
    replica_hours_at,
    resolve_model,
    run_benchmark,
    scored_window,
    slo_crossing,
)
from foresight.simulation._engine import ClusterConfig, MetricPipeline, Policy, Run, Workload, simulate
from foresight.simulation._hpa import HpaConfig, HpaController, replica_count
from foresight.simulation._metrics import (
    UNDER_TOLERANCE,
    QueueModel,
    Surge,
    cost_metrics,
    run_metrics,
    surges,
)
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
    "ABLATION",
    "POLICIES",
    "SLO_UNDER_PROVISIONED_PCT",
    "UNDER_TOLERANCE",
    "BenchConfig",
    "BenchResult",
    "ClusterConfig",
    "ForecastBank",
    "ForecastMetricPolicy",
    "ForesightPolicy",
    "HpaConfig",
    "HpaController",
    "HpaPolicy",
    "MetricPipeline",
    "ModelExposure",
    "OraclePolicy",
    "Policy",
    "QueueModel",
    "Run",
    "Surge",
    "Trace",
    "Workload",
    "build_forecast_bank",
    "cost_metrics",
    "default_value_column",
    "demand_on_grid",
    "frontier_at",
    "frontier_ratio",
    "least_replica_hours",
    "model_exposure",
    "oracle_replicas",
    "quantile_sizing",
    "read_trace",
    "replica_count",
    "replica_hours_at",
    "required_replicas",
    "resolve_model",
    "run_benchmark",
    "run_metrics",
    "scored_window",
    "simulate",
    "slo_crossing",
    "surges",
]
