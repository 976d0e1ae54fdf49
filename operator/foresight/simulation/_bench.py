"""The benchmark: every policy on one trace, the cost/violation frontier and the summary numbers.

Protocol (documented in ``docs/benchmark.md``):

1. Capacity per replica defaults to ``max(trace) / peak_replicas`` (20): the busiest moment needs 20 pods.
2. The first ``warmup`` (7 days, or 30 % of a shorter trace) is history only: forecasters see it, nothing is
   scored. Every policy then replays the rest from the same start (enough ready pods for the first minutes).
3. Forecasts are made every ``forecast_every_seconds`` (5 min) in batches, each from history strictly before
   its origin; decisions happen every control interval (1 min) from the latest forecast. Forecasting
   dominates the run time; replay is a tight loop.
4. The frontier re-runs the policies over a sweep of their knob (HPA and Holt-Winters/FFT: target
   utilization; Foresight: quantile), reusing the forecasts, optionally on the first ``sweep_days`` only.
5. The summary compares at equal cost by interpolating each frontier (replica-hours → under-provisioned
   time) after dropping dominated points; values outside a frontier's range are flagged as extrapolated.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from foresight import forecasting
from foresight.simulation._engine import ClusterConfig, Policy, Run, Workload, simulate
from foresight.simulation._hpa import HpaConfig
from foresight.simulation._metrics import run_metrics
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
from foresight.simulation._trace import Trace, demand_on_grid

__all__ = ["POLICIES", "BenchConfig", "BenchResult", "frontier_at", "run_benchmark"]

POLICIES = ("hpa", "holt-winters", "fft", "foresight", "oracle")
SLO_UNDER_PROVISIONED_PCT = 0.1

Progress = Callable[[str, int, int], None]


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """Benchmark settings; the defaults are what ``docs/benchmark.md`` uses."""

    capacity_per_replica: float | None = None
    peak_replicas: int = 20
    startup_seconds: int = 180
    control_interval_seconds: int = 60
    min_replicas: int = 1
    max_replicas: int | None = None
    max_schedulable_replicas: int | None = None
    policies: tuple[str, ...] = POLICIES
    model: str = "analog"  # the operator's default (spec.forecast.model)
    hpa_target: float = 0.7
    quantile: float = 0.9
    safety_net_target: float = 0.9
    calibrate: bool = False
    fft_window_seconds: int = 3600
    fft_margin: float = 1.0
    forecast_every_seconds: int = 300
    n_samples: int = 100
    baseline_samples: int = 20
    warmup_seconds: int | None = None
    eval_days: float | None = None
    sweep: bool = True
    hpa_targets: tuple[float, ...] = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    quantiles: tuple[float, ...] = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)
    sweep_days: float | None = None
    seed: int = 0


@dataclasses.dataclass(eq=False)
class BenchResult:
    """Everything a report needs; :meth:`to_json` is the stable contract."""

    trace: Trace
    config: BenchConfig
    capacity_per_replica: float
    workload: Workload
    runs: dict[str, Run]
    metrics: dict[str, dict[str, float]]
    frontier: dict[str, list[dict[str, float]]]
    summary: dict[str, Any]
    model: str = ""

    def to_json(self) -> dict[str, Any]:
        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        start = self.workload.start
        return clean(
            {
                "trace": self.trace.name,
                "column": self.trace.column,
                "startup_seconds": self.config.startup_seconds,
                "capacity_per_replica": self.capacity_per_replica,
                "model": self.model,
                "evaluated": {
                    "start": start.isoformat(),
                    "days": round(self.workload.days, 3),
                    "tick_seconds": self.workload.tick_seconds,
                    "trace_step_seconds": self.trace.step_seconds,
                },
                "policies": self.metrics,
                "frontier": self.frontier,
                "summary": self.summary,
            }
        )


def _tick_seconds(step_seconds: int) -> int:
    # The HPA syncs every 15 s; finer traces keep their own resolution.
    return math.gcd(15, step_seconds)


def _knob(family: str) -> str:
    return "quantile" if family == "foresight" else "target_utilization"


def _policy(
    family: str, config: BenchConfig, banks: dict[str, ForecastBank], knob: float | None = None
) -> Policy:
    if family == "hpa":
        return HpaPolicy(HpaConfig(target_utilization=knob or config.hpa_target))
    if family == "oracle":
        return OraclePolicy()
    if family == "foresight":
        return ForesightPolicy(
            banks[family],
            quantile=knob or config.quantile,
            safety_net=HpaConfig(target_utilization=config.safety_net_target),
            calibrate=config.calibrate,
        )
    lead = float(config.startup_seconds)
    window = (
        (lead, lead + config.control_interval_seconds)
        if family == "holt-winters"
        else (0.0, float(config.fft_window_seconds))
    )
    margin = config.fft_margin if family == "fft" else 1.0
    hpa = HpaConfig(target_utilization=knob or config.hpa_target)
    return ForecastMetricPolicy(family, banks[family], window, hpa, margin)


def frontier_at(points: list[dict[str, float]], replica_hours: float) -> tuple[float, bool]:
    """Under-provisioned % a frontier reaches at ``replica_hours`` (and whether that is extrapolated).

    Dominated points are dropped (more cost for no less violation), the rest interpolated linearly.

    >>> pts = [
    ...     {"replica_hours": 10, "under_provisioned_pct": 4.0},
    ...     {"replica_hours": 20, "under_provisioned_pct": 1.0},
    ... ]
    >>> frontier_at(pts, 15), frontier_at(pts, 30)
    ((2.5, False), (1.0, True))
    """
    xs, ys = _pareto(points)
    if not xs:
        return math.nan, True
    outside = replica_hours < xs[0] or replica_hours > xs[-1]
    return float(np.interp(replica_hours, xs, ys)), outside


def _pareto(points: list[dict[str, float]]) -> tuple[list[float], list[float]]:
    ordered = sorted(points, key=lambda p: (p["replica_hours"], p["under_provisioned_pct"]))
    xs: list[float] = []
    ys: list[float] = []
    for p in ordered:
        if not ys or p["under_provisioned_pct"] < ys[-1]:
            xs.append(p["replica_hours"])
            ys.append(p["under_provisioned_pct"])
    return xs, ys


def replica_hours_at(points: list[dict[str, float]], under_pct: float) -> float:
    """Fewest replica-hours on a frontier with under-provisioned time at most ``under_pct`` (NaN: never).

    >>> pts = [
    ...     {"replica_hours": 10, "under_provisioned_pct": 4.0},
    ...     {"replica_hours": 20, "under_provisioned_pct": 1.0},
    ... ]
    >>> replica_hours_at(pts, 2.5), replica_hours_at(pts, 0.5)
    (15.0, nan)
    """
    xs, ys = _pareto(points)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if y <= under_pct:
            if i == 0:
                return x
            x0, y0 = xs[i - 1], ys[i - 1]
            return x0 + (x - x0) * (y0 - under_pct) / (y0 - y)
    return math.nan


def resolve_model(name: str) -> tuple[forecasting.BaseForecaster, str]:
    """The forecaster for ``name``; ``auto`` without a trained DeepAR falls back to the other candidates.

    The fallback is reported (it is part of the result's ``model``), never silent.
    """
    model = forecasting.get(name)
    if name != "auto":
        return model, name
    probe = forecasting.Series(np.sin(np.arange(200) / 10.0) + 2.0, pd.Timestamp("2000-01-03", tz="UTC"), 60)
    try:
        model.sample([probe], 2, n_samples=2)
    except (RuntimeError, ImportError):
        from foresight.forecasting import auto

        candidates = [c for c in auto.DEFAULT_CANDIDATES if c != "deepar"]
        return auto.Auto(candidates=candidates), f"auto ({', '.join(candidates)}; DeepAR not trained)"
    return model, name


def run_benchmark(
    trace: Trace, config: BenchConfig = BenchConfig(), progress: Progress | None = None
) -> BenchResult:
    """Replay ``trace`` under every policy in ``config.policies``; see the module docstring."""
    unknown = set(config.policies) - set(POLICIES)
    if unknown:
        raise ValueError(f"unknown policies {sorted(unknown)}; known: {', '.join(POLICIES)}")
    peak = float(np.nanmax(trace.values))
    capacity = config.capacity_per_replica or peak / config.peak_replicas
    warmup = config.warmup_seconds
    if warmup is None:
        warmup = min(7 * 86400, int(0.3 * trace.span_seconds))
    first = math.ceil(warmup / trace.step_seconds)
    last = len(trace) - 1
    if config.eval_days is not None:
        last = min(last, first + int(config.eval_days * 86400 / trace.step_seconds))
    if last - first < 2:
        raise ValueError("the trace is too short to evaluate after its warm-up")
    tick = _tick_seconds(trace.step_seconds)
    workload = Workload(demand_on_grid(trace, tick, first, last), trace.time_of(first), tick, trace.name)
    cluster = ClusterConfig(
        capacity_per_replica=capacity,
        startup_seconds=config.startup_seconds,
        tick_seconds=tick,
        control_interval_seconds=config.control_interval_seconds,
        min_replicas=config.min_replicas,
        max_replicas=config.max_replicas or 5 * config.peak_replicas,
        max_schedulable_replicas=config.max_schedulable_replicas,
    )
    span = len(workload) * tick
    banks: dict[str, ForecastBank] = {}
    model_description = ""
    for family in ("holt-winters", "fft", "foresight"):
        if family not in config.policies:
            continue
        horizon = config.forecast_every_seconds + config.startup_seconds + config.control_interval_seconds
        if family == "fft":
            horizon = config.forecast_every_seconds + config.fft_window_seconds
        model, description = resolve_model(config.model if family == "foresight" else family)
        if family == "foresight":
            model_description = description
        samples = config.n_samples if family == "foresight" else config.baseline_samples

        def report(done: int, total: int, family: str = family) -> None:
            if progress is not None:
                progress(f"forecast {family}", done, total)

        banks[family] = build_forecast_bank(
            trace, first, span, description, config.forecast_every_seconds, horizon, samples,
            seed=config.seed, forecaster=model, progress=report,
        )  # fmt: skip

    def replay(policy: Policy, load: Workload) -> Run:
        plan = oracle_replicas(
            required_replicas(load.demand, capacity), cluster.startup_ticks, cluster.min_replicas
        )
        return simulate(policy, load, cluster, initial_replicas=int(plan[0]))

    runs: dict[str, Run] = {}
    metrics: dict[str, dict[str, float]] = {}
    for n, family in enumerate(config.policies):
        if progress is not None:
            progress("replay", n, len(config.policies))
        runs[family] = replay(_policy(family, config, banks), workload)
        metrics[family] = run_metrics(runs[family], workload, capacity)
    if "oracle" in metrics:
        oracle_hours = metrics["oracle"]["replica_hours"]
        for values in metrics.values():
            values["over_provisioning_vs_oracle_pct"] = 100.0 * (values["replica_hours"] / oracle_hours - 1.0)

    frontier: dict[str, list[dict[str, float]]] = {}
    if config.sweep:
        frontier = _sweep(config, banks, workload, replay, capacity, progress)
    summary = _summary(config, metrics, frontier)
    return BenchResult(trace, config, capacity, workload, runs, metrics, frontier, summary, model_description)


def _sweep(
    config: BenchConfig,
    banks: dict[str, ForecastBank],
    workload: Workload,
    replay: Callable[[Policy, Workload], Run],
    capacity: float,
    progress: Progress | None,
) -> dict[str, list[dict[str, float]]]:
    load = workload
    if config.sweep_days is not None:
        ticks = int(config.sweep_days * 86400 / workload.tick_seconds)
        load = dataclasses.replace(workload, demand=workload.demand[:ticks])
    families = [f for f in config.policies if f != "oracle"]
    jobs = [(f, k) for f in families for k in (config.quantiles if f == "foresight" else config.hpa_targets)]
    frontier: dict[str, list[dict[str, float]]] = {f: [] for f in families}
    for n, (family, knob) in enumerate(jobs):
        if progress is not None:
            progress("frontier", n, len(jobs))
        values = run_metrics(replay(_policy(family, config, banks, knob), load), load, capacity)
        frontier[family].append(
            {
                _knob(family): knob,
                "replica_hours": values["replica_hours"],
                "under_provisioned_pct": values["under_provisioned_pct"],
                "unserved_fraction": values["unserved_fraction"],
            }
        )
    if "oracle" in config.policies:
        values = run_metrics(replay(OraclePolicy(), load), load, capacity)
        frontier["oracle"] = [
            {
                "replica_hours": values["replica_hours"],
                "under_provisioned_pct": values["under_provisioned_pct"],
            }
        ]
    if progress is not None:
        progress("frontier", len(jobs), len(jobs))
    return frontier


def _summary(
    config: BenchConfig, metrics: dict[str, dict[str, float]], frontier: dict[str, list[dict[str, float]]]
) -> dict[str, Any]:
    nan = math.nan
    summary: dict[str, Any] = {
        "hpa_under_provisioned_pct_at_equal_replica_hours": nan,
        "under_provisioned_ratio_vs_hpa": nan,
        "gap_closed": nan,
        "replica_hours_vs_oracle": nan,
        "replica_hours_at_slo_vs_hpa": nan,
        "slo_under_provisioned_pct": SLO_UNDER_PROVISIONED_PCT,
    }
    if "foresight" in metrics and "oracle" in metrics:
        summary["replica_hours_vs_oracle"] = (
            metrics["foresight"]["replica_hours"] / metrics["oracle"]["replica_hours"]
        )
    default = [p for p in frontier.get("foresight", []) if p["quantile"] == config.quantile]
    if default and frontier.get("hpa"):
        point = default[0]
        hpa_under, outside = frontier_at(frontier["hpa"], point["replica_hours"])
        summary["hpa_under_provisioned_pct_at_equal_replica_hours"] = hpa_under
        summary["hpa_interpolation_extrapolated"] = outside
        summary["foresight_under_provisioned_pct"] = point["under_provisioned_pct"]
        if hpa_under > 0:
            ratio = point["under_provisioned_pct"] / hpa_under
            summary["under_provisioned_ratio_vs_hpa"] = ratio
            summary["gap_closed"] = 1.0 - ratio
        for other in ("holt-winters", "fft"):
            if frontier.get(other):
                value, outside = frontier_at(frontier[other], point["replica_hours"])
                summary[f"{other}_under_provisioned_pct_at_equal_replica_hours"] = value
                summary[f"{other}_interpolation_extrapolated"] = outside
    at_slo = {
        family: replica_hours_at(points, SLO_UNDER_PROVISIONED_PCT) for family, points in frontier.items()
    }
    summary["replica_hours_at_slo"] = at_slo
    if "foresight" in at_slo and "hpa" in at_slo:
        summary["replica_hours_at_slo_vs_hpa"] = at_slo["foresight"] / at_slo["hpa"]
    if "oracle" in at_slo:
        summary["replica_hours_at_slo_vs_oracle"] = {
            family: hours / at_slo["oracle"] for family, hours in at_slo.items() if family != "oracle"
        }
    return summary
