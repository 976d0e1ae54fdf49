"""The policies the benchmark compares, each as its users run it.

* ``hpa``: the upstream HorizontalPodAutoscaler alone (:mod:`._hpa`), reactive.
* ``holt-winters``: the Predictive Horizontal Pod Autoscaler's approach
  (https://github.com/jthomperoo/predictive-horizontal-pod-autoscaler): a Holt-Winters prediction next to the
  HPA's own calculation, the higher one wins (its ``decisionType: maximum``). PHPA predicts the next sync's
  value; here it gets the same look-ahead as Foresight (the lead window) so start-up time does not decide it.
* ``fft``: Crane's EffectiveHorizontalPodAutoscaler (https://github.com/gocrane/crane, docs
  ``using-effective-hpa-to-scaling-with-effectiveness.md``): its DSP (FFT) predictor's forecast, maximum over
  ``predictionWindowSeconds`` (3600 by default) times a margin, becomes an extra HPA metric next to the
  original one; the HPA takes the larger proposal, so the reactive HPA is the floor.
* ``foresight``: :func:`foresight.planning.step`, the operator's own planning step, on the forecaster's sample
  paths sets the HPA's floor every control interval; an HPA stays underneath as a safety net.
* ``oracle``: perfect foresight, the fewest replicas that never under-provision (see :func:`oracle_replicas`).

Forecasting policies read a :class:`ForecastBank`: forecasts made at a cadence (the operator's: one per new
history point, i.e. per forecast step; Crane's DSP: one per 12 hours), each from history strictly before its
origin. Foresight decides at every reconcile from the latest forecast, as the operator does; the prediction
metrics of ``holt-winters`` and ``fft`` are refreshed once a forecast step, and computed once per bank for
every knob setting (they do not depend on the knob).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from foresight import forecasting, planning
from foresight.simulation._engine import ClusterConfig, Workload
from foresight.simulation._hpa import HpaConfig
from foresight.simulation._metrics import UNDER_TOLERANCE
from foresight.simulation._trace import Trace

__all__ = [
    "ForecastBank",
    "ForecastMetricPolicy",
    "ForesightPolicy",
    "HpaPolicy",
    "OraclePolicy",
    "build_forecast_bank",
    "oracle_replicas",
    "required_replicas",
]

_EPSILON = 1e-9


@dataclasses.dataclass(frozen=True, eq=False)
class ForecastBank:
    """Forecast sample paths made at ``origins`` (seconds after the workload's tick 0).

    Column ``k`` of ``samples[j]`` is the load of the step that starts ``origins[j] + k * step_seconds``;
    forecast ``j`` saw only trace points before ``origins[j]``. ``history[k]`` is the reading of the
    forecaster's step that starts ``history_start + k * step_seconds`` seconds after tick 0: what the
    forecasts were made from. The planner reads a forecast as the operator does (:meth:`sampled`).
    """

    model: str
    origins: np.ndarray
    samples: np.ndarray
    step_seconds: int
    history: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    history_start: float = 0.0
    span_seconds: float = 0.0
    _tracks: dict[tuple[float, float], np.ndarray] = dataclasses.field(default_factory=dict, repr=False)

    def latest(self, seconds: float) -> int | None:
        """Index of the newest forecast made at or before ``seconds``."""
        j = int(np.searchsorted(self.origins, seconds, side="right")) - 1
        return None if j < 0 else j

    def history_count(self, j: int) -> int:
        """How many ``history`` readings forecast ``j`` had (those of steps that ended by its origin)."""
        return max(
            0, min(len(self.history), int((self.origins[j] - self.history_start) // self.step_seconds))
        )

    def sampled(self, j: int, start: datetime) -> planning.SampledForecast:
        """Forecast ``j`` as the operator's planner reads it, with the workload's tick 0 at ``start``.

        Prometheus stamps a window's average at the window's end, so the reading of the step that ends at
        ``origins[j]`` is the last observation, stamped ``origins[j]``, and column 0 (the step after it)
        is one step later, as the operator labels its forecasts.
        """
        return planning.SampledForecast(
            paths=self.samples[j],
            step_seconds=self.step_seconds,
            last_observed=start + timedelta(seconds=float(self.origins[j])),
            history=self.history[: self.history_count(j)],
        )

    def window_track(self, start_seconds: float, end_seconds: float) -> np.ndarray:
        """Max of the median path over ``[now + start, now + end]``, ``now`` every step from the first origin.

        Entry ``m`` is for ``now = origins[0] + m * step_seconds`` from the newest forecast made by then.
        Computed once per window and kept: it does not depend on any knob of the policy that reads it.
        """
        key = (float(start_seconds), float(end_seconds))
        if key not in self._tracks:
            self._tracks[key] = self._window_track(*key)
        return self._tracks[key]

    def _window_track(self, start_seconds: float, end_seconds: float) -> np.ndarray:
        if not len(self.origins):
            return np.empty(0)
        step = float(self.step_seconds)
        count = max(1, math.ceil((self.span_seconds - self.origins[0]) / step) + 1)
        times = self.origins[0] + step * np.arange(count)
        newest = np.searchsorted(self.origins, times, side="right") - 1
        # Column 0 is one step after the forecast's origin (the last observation), as the operator and the
        # shared planning step read a forecast: the window is measured from column 0.
        offsets = times - self.origins[newest] - step
        medians = np.median(self.samples, axis=1)
        track = np.empty(count)
        for offset in np.unique(offsets):
            rows = np.flatnonzero(offsets == offset)
            track[rows] = planning.peak_samples(
                medians[newest[rows]], step, offset + start_seconds, offset + end_seconds
            )[0]
        return track


def build_forecast_bank(
    trace: Trace,
    first_index: int,
    span_seconds: int,
    model: str,
    every_seconds: int,
    horizon_seconds: int,
    n_samples: int = 100,
    context_seconds: int = 7 * 86400,
    seed: int = 0,
    batch_size: int = 64,
    forecaster: forecasting.BaseForecaster | None = None,
    progress: Callable[[int, int], None] | None = None,
    stored_seconds: int | None = None,
) -> ForecastBank:
    """Forecast every ``every_seconds`` over ``span_seconds`` from trace point ``first_index`` on.

    The forecaster works at ``max(trace step, 60 s)`` (the operator's default ``forecast.step`` is one
    minute; finer traces are averaged per minute). Each forecast sees at most ``context_seconds`` of history,
    all of it strictly before its origin, and is asked for ``horizon_seconds`` ahead (models such as
    ``analog`` choose their settings on that horizon); only the columns covering ``stored_seconds`` are kept.
    """
    step = max(trace.step_seconds, 60)
    step -= step % trace.step_seconds
    coarse = trace.resampled(step)
    every = max(step, every_seconds - every_seconds % step)
    origin0 = first_index * trace.step_seconds  # seconds after the trace's start
    first_origin = math.ceil(origin0 / step) * step
    origins = np.arange(first_origin, origin0 + span_seconds, every, dtype=np.int64)
    horizon = max(1, math.ceil(horizon_seconds / step) + 1)
    stored = horizon if stored_seconds is None else min(horizon, max(1, math.ceil(stored_seconds / step) + 1))
    context = max(2, context_seconds // step)
    model_instance = forecaster if forecaster is not None else forecasting.get(model)
    out = np.empty((len(origins), n_samples, stored), dtype=np.float32)
    for b in range(0, len(origins), batch_size):
        batch = []
        for origin in origins[b : b + batch_size]:
            end = int(origin // step)
            begin = max(0, end - context)
            start = coarse.start + pd.Timedelta(seconds=begin * step)
            batch.append(forecasting.Series(coarse.values[begin:end], start, step, item_id=trace.name))
        paths = model_instance.sample(batch, horizon, n_samples=n_samples, seed=seed + b)
        out[b : b + len(batch)] = paths[:, :, :stored]
        if progress is not None:
            progress(min(b + batch_size, len(origins)), len(origins))
    first_reading = max(0, first_origin // step - 1)
    return ForecastBank(
        model,
        (origins - origin0).astype(float),
        out,
        step,
        history=coarse.values[first_reading:].astype(float),
        history_start=float(first_reading * step - origin0),
        span_seconds=float(span_seconds),
    )


def required_replicas(
    demand: np.ndarray, capacity_per_replica: float, tolerance: float = UNDER_TOLERANCE
) -> np.ndarray:
    """Fewest ready replicas that serve each tick's load within the metric's tolerance (0 in gaps).

    A tick is under-provisioned only when the load exceeds ready capacity by more than ``tolerance``, so the
    oracle needs no more than that.

    >>> required_replicas(np.array([100.0, 100.5, 102.0, np.nan]), 100.0).tolist()
    [1, 1, 2, 0]
    """
    load = np.nan_to_num(demand, nan=0.0) / (capacity_per_replica * (1 + tolerance))
    needed = np.ceil(load * (1 - _EPSILON))
    return np.maximum(needed, 0).astype(np.int64)


def oracle_replicas(required: np.ndarray, startup_ticks: int, min_replicas: int = 1) -> np.ndarray:
    """Replicas to keep at each tick: the most needed over the next ``startup_ticks`` (inclusive).

    A pod that serves at tick ``s`` must exist from ``s - startup`` on, so at tick ``t`` every pod needed in
    ``[t, t + startup]`` must already be there: this lower bound holds at every tick, and keeping exactly that
    many (adding pods ``startup`` ahead, removing the newest at once) meets it, so it is optimal.

    >>> oracle_replicas(np.array([1, 1, 3, 1, 1, 2]), startup_ticks=2).tolist()
    [3, 3, 3, 2, 2, 2]
    """
    padded = np.concatenate([required, np.full(startup_ticks, required[-1] if len(required) else 0)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, startup_ticks + 1)
    return np.maximum(windows.max(axis=1), min_replicas)


# -- policies ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Static:
    hpa: HpaConfig | None
    value: int
    interval_ticks: int | None = None

    def floor(self, tick: int, current_floor: int, replicas: int, ready: int, reading: float) -> int:
        return self.value

    def metric_loads(self, tick: int, reading: float) -> tuple[float, ...]:
        return (reading,)


@dataclasses.dataclass(frozen=True)
class HpaPolicy:
    """The HPA alone at ``hpa.target_utilization``."""

    hpa: HpaConfig = dataclasses.field(default_factory=HpaConfig)
    name: str = "hpa"

    def controller(self, workload: Workload, cluster: ClusterConfig) -> _Static:
        return _Static(self.hpa, cluster.min_replicas)


@dataclasses.dataclass
class _Schedule:
    replicas: np.ndarray
    hpa: HpaConfig | None = None
    interval_ticks: int | None = 1

    def floor(self, tick: int, current_floor: int, replicas: int, ready: int, reading: float) -> int:
        return int(self.replicas[tick])

    def metric_loads(self, tick: int, reading: float) -> tuple[float, ...]:
        return (reading,)


@dataclasses.dataclass(frozen=True)
class OraclePolicy:
    """Perfect foresight of the whole trace (a bound, not a policy anyone can run)."""

    name: str = "oracle"

    def controller(self, workload: Workload, cluster: ClusterConfig) -> _Schedule:
        required = required_replicas(workload.demand, cluster.capacity_per_replica)
        plan = oracle_replicas(required, cluster.startup_ticks, cluster.min_replicas)
        return _Schedule(np.minimum(plan, cluster.max_replicas))


@dataclasses.dataclass
class _ForecastMetric:
    hpa: HpaConfig
    track: list[float]
    first_seconds: float
    step_seconds: float
    tick_seconds: int
    margin: float
    min_replicas: int
    interval_ticks: int | None = None

    def floor(self, tick: int, current_floor: int, replicas: int, ready: int, reading: float) -> int:
        return self.min_replicas

    def metric_loads(self, tick: int, reading: float) -> tuple[float, ...]:
        # The prediction metric is refreshed once a forecast step (Crane's metric adapter truncates "now" to
        # its resolution; PHPA's model sees a new point once a step).
        m = int((tick * self.tick_seconds - self.first_seconds) // self.step_seconds)
        if m < 0 or m >= len(self.track):
            return (reading,)
        predicted = self.track[m]
        return (reading,) if math.isnan(predicted) else (reading, predicted * self.margin)


@dataclasses.dataclass(frozen=True)
class ForecastMetricPolicy:
    """A point forecast's maximum over ``window_seconds`` (after now), as an extra HPA metric."""

    name: str
    bank: ForecastBank
    window_seconds: tuple[float, float]
    hpa: HpaConfig = dataclasses.field(default_factory=HpaConfig)
    margin: float = 1.0

    def controller(self, workload: Workload, cluster: ClusterConfig) -> _ForecastMetric:
        track = self.bank.window_track(*self.window_seconds)
        first = float(self.bank.origins[0]) if len(self.bank.origins) else 0.0
        return _ForecastMetric(
            self.hpa, track.tolist(), first, float(self.bank.step_seconds), workload.tick_seconds,
            self.margin, cluster.min_replicas,
        )  # fmt: skip


@dataclasses.dataclass
class _Planner:
    policy: ForesightPolicy
    workload: Workload
    planning_policy: planning.PlanningPolicy
    hpa: HpaConfig
    interval_ticks: int | None = None
    state: planning.PlannerState = dataclasses.field(default_factory=planning.PlannerState)

    def floor(self, tick: int, current_floor: int, replicas: int, ready: int, reading: float) -> int:
        """The operator's planning step on the newest forecast (the HPA alone before the first one)."""
        bank = self.policy.bank
        seconds = tick * self.workload.tick_seconds
        j = bank.latest(seconds)
        if j is None:
            return self.planning_policy.min_replicas  # cold start: the HPA alone
        start = self.workload.start.to_pydatetime()
        present = planning.Present(
            current_floor=current_floor,
            hpa_min_replicas=self.planning_policy.min_replicas,
            hpa_max_replicas=self.planning_policy.max_replicas,
            ready_replicas=ready,
        )
        now = start + timedelta(seconds=seconds)
        decision, self.state = planning.step(
            self.planning_policy, bank.sampled(j, start), present, self.state, now
        )
        return decision.floor

    def metric_loads(self, tick: int, reading: float) -> tuple[float, ...]:
        return (reading,)


@dataclasses.dataclass(frozen=True)
class ForesightPolicy:
    """The planner on a forecaster's sample paths, over a reactive HPA safety net.

    ``calibrate`` turns on the planner's conformal calibration of the lead-window peak (how past peaks
    compared with their forecasts, at the same quantile).
    """

    bank: ForecastBank
    quantile: float = 0.9
    safety_net: HpaConfig = dataclasses.field(default_factory=lambda: HpaConfig(target_utilization=0.9))
    stabilization_seconds: int = 300
    max_step_percent: int = 50
    calibrate: bool = False
    target_miss_rate: float | None = None
    anchor: bool = False
    hold_until_replaced: bool = True
    name: str = "foresight"

    def controller(self, workload: Workload, cluster: ClusterConfig) -> _Planner:
        policy = planning.PlanningPolicy(
            capacity_per_replica=cluster.capacity_per_replica,
            max_replicas=cluster.max_replicas,
            min_replicas=cluster.min_replicas,
            quantile=self.quantile,
            startup_seconds=cluster.startup_seconds,
            control_interval_seconds=cluster.control_interval_seconds,
            stabilization_seconds=self.stabilization_seconds,
            max_step_percent=self.max_step_percent,
            calibrate=self.calibrate,
            target_miss_rate=self.target_miss_rate,
            anchor=self.anchor,
            hold_until_replaced=self.hold_until_replaced,
            hpa_sync_seconds=self.safety_net.sync_seconds,
        )
        return _Planner(self, workload, policy, self.safety_net)
