"""The benchmark: every policy on one trace, the cost/violation frontier and the summary numbers.

Protocol (documented in ``docs/benchmark.md``):

1. Capacity per replica defaults to ``max(trace) / peak_replicas`` (20): the busiest moment needs 20 pods.
2. The first ``warmup`` (7 days, or 30 % of a shorter trace) is history only: forecasters see it, nothing is
   scored. Every policy then replays the rest from the same start (enough ready pods for the first minutes).
3. The load is held between trace points; every policy reads it through the same metric pipeline (scrape
   interval, rate window; see :class:`MetricPipeline`), forecasters through the history grid the operator
   queries. Foresight decides at every reconcile (30 s) from a forecast made at every new history point
   (one per forecast step), as the operator does; PHPA's Holt-Winters also forecasts every step; Crane's DSP
   refits every 12 hours. Forecasts are made once per origin and shared by every knob setting.
4. The frontier re-runs the policies over a sweep of their knob (HPA and Holt-Winters/FFT: target
   utilization; Foresight: quantile), extended until the SLO crossing and Foresight's default replica-hours
   are bracketed. Foresight quantiles that its sample paths cannot resolve (fewer than ``tail_samples``
   paths beyond them) are sized by the planner's conformal calibration instead, or left out of the frontier.
5. The summary compares at equal cost by interpolating each frontier (replica-hours → under-provisioned
   time, log-linearly) after dropping dominated points; values outside a frontier's range are flagged.
6. Forecasting dominates the run time, then Foresight's decisions; with ``jobs`` > 1 independent work runs in
   processes (the results do not depend on ``jobs``).
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from typing import Any

import numpy as np
import pandas as pd

from foresight import forecasting, planning
from foresight.simulation._engine import ClusterConfig, MetricPipeline, Policy, Run, Workload, simulate
from foresight.simulation._hpa import HpaConfig
from foresight.simulation._metrics import cost_metrics, run_metrics
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

__all__ = [
    "POLICIES",
    "PRETRAINED_SOURCES",
    "SLO_UNDER_PROVISIONED_PCT",
    "BenchConfig",
    "BenchResult",
    "ModelExposure",
    "frontier_at",
    "model_exposure",
    "quantile_sizing",
    "replica_hours_at",
    "resolve_model",
    "run_benchmark",
    "scored_window",
    "slo_crossing",
]

POLICIES = ("hpa", "holt-winters", "fft", "foresight", "oracle")
SLO_UNDER_PROVISIONED_PCT = 0.1
HPA_FAMILIES = ("hpa", "holt-winters", "fft")
CRANE_REFIT_SECONDS = 12 * 3600  # gocrane/crane pkg/prediction/dsp: queryInterval
# Beyond the configured sweep: knobs tried, in order, until a crossing is bracketed.
MORE_TARGETS = (0.3, 0.25, 0.2, 0.15, 0.1)  # lower target utilization: more replicas
FEWER_TARGETS = (1.1, 1.25, 1.5, 1.75, 2.0)
MORE_QUANTILES = (0.98, 0.99, 0.995, 0.998)
FEWER_QUANTILES = (0.5, 0.3, 0.2, 0.1)
# Pretrained networks whose published pretraining corpora hold shared traces (``forecasting/zero_shot.py``):
# LOTSA includes the Alibaba 2018 cluster trace and the Azure 2017 VM traces.
PRETRAINED_SOURCES: dict[str, tuple[str, ...]] = {"fracast": ("alibaba", "azure-v1")}

Progress = Callable[[str, int, int], None]


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """Benchmark settings; the defaults are what ``docs/benchmark.md`` uses.

    ``forecast_every_seconds`` ``None`` is the operator's cadence: a forecast at every new history point
    (every forecast step). ``control_interval_seconds`` ``None`` is the operator's lead-window width,
    ``max(forecast step, reconcile_seconds)``.
    """

    capacity_per_replica: float | None = None
    peak_replicas: int = 20
    startup_seconds: int = 180
    reconcile_seconds: int = 30  # the operator's default --tick (config.Settings.tick_seconds)
    control_interval_seconds: int | None = None
    scrape_interval_seconds: int = 30
    rate_window_seconds: int = 120
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
    fft_every_seconds: int = CRANE_REFIT_SECONDS
    forecast_every_seconds: int | None = None
    forecast_horizon_seconds: int = 1800  # spec.forecast.horizon's default
    n_samples: int = 100
    baseline_samples: int = 20
    tail_samples: int = 5
    warmup_seconds: int | None = None
    eval_days: float | None = None
    sweep: bool = True
    ablation: bool = False  # replay the variants of ABLATION too (bench-report does)
    floor_sweep: bool = False  # Foresight's frontier also sweeps the HPA under a miss-rate floor
    floor_miss_rate: float = 0.01
    hpa_targets: tuple[float, ...] = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    quantiles: tuple[float, ...] = (0.8, 0.9, 0.95, 0.99)
    max_extra_points: int = 5
    sweep_days: float | None = None
    seed: int = 0
    jobs: int = 1

    @property
    def pipeline(self) -> MetricPipeline:
        return MetricPipeline(self.scrape_interval_seconds, self.rate_window_seconds)


@dataclasses.dataclass(frozen=True)
class ModelExposure:
    """Whether the forecaster never saw the scored window of the trace, and why (for the record)."""

    unseen: bool
    note: str


@dataclasses.dataclass(eq=False)
class BenchResult:
    """Everything a report needs; :meth:`to_json` is the stable contract."""

    trace: Trace
    config: BenchConfig
    capacity_per_replica: float
    workload: Workload
    runs: dict[str, Run]
    metrics: dict[str, dict[str, float]]
    frontier: dict[str, list[dict[str, Any]]]
    summary: dict[str, Any]
    model: str = ""
    exposure: ModelExposure | None = None
    seed_terms: dict[str, dict[str, dict[str, Any]]] = dataclasses.field(default_factory=dict)
    protocol: dict[str, Any] = dataclasses.field(default_factory=dict)
    ablation: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [clean(v) for v in value]
            if isinstance(value, np.generic):
                return clean(value.item())
            return value

        start = self.workload.start
        exposure = self.exposure
        return clean(
            {
                "trace": self.trace.name,
                "column": self.trace.column,
                "startup_seconds": self.config.startup_seconds,
                "capacity_per_replica": self.capacity_per_replica,
                "model": self.model,
                "model_unseen": None if exposure is None else exposure.unseen,
                "model_exposure": None if exposure is None else exposure.note,
                "evaluated": {
                    "start": start.isoformat(),
                    "days": round(self.workload.days, 3),
                    "tick_seconds": self.workload.tick_seconds,
                    "trace_step_seconds": self.trace.step_seconds,
                },
                "protocol": self.protocol,
                "policies": self.metrics,
                "frontier": self.frontier,
                "seed_terms": self.seed_terms,
                "summary": self.summary,
                "ablation": self.ablation,
            }
        )


# -- frontier arithmetic ----------------------------------------------------------------------------------


def _usable(points: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The swept points a frontier is made of: all but quantiles neither the paths nor calibration resolve."""
    return [p for p in points if p.get("sized_by", "samples") != "unresolved"]


def _pareto(points: Iterable[dict[str, Any]]) -> tuple[list[float], list[float]]:
    ordered = sorted(_usable(points), key=lambda p: (p["replica_hours"], p["under_provisioned_pct"]))
    xs: list[float] = []
    ys: list[float] = []
    for p in ordered:
        if not ys or p["under_provisioned_pct"] < ys[-1]:
            xs.append(p["replica_hours"])
            ys.append(p["under_provisioned_pct"])
    return xs, ys


def _swept_to(points: Iterable[dict[str, Any]]) -> float:
    """The most replica-hours a sweep spent at any usable setting."""
    return max(p["replica_hours"] for p in _usable(points))


def _between(y0: float, y1: float, share: float) -> float:
    """Under-provisioned time ``share`` of the way from ``y0`` to ``y1``: log-linear, as the curve is convex.

    A segment that ends at 0 is linear (no logarithm reaches 0).
    """
    if y0 > 0 and y1 > 0:
        return math.exp(math.log(y0) + (math.log(y1) - math.log(y0)) * share)
    return y0 + (y1 - y0) * share


def frontier_at(points: list[dict[str, Any]], replica_hours: float) -> tuple[float, bool]:
    """Under-provisioned % a frontier reaches at ``replica_hours`` (and whether that is extrapolated).

    Dominated points are dropped (more cost for no less violation), the rest interpolated log-linearly in
    under-provisioned time; outside the frontier's range, its nearest end is used and flagged.

    >>> pts = [
    ...     {"replica_hours": 10, "under_provisioned_pct": 4.0},
    ...     {"replica_hours": 20, "under_provisioned_pct": 1.0},
    ... ]
    >>> frontier_at(pts, 15), frontier_at(pts, 30)
    ((2.0, False), (1.0, True))
    """
    xs, ys = _pareto(points)
    if not xs:
        return math.nan, True
    if replica_hours <= xs[0]:
        return ys[0], replica_hours < xs[0]
    if replica_hours >= xs[-1]:
        return ys[-1], replica_hours > xs[-1]
    i = int(np.searchsorted(xs, replica_hours))
    share = (replica_hours - xs[i - 1]) / (xs[i] - xs[i - 1])
    return _between(ys[i - 1], ys[i], share), False


FRONTIER_RATIO_POINTS = 41
"""Evenly spaced replica-hours at which :func:`frontier_ratio` compares two frontiers."""


def frontier_ratio(
    ours: list[dict[str, Any]],
    theirs: list[dict[str, Any]],
    resolution_pct: float,
    points: int = FRONTIER_RATIO_POINTS,
) -> tuple[float, float, float]:
    """Geometric mean of ``ours`` ÷ ``theirs`` under-provisioned time over the replica-hours both reach.

    The one-point ratio compares the frontiers at Foresight's default setting only, so it also judges
    where that setting sits. This one compares them along the whole stretch of cost both sweeps cover
    (interpolated as :func:`frontier_at`; past a frontier's last point, up to the most its sweep spent, the
    last point's value holds, as a setting that cheap is still there to choose). Under-provisioned time below
    ``resolution_pct`` (one tick of the scored time: the least a replay can measure) counts as that much,
    so that a frontier which reaches 0 stays comparable. Returns ``(ratio, low, high)``: the ratio and
    the stretch of replica-hours; NaN where the frontiers share no stretch.

    >>> def points(*pairs): return [{"replica_hours": x, "under_provisioned_pct": y} for x, y in pairs]
    >>> ours, theirs = points((10, 2.0), (30, 0.5)), points((20, 2.0), (40, 0.5))
    >>> ratio, low, high = frontier_ratio(ours, theirs, 0.01)
    >>> round(ratio, 3), low, high  # at 20 replica-hours 1.0 against 2.0, at 30: 0.5 against 1.0
    (0.5, 20, 30)
    >>> frontier_ratio(ours[:1], theirs, 0.01)[0]  # no shared stretch
    nan
    """
    xo, _ = _pareto(ours)
    xt, _ = _pareto(theirs)
    if not xo or not xt:
        return math.nan, math.nan, math.nan
    # Past a frontier's last point its settings cost more for no less violation: it holds that last value.
    low, high = max(xo[0], xt[0]), min(_swept_to(ours), _swept_to(theirs))
    if not low < high:
        return math.nan, math.nan, math.nan
    logs = [
        math.log(max(frontier_at(ours, x)[0], resolution_pct))
        - math.log(max(frontier_at(theirs, x)[0], resolution_pct))
        for x in np.linspace(low, high, points)
    ]
    return math.exp(float(np.mean(logs))), low, high


def slo_crossing(points: list[dict[str, Any]], under_pct: float) -> tuple[float, bool]:
    """Fewest replica-hours on a frontier with under-provisioned time at most ``under_pct``, and whether the
    crossing is bracketed by swept points (if not, the value is an upper bound, or NaN: never reached).

    >>> pts = [
    ...     {"replica_hours": 10, "under_provisioned_pct": 4.0},
    ...     {"replica_hours": 20, "under_provisioned_pct": 1.0},
    ... ]
    >>> slo_crossing(pts, 2.0), slo_crossing(pts, 0.5), slo_crossing(pts, 5.0)
    ((15.0, True), (nan, False), (10, False))
    """
    xs, ys = _pareto(points)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if y <= under_pct:
            if i == 0:
                return x, False
            x0, y0 = xs[i - 1], ys[i - 1]
            if y > 0:
                share = (math.log(y0) - math.log(under_pct)) / (math.log(y0) - math.log(y))
            else:
                share = (y0 - under_pct) / (y0 - y)
            return x0 + (x - x0) * share, True
    return math.nan, False


def replica_hours_at(points: list[dict[str, Any]], under_pct: float) -> float:
    """Fewest replica-hours on a frontier with under-provisioned time at most ``under_pct`` (NaN: never).

    >>> pts = [
    ...     {"replica_hours": 10, "under_provisioned_pct": 4.0},
    ...     {"replica_hours": 20, "under_provisioned_pct": 1.0},
    ... ]
    >>> replica_hours_at(pts, 2.0), replica_hours_at(pts, 0.5)
    (15.0, nan)
    """
    return slo_crossing(points, under_pct)[0]


def least_replica_hours(
    workload: Workload, capacity_per_replica: float, min_replicas: int, under_pct: float
) -> float:
    """Replica-hours below which no policy, however it foresees the load, is under-provisioned at most
    ``under_pct`` of the scored time.

    At every tick that is not under-provisioned the replicas requested are at least those Ready, which
    are at least :func:`required_replicas`; at every tick, at least ``min_replicas``. The bound pays each
    tick's need and lets the ``under_pct`` share of ticks with the largest needs fall to ``min_replicas``.
    It ignores start-up (a pod paid before it serves), so it is below the oracle's replica-hours, which
    pays it and is never under-provisioned. Only ticks with a reading count, as in :func:`cost_metrics`.

    A tick needing 3 replicas among 999 needing 1, and a gap: 1,002 replica-hours never under-provisioned;
    at 0.1 % (one tick of 1,000 with a reading) the busiest tick may fall to one replica.

    >>> load = Workload(np.array([100.0, 300.0, 100.0, np.nan] + [100.0] * 997), None, 3600, "t")
    >>> least_replica_hours(load, 100.0, 1, 0.0), least_replica_hours(load, 100.0, 1, 0.1)
    (1002.0, 1000.0)
    """
    observed = np.isfinite(workload.demand)
    need = np.maximum(required_replicas(workload.demand[observed], capacity_per_replica), min_replicas)
    missed = math.floor(under_pct / 100.0 * need.size + 1e-9)
    excess = np.sort(need - min_replicas)[::-1][:missed]
    return float(need.sum() - excess.sum()) * workload.tick_seconds / 3600.0


def quantile_sizing(quantile: float, config: BenchConfig) -> str:
    """How Foresight's peak at ``quantile`` is sized: ``samples``, ``calibration`` or ``unresolved``.

    A quantile is resolved by the sample paths when ``tail_samples`` of them lie beyond it; past that, the
    top order statistics of a few paths would stand in for the tail, so the planner's conformal calibration
    (observed ÷ predicted lead-window peaks, whose record resolves the quantile when ``tail_samples`` of its
    windows lie beyond it) sizes it instead; past both, the point cannot be measured honestly.

    >>> config = BenchConfig()
    >>> [quantile_sizing(q, config) for q in (0.9, 0.95, 0.99, 0.999)]
    ['samples', 'samples', 'calibration', 'unresolved']
    """
    beyond = 1.0 - quantile
    if not config.calibrate and config.n_samples * beyond >= config.tail_samples - 1e-9:
        return "samples"
    if planning.PeakCalibration().keep * beyond >= config.tail_samples - 1e-9:
        return "calibration"
    return "unresolved"


# -- model exposure ---------------------------------------------------------------------------------------


def _members(forecaster: Any) -> list[Any]:
    """The models whose weights a forecaster's paths come from (``auto`` blends its candidates)."""
    candidates = getattr(forecaster, "candidates", None)
    if candidates is not None and callable(getattr(forecaster, "model", None)):
        return [forecaster.model(name) for name in candidates]
    return [forecaster]


def model_exposure(
    forecaster: Any,
    trace_source: str | None,
    scored_from: float,
    source_of: Callable[[str], str] | None = None,
) -> ModelExposure:
    """Whether ``forecaster`` could have seen the scored window of a trace from ``trace_source``.

    ``scored_from`` is where scoring starts, as a share of the trace's time span; ``source_of`` maps a
    training file to its source (``foresight.commands.train.source_of``). An untrained model is unseen by
    construction; a trained one only if its recorded training data hold no file of the trace's source
    (leave-one-source-out), or only the part before the scored window; a pretrained network only if its
    published corpora hold nothing of that source. Anything unrecorded counts as seen.
    """
    notes: list[str] = []
    unseen = True
    for member in _members(forecaster):
        name = getattr(member, "name", type(member).__name__)
        info = getattr(member, "training_info", None) or {}
        trained = bool(getattr(member, "trained", bool(info)))
        if name in PRETRAINED_SOURCES:
            if trace_source in PRETRAINED_SOURCES[name]:
                unseen = False
                notes.append(f"{name}: its pretraining corpora hold {trace_source} traces")
            else:
                notes.append(f"{name}: pretrained; its published corpora hold no {trace_source} trace")
            continue
        if not trained:
            notes.append(f"{name}: untrained (unseen by construction)")
            continue
        files = [str(d.get("file", "")) for d in info.get("data", [])]
        if not files or source_of is None or trace_source is None:
            unseen = False
            notes.append(f"{name}: trained on data it does not record against this trace")
            continue
        sources = set()
        for file in files:
            try:
                sources.add(source_of(file))
            except ValueError:
                sources.add(file)
        if trace_source not in sources:
            excluded = info.get("excluded_sources") or []
            how = "leave-one-source-out" if trace_source in excluded else "not in its training data"
            notes.append(f"{name}: never trained on {trace_source} ({how})")
            continue
        trained_until = 1.0 - float(info.get("test_fraction", 0.2))
        if scored_from >= trained_until - 1e-9:
            notes.append(
                f"{name}: trained on the first {trained_until:.0%} of {trace_source} traces, before the "
                f"scored window (from {scored_from:.0%})"
            )
            continue
        unseen = False
        notes.append(
            f"{name}: IN-SAMPLE, trained on the first {trained_until:.0%} of {trace_source} traces, which "
            f"overlaps the scored window (from {scored_from:.0%})"
        )
    return ModelExposure(unseen, "; ".join(notes))


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


# -- set-up ---------------------------------------------------------------------------------------------


def scored_window(trace: Trace, config: BenchConfig) -> tuple[int, int]:
    """First and last scored trace point: after the warm-up, for ``eval_days`` at most."""
    warmup = config.warmup_seconds
    if warmup is None:
        warmup = min(7 * 86400, int(0.3 * trace.span_seconds))
    first = math.ceil(warmup / trace.step_seconds)
    last = len(trace) - 1
    if config.eval_days is not None:
        last = min(last, first + int(config.eval_days * 86400 / trace.step_seconds))
    if last - first < 2:
        raise ValueError("the trace is too short to evaluate after its warm-up")
    return first, last


def _tick_seconds(step_seconds: int) -> int:
    # The HPA syncs every 15 s; finer traces keep their own resolution.
    return math.gcd(15, step_seconds)


def _forecast_step(trace: Trace) -> int:
    step = max(trace.step_seconds, 60)
    return step - step % trace.step_seconds


def _knob(family: str) -> str:
    return "quantile" if family == "foresight" else "target_utilization"


@dataclasses.dataclass(eq=False)
class _Context:
    """What a replay needs; handed to worker processes once (forked: shared, not copied)."""

    trace: Trace
    config: BenchConfig
    cluster: ClusterConfig
    workload: Workload
    sweep_load: Workload
    capacity: float
    first: int
    forecaster: Any = None
    model_description: str = ""
    banks: dict[str, ForecastBank] = dataclasses.field(default_factory=dict)


_CONTEXT: _Context | None = None


def _set_context(context: _Context) -> None:
    global _CONTEXT
    _CONTEXT = context


def _policy(family: str, ctx: _Context, knob: float | None = None) -> Policy:
    config = ctx.config
    if family == "hpa":
        return HpaPolicy(HpaConfig(target_utilization=knob or config.hpa_target))
    if family == "oracle":
        return OraclePolicy()
    if family == "foresight":
        quantile = knob or config.quantile
        if config.calibrate or quantile_sizing(quantile, config) != "calibration":
            return ForesightPolicy(
                ctx.banks[family],
                quantile=quantile,
                safety_net=HpaConfig(target_utilization=config.safety_net_target),
                calibrate=config.calibrate,
            )
        # Past what the paths resolve: the default quantile's peak, calibrated to miss 1 - quantile of the
        # lead windows (the operator's spec.scaling.targetMissRate).
        return _variant_policy(ctx, {"target_miss_rate": round(1.0 - quantile, 9)})
    lead = float(config.startup_seconds)
    window = (
        (lead, lead + ctx.cluster.control_interval_seconds)
        if family == "holt-winters"
        else (0.0, float(config.fft_window_seconds))
    )
    margin = config.fft_margin if family == "fft" else 1.0
    hpa = HpaConfig(target_utilization=knob or config.hpa_target)
    return ForecastMetricPolicy(family, ctx.banks[family], window, hpa, margin)


ABLATION: dict[str, dict[str, Any]] = {
    "user's HPA": {"safety_net_target": None},
    "miss rate 0.01": {"target_miss_rate": 0.01},
    "miss rate 0.01, anchored": {"target_miss_rate": 0.01, "anchor": True},
    "miss rate 0.01, user's HPA": {"target_miss_rate": 0.01, "safety_net_target": None},
    "scale-down after 60 s": {"stabilization_seconds": 60},
    "scale-down after 60 s, quantile 0.95": {"stabilization_seconds": 60, "quantile": 0.95},
    "no hold until replaced": {"hold_until_replaced": False},
}
"""Variants of Foresight's default, each replayed at its one setting:

* ``user's HPA``: the floor over an HPA at the user's own target (the HPA policy's, 70 %), not at 90 %, so
  that the policy family contains plain HPA;
* ``miss rate 0.01``: the lead-window peak calibrated to miss 1 % of windows (``scaling.targetMissRate``);
* ``anchored``: the peak is at least the present reading (``planning.PlanningPolicy.anchor``) before it is
  calibrated, so the calibration learns a headroom over the present where the forecast adds nothing;
* ``scale-down after 60 s``: the floor falls to the highest floor desired in the last 60 s instead of 300 s
  (``scaling.scaleDown.stabilizationSeconds``), trusting a forecast that says the load falls; with
  ``quantile 0.95`` the savings go to the peak's headroom;
* ``no hold until replaced``: a lower floor is sized for the lead window's peak alone, as before the
  planner's ``hold_until_replaced`` guard, not for the peak until a new pod could serve.
"""


def _variant_policy(ctx: _Context, settings: dict[str, Any]) -> ForesightPolicy:
    """Foresight at its defaults with ``settings`` changed (``safety_net_target: None``: the HPA's own)."""
    config = ctx.config
    net = settings.get("safety_net_target", config.safety_net_target)
    return ForesightPolicy(
        ctx.banks["foresight"],
        quantile=settings.get("quantile", config.quantile),
        safety_net=HpaConfig(target_utilization=config.hpa_target if net is None else net),
        calibrate=config.calibrate,
        target_miss_rate=settings.get("target_miss_rate"),
        anchor=settings.get("anchor", False),
        hold_until_replaced=settings.get("hold_until_replaced", True),
        stabilization_seconds=settings.get("stabilization_seconds", ForesightPolicy.stabilization_seconds),
    )


def _replay(ctx: _Context, policy: Policy, load: Workload) -> Run:
    plan = oracle_replicas(
        required_replicas(load.demand, ctx.capacity), ctx.cluster.startup_ticks, ctx.cluster.min_replicas
    )
    return simulate(policy, load, ctx.cluster, initial_replicas=int(plan[0]))


def _build_bank(
    ctx: _Context, family: str, progress: Callable[[int, int], None] | None = None
) -> ForecastBank:
    config, cluster = ctx.config, ctx.cluster
    step = _forecast_step(ctx.trace)
    span = len(ctx.workload) * ctx.workload.tick_seconds
    if family == "fft":
        every = max(step, config.fft_every_seconds)
        reach = every + config.fft_window_seconds
        horizon, model, samples, batch = reach, forecasting.get("fft"), config.baseline_samples, 64
    else:
        every = config.forecast_every_seconds or step
        reach = every + HpaConfig().sync_seconds + config.startup_seconds + cluster.control_interval_seconds
        # As many steps as the operator asks for (horizon // step; models such as analog choose their
        # settings on that horizon), or more when the lead window reaches further.
        horizon = max(config.forecast_horizon_seconds - step, reach)
        if family == "foresight":
            model, samples, batch = ctx.forecaster, config.n_samples, 64
        else:
            # Holt-Winters fits a whole batch as one vectorised recursion: 128 histories cost least each.
            model, samples, batch = forecasting.get(family), config.baseline_samples, 128
    name = ctx.model_description if family == "foresight" else family
    return build_forecast_bank(
        ctx.trace, ctx.first, span, name, every, horizon, samples, seed=config.seed, batch_size=batch,
        forecaster=model, progress=progress, stored_seconds=reach + step,
    )  # fmt: skip


# -- work units (run in this process or in a worker) ------------------------------------------------------


def _point(ctx: _Context, family: str, knob: float, load: Workload) -> tuple[dict[str, Any], Run]:
    """One frontier point: the policy at ``knob`` replayed on ``load``, with every metric."""
    run = _replay(ctx, _policy(family, ctx, knob), load)
    values = run_metrics(run, load, ctx.capacity)
    point: dict[str, Any] = {_knob(family): knob, **values}
    if family == "foresight":
        point["sized_by"] = quantile_sizing(knob, ctx.config)
    return point, run


def _variant_task(name: str) -> tuple[dict[str, float], Run]:
    """One ablation variant (:data:`ABLATION`) replayed on the scored days."""
    assert _CONTEXT is not None
    ctx = _CONTEXT
    run = _replay(ctx, _variant_policy(ctx, ABLATION[name]), ctx.workload)
    return run_metrics(run, ctx.workload, ctx.capacity), run


def _floor_task(target: float) -> tuple[dict[str, Any], Run]:
    """A frontier point of Foresight's second knob: the HPA's target under a fixed miss-rate floor."""
    assert _CONTEXT is not None
    ctx = _CONTEXT
    settings = {"target_miss_rate": ctx.config.floor_miss_rate, "safety_net_target": target}
    run = _replay(ctx, _variant_policy(ctx, settings), ctx.sweep_load)
    values = run_metrics(run, ctx.sweep_load, ctx.capacity)
    return {"quantile": None, **settings, **values, "sized_by": "calibration"}, run


def _floor_target(settings: dict[str, Any], config: BenchConfig) -> float | None:
    """The HPA target of the floor sweep's point that ``settings`` (an :data:`ABLATION` entry) is, if any."""
    # A floor point sets the miss rate and the HPA's target and nothing else.
    if set(settings) - {"target_miss_rate", "safety_net_target"} or (
        settings.get("target_miss_rate") != config.floor_miss_rate
    ):
        return None
    if "safety_net_target" not in settings:
        return config.safety_net_target
    net = settings["safety_net_target"]
    return config.hpa_target if net is None else float(net)


def point_setting(point: dict[str, Any]) -> str:
    """A Foresight frontier point's settings in words.

    >>> point_setting({"quantile": 0.9}), point_setting({"target_miss_rate": 0.01, "safety_net_target": 0.7})
    ('quantile 0.9', 'miss rate 0.01 over an HPA at 0.7')
    """
    if point.get("quantile") is not None:
        return f"quantile {point['quantile']:g}"
    return f"miss rate {point['target_miss_rate']:g} over an HPA at {point['safety_net_target']:g}"


def _point_task(family: str, knob: float) -> tuple[dict[str, Any], Run]:
    assert _CONTEXT is not None
    return _point(_CONTEXT, family, knob, _CONTEXT.sweep_load)


def _main_run_task(family: str) -> tuple[dict[str, float], Run]:
    assert _CONTEXT is not None
    ctx = _CONTEXT
    run = _replay(ctx, _policy(family, ctx), ctx.workload)
    return run_metrics(run, ctx.workload, ctx.capacity), run


def _baselines_task(families: Sequence[str], default_hours: float | None) -> dict[str, Any]:
    """HPA-like families: their banks, their swept frontiers (extended to bracket the SLO), the oracle."""
    assert _CONTEXT is not None
    ctx = _CONTEXT
    out: dict[str, Any] = {"banks": {}, "frontier": {}, "runs": {}, "metrics": {}}
    for family in families:
        if family in ("holt-winters", "fft"):
            ctx.banks[family] = out["banks"][family] = _build_bank(ctx, family)
        if not ctx.config.sweep:
            continue
        points: list[dict[str, Any]] = []
        runs: dict[float, Run] = {}
        for knob in ctx.config.hpa_targets:
            point, run = _point(ctx, family, knob, ctx.sweep_load)
            points.append(point)
            runs[knob] = run
        _extend(ctx, family, points, runs, default_hours)
        out["frontier"][family] = points
        if ctx.sweep_load is ctx.workload and ctx.config.hpa_target in runs:
            out["runs"][family] = runs[ctx.config.hpa_target]
            out["metrics"][family] = next(p for p in points if p[_knob(family)] == ctx.config.hpa_target)
    return out


def _run_local(tasks: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]]) -> list[Any]:
    return [fn(*args) for fn, args in tasks]


def _executor(jobs: int, ctx: _Context) -> Executor:
    methods = multiprocessing.get_all_start_methods()
    mp_context = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=mp_context, initializer=_set_context, initargs=(ctx,)
    )


def _run_parallel(
    ctx: _Context, tasks: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]], jobs: int
) -> list[Any]:
    """Run ``tasks`` (module-level functions reading the context) in ``jobs`` processes, in order."""
    _set_context(ctx)
    if jobs <= 1 or len(tasks) <= 1:
        return _run_local(tasks)
    with _executor(min(jobs, len(tasks)), ctx) as pool:
        futures = [pool.submit(fn, *args) for fn, args in tasks]
        return [f.result() for f in futures]


# -- sweep extension --------------------------------------------------------------------------------------


def _next_knob(family: str, knobs: Sequence[float], more_replicas: bool, config: BenchConfig) -> float | None:
    """The next knob beyond the swept ones in the direction asked, or ``None`` when there is none."""
    if family == "foresight":
        if more_replicas:
            options = [
                q for q in MORE_QUANTILES if q > max(knobs) and quantile_sizing(q, config) != "unresolved"
            ]
        else:
            options = [q for q in FEWER_QUANTILES if q < min(knobs)]
    elif more_replicas:
        options = [t for t in MORE_TARGETS if t < min(knobs)]
    else:
        options = [t for t in FEWER_TARGETS if t > max(knobs)]
    return options[0] if options else None


def _direction(points: list[dict[str, Any]], default_hours: float | None) -> bool | None:
    """``True``: sweep towards more replicas, ``False``: fewer, ``None``: the crossings are bracketed."""
    xs, ys = _pareto(points)
    if not xs:
        return None
    if ys[0] <= SLO_UNDER_PROVISIONED_PCT:
        return False  # even the cheapest point holds the SLO: its crossing lies further down
    if ys[-1] > SLO_UNDER_PROVISIONED_PCT:
        return True
    if default_hours is not None:
        if default_hours < xs[0]:
            return False
        if default_hours > xs[-1]:
            return True
    return None


def _extend(
    ctx: _Context,
    family: str,
    points: list[dict[str, Any]],
    runs: dict[float, Run] | None,
    default_hours: float | None,
    jobs: int = 1,
) -> None:
    """Add knobs beyond the sweep, two a step, until the SLO crossing and ``default_hours`` are bracketed."""
    tried: set[float] = set()
    for _ in range(ctx.config.max_extra_points):
        direction = _direction(points, default_hours)
        if direction is None:
            return
        knobs = [p[_knob(family)] for p in points]
        knob = _next_knob(family, knobs, direction, ctx.config)
        if knob is None or knob in tried:
            return
        tried.add(knob)
        batch = [knob]
        # Two knobs a step, whatever ``jobs`` is (the points must not depend on it): a Foresight replay is
        # long, and with two processes the second costs no time.
        following = _next_knob(family, [*knobs, knob], direction, ctx.config)
        if following is not None:
            batch.append(following)
            tried.add(following)
        results = _run_parallel(ctx, [(_point_task, (family, k)) for k in batch], jobs)
        for k, (point, run) in zip(batch, results, strict=True):
            points.append(point)
            if runs is not None:
                runs[k] = run


def _stages(
    ctx: _Context,
    baselines: Sequence[str],
    tasks: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]],
    jobs: int,
    report: Progress,
) -> tuple[dict[str, Any], list[Any]]:
    """Foresight's forecasts, then ``tasks`` (which need them); the baselines' work beside them.

    With one job everything runs here in order. With more, a worker takes the baselines while this process
    forecasts for Foresight and works through ``tasks`` from the most costly; as soon as the baselines are
    done, workers forked with Foresight's forecasts take ``tasks`` from the other end. The results do not
    depend on who ran what.
    """
    _set_context(ctx)
    if jobs <= 1:
        if "foresight" in ctx.config.policies:
            ctx.banks["foresight"] = _build_bank(
                ctx, "foresight", lambda d, t: report("forecast foresight", d, t)
            )
        report("forecast and sweep baselines", 0, 1)
        baselines_done = _baselines_task(baselines, None)
        report("replay", 0, len(tasks))
        return baselines_done, _run_local(tasks)
    pool: Executor | None = _executor(jobs - 1, ctx) if baselines else None
    pending = pool.submit(_baselines_task, baselines, None) if pool is not None else None
    if "foresight" in ctx.config.policies:
        ctx.banks["foresight"] = _build_bank(
            ctx, "foresight", lambda d, t: report("forecast foresight", d, t)
        )
    done: dict[str, Any] = {"banks": {}, "frontier": {}, "runs": {}, "metrics": {}}
    results: list[Any] = [None] * len(tasks)
    queue = deque(range(len(tasks)))
    helper: Executor | None = None
    in_flight: dict[Future[Any], int] = {}
    if pending is None and len(queue) > 1:
        helper = _executor(jobs - 1, ctx)
    report("replay", 0, len(tasks))
    while queue or in_flight or pending is not None:
        if pending is not None and pending.done():
            done = pending.result()
            pending = None
            if pool is not None:
                pool.shutdown()
            if queue:
                helper = _executor(jobs - 1, ctx)  # forked now: with Foresight's forecasts
        for future in [f for f in in_flight if f.done()]:
            results[in_flight.pop(future)] = future.result()
        if helper is not None:
            while queue and len(in_flight) < jobs - 1:
                i = queue.pop()
                fn, args = tasks[i]
                in_flight[helper.submit(fn, *args)] = i
        if queue:
            i = queue.popleft()
            fn, args = tasks[i]
            results[i] = fn(*args)
            report("replay", len(tasks) - len(queue) - len(in_flight), len(tasks))
        elif in_flight or pending is not None:
            waiting = [*in_flight, *([pending] if pending is not None else [])]
            wait(waiting, return_when=FIRST_COMPLETED)
    if helper is not None:
        helper.shutdown()
    return done, results


# -- the benchmark ----------------------------------------------------------------------------------------


def run_benchmark(
    trace: Trace,
    config: BenchConfig = BenchConfig(),
    progress: Progress | None = None,
    forecaster: forecasting.BaseForecaster | None = None,
    exposure: ModelExposure | None = None,
) -> BenchResult:
    """Replay ``trace`` under every policy in ``config.policies``; see the module docstring.

    ``forecaster``: Foresight's model (default: ``config.model`` from the registry); ``exposure``: whether it
    saw the scored window (default: judged without knowing the trace's source, see :func:`model_exposure`).
    """
    started = time.perf_counter()
    unknown = set(config.policies) - set(POLICIES)
    if unknown:
        raise ValueError(f"unknown policies {sorted(unknown)}; known: {', '.join(POLICIES)}")
    peak = float(np.nanmax(trace.values))
    capacity = config.capacity_per_replica or peak / config.peak_replicas
    first, last = scored_window(trace, config)
    tick = _tick_seconds(trace.step_seconds)
    step = _forecast_step(trace)
    workload = Workload(demand_on_grid(trace, tick, first, last), trace.time_of(first), tick, trace.name)
    cluster = ClusterConfig(
        capacity_per_replica=capacity,
        startup_seconds=config.startup_seconds,
        tick_seconds=tick,
        control_interval_seconds=config.control_interval_seconds or max(step, config.reconcile_seconds),
        reconcile_seconds=config.reconcile_seconds,
        min_replicas=config.min_replicas,
        max_replicas=config.max_replicas or 5 * config.peak_replicas,
        max_schedulable_replicas=config.max_schedulable_replicas,
        pipeline=config.pipeline,
    )
    sweep_load = workload
    if config.sweep_days is not None:
        ticks = int(config.sweep_days * 86400 / tick)
        sweep_load = dataclasses.replace(workload, demand=workload.demand[:ticks])
    ctx = _Context(trace, config, cluster, workload, sweep_load, capacity, first)
    if "foresight" in config.policies:
        if forecaster is None:
            forecaster, ctx.model_description = resolve_model(config.model)
        else:
            ctx.model_description = config.model
        if exposure is None:
            exposure = model_exposure(forecaster, None, first / len(trace))
        ctx.forecaster = forecaster

    def report(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    jobs = max(1, config.jobs)
    baselines = [f for f in HPA_FAMILIES if f in config.policies]
    runs: dict[str, Run] = {}
    metrics: dict[str, dict[str, float]] = {}
    frontier: dict[str, list[dict[str, Any]]] = {}

    # Stages 1-2: Foresight's forecasts and replays here, the baselines' forecasts and sweeps beside them.
    tasks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
    labels: list[tuple[str, float | str | None]] = []
    if config.sweep and "foresight" in config.policies:
        # Calibrated points first: they are the slowest.
        quantiles = sorted(config.quantiles, key=lambda q: quantile_sizing(q, config) != "calibration")
        for q in quantiles:
            tasks.append((_point_task, ("foresight", q)))
            labels.append(("foresight", q))
    if config.sweep and config.floor_sweep and "foresight" in config.policies:
        for target in config.hpa_targets:
            tasks.append((_floor_task, (target,)))
            labels.append(("floor", target))
    swept_floor = config.sweep and config.floor_sweep and sweep_load is workload
    reused: dict[str, float] = {}  # variants that are a point of the floor sweep: replayed once
    if config.ablation and "foresight" in config.policies:
        for name in ABLATION:
            same = _floor_target(ABLATION[name], config)
            if swept_floor and same is not None and same in config.hpa_targets:
                reused[name] = same
                continue
            tasks.append((_variant_task, (name,)))
            labels.append(("ablation", name))
    from_sweep = config.sweep and sweep_load is workload
    later: list[str] = []  # main runs that need the baselines' forecasts
    for family in config.policies:
        knobs = config.quantiles if family == "foresight" else config.hpa_targets
        default = config.quantile if family == "foresight" else config.hpa_target
        if family != "oracle" and from_sweep and default in knobs:
            continue
        if family in ("holt-winters", "fft"):
            later.append(family)
        else:
            tasks.append((_main_run_task, (family,)))
            labels.append((family, None))
    done, results = _stages(ctx, baselines, tasks, jobs, report)
    ctx.banks.update(done["banks"])
    frontier.update(done["frontier"])
    runs.update(done["runs"])
    metrics.update(done["metrics"])
    later_runs = _run_parallel(ctx, [(_main_run_task, (f,)) for f in later], jobs)
    for family, (values, run) in zip(later, later_runs, strict=True):
        metrics[family], runs[family] = values, run
    foresight_points: list[dict[str, Any]] = []
    foresight_runs: dict[float, Run] = {}
    variants: dict[str, dict[str, Any]] = {}
    floor_points: list[dict[str, Any]] = []
    for (family, knob), (values, run) in zip(labels, results, strict=True):
        if family == "ablation":
            variants[str(knob)] = values
        elif family == "floor":
            floor_points.append(values)
        elif knob is None:
            metrics[family], runs[family] = values, run
        else:
            foresight_points.append(values)
            foresight_runs[float(knob)] = run
    if "foresight" in config.policies and "foresight" not in runs:
        runs["foresight"] = foresight_runs[config.quantile]
        metrics["foresight"] = next(p for p in foresight_points if p.get("quantile") == config.quantile)
    for family in list(metrics):
        metrics[family] = {k: v for k, v in metrics[family].items() if k not in (_knob(family), "sized_by")}
    if "oracle" in metrics:
        oracle_hours = metrics["oracle"]["replica_hours"]
        for values in metrics.values():
            values["over_provisioning_vs_oracle_pct"] = 100.0 * (values["replica_hours"] / oracle_hours - 1.0)

    # Stage 3: extend the sweeps until their crossings are bracketed, then the seed-paper comparison.
    seed_terms: dict[str, dict[str, dict[str, Any]]] = {}
    if config.sweep:
        if foresight_points:
            report("extend sweeps", 0, 1)
            _extend(ctx, "foresight", foresight_points, foresight_runs, None, jobs)
            frontier["foresight"] = foresight_points + floor_points
        default_hours = _default_point_hours(frontier, config)
        _set_context(ctx)
        extend_tasks = [(_extend_task, (f, frontier[f], default_hours)) for f in baselines if f in frontier]
        for family, points in zip(
            [f for f in baselines if f in frontier], _run_parallel(ctx, extend_tasks, jobs), strict=True
        ):
            frontier[family] = points
        if "oracle" in metrics:
            frontier["oracle"] = [
                {"replica_hours": metrics["oracle"]["replica_hours"], "under_provisioned_pct": 0.0}
            ]
            if sweep_load is not workload:
                oracle_run = _replay(ctx, OraclePolicy(), sweep_load)
                frontier["oracle"] = [
                    {
                        k: cost_metrics(oracle_run, sweep_load, capacity)[k]
                        for k in ("replica_hours", "under_provisioned_pct")
                    }
                ]
        report("seed-paper comparison", 0, 1)
        seed_terms = _seed_terms(ctx, frontier, metrics, default_hours, jobs)
    least = least_replica_hours(sweep_load, capacity, config.min_replicas, SLO_UNDER_PROVISIONED_PCT)
    summary = _summary(
        config, metrics, frontier, 100.0 / max(int(np.isfinite(sweep_load.demand).sum()), 1), least
    )
    for name, target in reused.items():
        variants[name] = next(p for p in floor_points if p["safety_net_target"] == target)
    ablation = _ablation(
        dict(sorted(variants.items(), key=lambda kv: list(ABLATION).index(kv[0]))), metrics, frontier
    )
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["model_unseen"] = None if exposure is None else exposure.unseen
    protocol = _protocol(ctx)
    return BenchResult(
        trace, config, capacity, workload, runs, metrics, frontier, summary, ctx.model_description, exposure,
        seed_terms, protocol, ablation,
    )  # fmt: skip


def _extend_task(
    family: str, points: list[dict[str, Any]], default_hours: float | None
) -> list[dict[str, Any]]:
    assert _CONTEXT is not None
    points = list(points)
    _extend(_CONTEXT, family, points, None, default_hours)
    return points


def _default_point_hours(frontier: dict[str, list[dict[str, Any]]], config: BenchConfig) -> float | None:
    default = [p for p in frontier.get("foresight", []) if p.get("quantile") == config.quantile]
    return default[0]["replica_hours"] if default else None


SEED_KEYS = (
    "latency_p50_ms_high_traffic",
    "latency_p99_ms_high_traffic",
    "peak_throughput",
    "cpu_utilization_pct",
    "under_provisioned_minutes",
    "under_provisioned_pct",
    "replica_hours",
    "surges",
    "surges_served_in_time",
    "surge_median_lead_seconds",
)


def _seed_terms(
    ctx: _Context,
    frontier: dict[str, list[dict[str, Any]]],
    metrics: dict[str, dict[str, float]],
    default_hours: float | None,
    jobs: int,
) -> dict[str, dict[str, dict[str, Any]]]:
    """HPA vs Foresight vs oracle in the seed paper's terms: at equal replica-hours, and at the SLO.

    At equal replica-hours: Foresight at its default quantile, the HPA replayed at the target utilization
    interpolated (on its swept frontier) to the same replica-hours. At the SLO: each policy's cheapest swept
    setting with at most 0.1 % under-provisioned time (the sweep brackets the crossing, so that setting is
    next to it).
    """

    def row(point: dict[str, Any], family: str, note: str) -> dict[str, Any]:
        out = {k: point.get(k, math.nan) for k in SEED_KEYS}
        out["setting"] = note
        if family != "oracle":
            out[_knob(family)] = point.get(_knob(family))
        return out

    table: dict[str, dict[str, dict[str, Any]]] = {"equal_replica_hours": {}, "at_slo": {}}
    oracle = metrics.get("oracle")
    at_slo = table["at_slo"]
    for family in ("hpa", "foresight"):
        usable = _usable(frontier.get(family, []))
        holding = [p for p in usable if p["under_provisioned_pct"] <= SLO_UNDER_PROVISIONED_PCT]
        if holding:
            best = min(holding, key=lambda p: p["replica_hours"])
            label = (
                point_setting(best)
                if family == "foresight"
                else f"{_knob(family).replace('_', ' ')} {best[_knob(family)]:g}"
            )
            at_slo[family] = row(best, family, f"cheapest swept setting holding the SLO: {label}")
    if oracle is not None:
        at_slo["oracle"] = row(oracle, "oracle", "perfect foresight")
    equal = table["equal_replica_hours"]
    default = [p for p in frontier.get("foresight", []) if p.get("quantile") == ctx.config.quantile]
    if default:
        equal["foresight"] = row(default[0], "foresight", f"default quantile {ctx.config.quantile:g}")
    target = _knob_at_hours(frontier.get("hpa", []), default_hours)
    if target is not None:
        point, _ = _run_parallel(ctx, [(_point_task, ("hpa", target))], jobs)[0]
        equal["hpa"] = row(
            point, "hpa", f"target utilization {target:.3f}, interpolated to equal replica-hours"
        )
    if oracle is not None:
        equal["oracle"] = row(oracle, "oracle", "perfect foresight (the least replica-hours possible)")
    return table


def _knob_at_hours(points: list[dict[str, Any]], hours: float | None) -> float | None:
    """The HPA target whose replay costs ``hours`` replica-hours, interpolated between swept points."""
    if hours is None or len(points) < 2:
        return None
    ordered = sorted(points, key=lambda p: p["replica_hours"])
    xs = [p["replica_hours"] for p in ordered]
    if not xs[0] <= hours <= xs[-1]:
        return None
    i = max(1, int(np.searchsorted(xs, hours)))
    x0, x1 = xs[i - 1], xs[i]
    t0, t1 = ordered[i - 1]["target_utilization"], ordered[i]["target_utilization"]
    share = 0.0 if x1 == x0 else (hours - x0) / (x1 - x0)
    return round(t0 + (t1 - t0) * share, 4)


def _protocol(ctx: _Context) -> dict[str, Any]:
    config, cluster = ctx.config, ctx.cluster
    step = _forecast_step(ctx.trace)
    return {
        "reconcile_seconds": cluster.reconcile_seconds,
        "lead_window_seconds": cluster.control_interval_seconds,
        "forecast_step_seconds": step,
        "forecast_every_seconds": {
            "foresight": config.forecast_every_seconds or step,
            "holt-winters": config.forecast_every_seconds or step,
            "fft": max(step, config.fft_every_seconds),
        },
        "forecast_horizon_seconds": config.forecast_horizon_seconds,
        "scrape_interval_seconds": cluster.pipeline.scrape_interval_seconds,
        "rate_window_seconds": cluster.pipeline.rate_window_seconds,
        "hpa_sync_seconds": HpaConfig().sync_seconds,
        "interpolation": "log-linear in under-provisioned time",
        "quantile_sizing": {f"{q:g}": quantile_sizing(q, config) for q in config.quantiles},
        "jobs": config.jobs,
    }


def _ablation(
    variants: dict[str, dict[str, Any]],
    metrics: dict[str, dict[str, float]],
    frontier: dict[str, list[dict[str, Any]]],
) -> dict[str, dict[str, Any]]:
    """Each variant's cost and violation, and its under-provisioned time over HPA's at equal replica-hours."""
    out: dict[str, dict[str, Any]] = {}
    oracle = metrics.get("oracle", {}).get("replica_hours")
    for name, values in variants.items():
        row: dict[str, Any] = {
            "settings": ABLATION[name],
            "under_provisioned_pct": values["under_provisioned_pct"],
            "replica_hours": values["replica_hours"],
            "replica_hours_vs_oracle": values["replica_hours"] / oracle if oracle else math.nan,
            "under_provisioned_ratio_vs_hpa": math.nan,
            "hpa_interpolation_extrapolated": None,
        }
        if frontier.get("hpa"):
            hpa_under, outside = frontier_at(frontier["hpa"], values["replica_hours"])
            row["hpa_under_provisioned_pct_at_equal_replica_hours"] = hpa_under
            row["hpa_interpolation_extrapolated"] = outside
            if hpa_under > 0:
                row["under_provisioned_ratio_vs_hpa"] = values["under_provisioned_pct"] / hpa_under
        out[name] = row
    return out


def _summary(
    config: BenchConfig,
    metrics: dict[str, dict[str, float]],
    frontier: dict[str, list[dict[str, Any]]],
    resolution_pct: float,
    least_hours: float = math.nan,
) -> dict[str, Any]:
    nan = math.nan
    summary: dict[str, Any] = {
        "hpa_under_provisioned_pct_at_equal_replica_hours": nan,
        "under_provisioned_ratio_vs_hpa": nan,
        "gap_closed": nan,
        "replica_hours_vs_oracle": nan,
        "replica_hours_at_slo_vs_hpa": nan,
        "replica_hours_at_slo_vs_holt_winters": nan,
        "replica_hours_at_slo_vs_fft": nan,
        "slo_under_provisioned_pct": SLO_UNDER_PROVISIONED_PCT,
        "deprecated": {"gap_closed": "1 - under_provisioned_ratio_vs_hpa; no longer a target"},
    }
    if "foresight" in metrics and "oracle" in metrics:
        summary["replica_hours_vs_oracle"] = (
            metrics["foresight"]["replica_hours"] / metrics["oracle"]["replica_hours"]
        )
    default = [p for p in frontier.get("foresight", []) if p.get("quantile") == config.quantile]
    if default:
        point = default[0]
        summary["foresight_under_provisioned_pct"] = point["under_provisioned_pct"]
        summary["foresight_interpolation_extrapolated"] = False  # measured, not interpolated
        for other in HPA_FAMILIES:
            if not frontier.get(other):
                continue
            value, outside = frontier_at(frontier[other], point["replica_hours"])
            summary[f"{other}_under_provisioned_pct_at_equal_replica_hours"] = value
            summary[f"{other}_interpolation_extrapolated"] = outside
        hpa_under = summary["hpa_under_provisioned_pct_at_equal_replica_hours"]
        if frontier.get("hpa") and hpa_under > 0:
            ratio = point["under_provisioned_pct"] / hpa_under
            summary["under_provisioned_ratio_vs_hpa"] = ratio
            summary["gap_closed"] = 1.0 - ratio
    summary["frontier_ratio"], summary["frontier_ratio_replica_hours"] = {}, {}
    for other in HPA_FAMILIES:
        if frontier.get("foresight") and frontier.get(other):
            ratio, low, high = frontier_ratio(frontier["foresight"], frontier[other], resolution_pct)
            summary["frontier_ratio"][other] = ratio
            summary["frontier_ratio_replica_hours"][other] = [low, high]
    summary["frontier_ratio_vs_hpa"] = summary["frontier_ratio"].get("hpa", nan)
    at_slo: dict[str, float] = {}
    bracketed: dict[str, bool] = {}
    for family, points in frontier.items():
        at_slo[family], bracketed[family] = slo_crossing(points, SLO_UNDER_PROVISIONED_PCT)
    if "oracle" in bracketed:
        bracketed["oracle"] = True  # never under-provisioned by construction: its replica-hours are exact
    summary["replica_hours_at_slo"] = at_slo
    summary["replica_hours_at_slo_bracketed"] = bracketed
    if "foresight" in at_slo:
        for other, key in (("hpa", "hpa"), ("holt-winters", "holt_winters"), ("fft", "fft")):
            if other in at_slo:
                summary[f"replica_hours_at_slo_vs_{key}"] = at_slo["foresight"] / at_slo[other]
    if "oracle" in at_slo:
        summary["replica_hours_at_slo_vs_oracle"] = {
            family: hours / at_slo["oracle"] for family, hours in at_slo.items() if family != "oracle"
        }
    # What any policy could reach at the SLO: the least replica-hours (a bound) over HPA's, and the share
    # of HPA's replica-hours above the oracle's that Foresight saves.
    summary["replica_hours_at_slo_least"] = least_hours
    hpa_hours = at_slo.get("hpa", nan)
    summary["replica_hours_at_slo_least_vs_hpa"] = least_hours / hpa_hours
    excess = hpa_hours - at_slo.get("oracle", nan)
    summary["slo_excess_saved"] = (hpa_hours - at_slo.get("foresight", nan)) / excess if excess > 0 else nan
    return summary
