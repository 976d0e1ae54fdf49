"""kopf handlers for ``PredictiveScaler``: Prometheus -> forecast -> HPA floor raised ahead of the surge.

A per-resource daemon calls ``reconcile`` every tick; ``reconcile`` looks at the world as it is now
(spec, HPA, metric) and is idempotent, so a restarted operator converges from the API's state alone.
Each pass observes (spec, HPA, workload, metric history), decides (forecast, then
:func:`foresight.planning.step`) and applies (HPA floor, headroom placeholders) unless in dryRun.
Policy arithmetic lives in :mod:`foresight.planning`; Kubernetes I/O in :mod:`foresight.kube`.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
import numpy as np
from pydantic import ValidationError

from foresight import forecasting, planning
from foresight.api import GROUP
from foresight.api.v1alpha1 import (
    VERSION,
    Accuracy,
    Decision,
    ForecastSummary,
    OriginalHpa,
    PredictiveScalerSpec,
    PredictiveScalerStatus,
    parse_duration,
    parse_time,
    predictive_scaler,
)
from foresight.config import Settings
from foresight.handlers import _events as events
from foresight.handlers import telemetry
from foresight.handlers._status import (
    ConditionStatus,
    NotReady,
    SetCondition,
    condition_setter,
    describe,
    every_tick,
    iso,
)
from foresight.handlers.runtime import Runtime, ScalerMemory
from foresight.kube import client as kube
from foresight.kube import headroom as kube_headroom
from foresight.kube import hpa as hpas
from foresight.metrics import (
    EndpointNotAllowed,
    MetricSourceError,
    TenancyError,
    check_namespace_pinned,
    clean_message,
)
from foresight.planning import headroom, staleness

PLURAL = predictive_scaler.PLURAL
HeadroomCondition = tuple[ConditionStatus, str, str]


@dataclass(frozen=True)
class _Observed:
    """What a pass saw before deciding: the valid spec, the HPA it may steer, and the workload."""

    name: str
    namespace: str
    spec: PredictiveScalerSpec
    hpa: hpas.HpaState
    workload: dict[str, Any]
    owner: dict[str, Any]  # this scaler, as owner of the HPA and placeholders it creates
    changed_by_other: str | None  # a floor change by another writer since Foresight's last one
    step_seconds: int

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class _Forecast:
    """The history read from Prometheus and the sample paths forecast from it."""

    history: forecasting.Series
    paths: np.ndarray
    model_used: str

    @property
    def last_observed(self) -> datetime:
        history = self.history
        return history.start + timedelta(seconds=history.step_seconds * (len(history.values) - 1))

    @property
    def sampled(self) -> planning.SampledForecast:
        """What the planner reads: the paths, and the readings up to the last observation."""
        history = self.history
        return planning.SampledForecast(self.paths, history.step_seconds, self.last_observed, history.values)


async def reconcile(
    runtime: Runtime,
    *,
    name: str,
    namespace: str,
    body: dict[str, Any],
    now: datetime,
) -> PredictiveScalerStatus:
    """One level-based pass: read spec, HPA and metric; decide; apply (unless dryRun); report."""
    started = time.perf_counter()
    status = _status_of(body)
    status.observed_generation = body.get("metadata", {}).get("generation")
    condition = condition_setter(status, now, status.observed_generation)
    try:
        seen = await _observe(runtime, name, namespace, body)
        _adopt(seen, status, body, condition)
        try:
            history = await _history(runtime, seen, now)
        except MetricSourceError as exc:
            telemetry.prometheus_errors.labels(namespace, name, exc.reason).inc()
            await _degrade(seen, status, now, runtime.settings, exc, condition)
            return status
        condition("Degraded", "False", "MetricHealthy", "the metric source answered")
        forecast = await _forecast(runtime, seen, history)
        # The floor is written after the forecast, not at the tick's start: on a busy CPU that can be
        # seconds later, and the lead window must start from when the floor lands (whole seconds, so a
        # quick pass decides at ``now`` exactly).
        decided_at = now + timedelta(seconds=math.floor(time.perf_counter() - started))
        decision = _decide(runtime, seen, forecast, decided_at)
        _report(status, seen, forecast, decision, runtime.scalers[seen.key])
        await _apply(seen, forecast, decision, body, status, condition, decided_at)
        _export(namespace, name, status, decision)
    except NotReady as exc:
        condition("Ready", "False", exc.reason, str(exc))
    except kube.KeptChanging as exc:
        condition("Ready", "False", "ConflictRetriesExhausted", f"{exc}; will retry")
    except hpas.HpaConflict as exc:
        condition("Conflict", "True", "HpaSteeredElsewhere", str(exc))
        condition("Ready", "False", "Conflict", str(exc))
    finally:
        telemetry.decision_seconds.observe(time.perf_counter() - started)
    return status


# --- observe -----------------------------------------------------------------------------------


async def _observe(runtime: Runtime, name: str, namespace: str, body: dict[str, Any]) -> _Observed:
    """The valid spec, the HPA (created if the scaler owns one) and the workload; ``NotReady`` if unusable."""
    spec = _validate(body, namespace, runtime.settings)
    _check_endpoint(runtime, spec)
    owner = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": predictive_scaler.KIND,
        "name": name,
        "uid": body["metadata"]["uid"],
    }
    hpa, workload = await _ensure_hpa(spec, namespace, owner)
    state = hpas.HpaState.from_object(hpa)
    step_seconds = int(parse_duration(spec.forecast.step).total_seconds())
    return _Observed(name, namespace, spec, state, workload, owner, hpas.external_change(state), step_seconds)


def _status_of(body: dict[str, Any]) -> PredictiveScalerStatus:
    try:
        return PredictiveScalerStatus.model_validate(body.get("status") or {})
    except ValidationError:
        return PredictiveScalerStatus()


def _validate(body: dict[str, Any], namespace: str, settings: Settings) -> PredictiveScalerSpec:
    try:
        spec = PredictiveScalerSpec.model_validate(body.get("spec") or {})
    except ValidationError as exc:
        raise NotReady("InvalidSpec", describe(exc)) from exc
    if not settings.allow_cross_namespace_queries:
        try:
            check_namespace_pinned(spec.metric.prometheus.query, namespace)
        except TenancyError as exc:
            raise NotReady("QueryNotAllowed", str(exc)) from exc
    return spec


def _check_endpoint(runtime: Runtime, spec: PredictiveScalerSpec) -> None:
    """Refuse a Prometheus URL outside the allow-list before any request is made."""
    try:
        runtime.prometheus.check_allowed(spec.metric.prometheus.url)
    except EndpointNotAllowed as exc:
        raise NotReady("URLNotAllowed", str(exc)) from exc


async def _ensure_hpa(
    spec: PredictiveScalerSpec, namespace: str, owner: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The HPA this scaler steers (created if it owns one) and the workload it scales."""
    target = spec.scale_target_ref
    try:
        workload = await asyncio.to_thread(kube.get_workload, namespace, target.kind, target.name)
    except kube.NotFound as exc:
        raise NotReady("TargetMissing", f"{target.kind} {target.name} not found") from exc
    hpa_name = spec.hpa_ref.name if spec.hpa_ref else f"{target.name}-foresight"
    try:
        return await asyncio.to_thread(kube.get_hpa, namespace, hpa_name), workload
    except kube.NotFound as exc:
        if spec.hpa_ref is not None:
            raise NotReady("HpaMissing", f"HPA {hpa_name} not found") from exc
    manifest = hpas.owned_hpa_manifest(
        name=hpa_name,
        namespace=namespace,
        target_kind=target.kind,
        target_name=target.name,
        min_replicas=spec.scaling.min_replicas,
        max_replicas=spec.scaling.max_replicas,
        owner=owner,
    )
    return await asyncio.to_thread(kube.create_hpa, namespace, manifest), workload


def _adopt(
    seen: _Observed, status: PredictiveScalerStatus, body: dict[str, Any], condition: SetCondition
) -> None:
    """Record the HPA; refuse one another controller steers; adopt a floor another writer changed."""
    status.hpa_name = seen.hpa.name
    hpas.check_can_steer(seen.hpa, seen.key)
    condition("Conflict", "False", "NoConflict", "no other controller steers this HPA")
    if seen.changed_by_other:
        events.warn(body, "ExternalChange", f"HPA {seen.hpa.name}: {seen.changed_by_other}; adopting it")


async def _history(runtime: Runtime, seen: _Observed, now: datetime) -> forecasting.Series:
    """The metric's history up to ``now``, on a step-aligned grid, from its first reading on."""
    step = seen.step_seconds
    client = await asyncio.to_thread(runtime.prometheus_for, seen.spec, seen.namespace)
    start = now - parse_duration(seen.spec.forecast.history)
    # Align the grid to the step so consecutive ticks see the same points.
    end = datetime.fromtimestamp(now.timestamp() // step * step, tz=UTC)
    sampled = await asyncio.to_thread(client.single, seen.spec.metric.prometheus.query, start, end, step)
    finite = np.flatnonzero(np.isfinite(sampled.values))
    first = sampled.start + timedelta(seconds=int(finite[0]) * sampled.step_seconds)
    # Leading gaps carry no information.
    values = sampled.values[finite[0] :]
    season = int(parse_duration(seen.spec.forecast.season).total_seconds())
    return forecasting.Series(
        values=values, start=first, step_seconds=sampled.step_seconds, item_id=seen.key, season_seconds=season
    )


# --- decide ------------------------------------------------------------------------------------


async def _forecast(runtime: Runtime, seen: _Observed, history: forecasting.Series) -> _Forecast:
    """Sample paths over the horizon, batched with every other scaler's forecast this tick."""
    forecast = seen.spec.forecast
    horizon_steps = max(1, int(parse_duration(forecast.horizon).total_seconds() // seen.step_seconds))
    paths, model_used = await runtime.batcher.sample(forecast.model, history, horizon_steps, forecast.samples)
    return _Forecast(history, paths, model_used)


def _decide(
    runtime: Runtime, seen: _Observed, forecast: _Forecast, now: datetime
) -> planning.ScalingDecision:
    """The planner's step for now; remembers what the next tick needs (desired history, calibration)."""
    memory = runtime.scalers.setdefault(seen.key, ScalerMemory())
    _track_accuracy(memory, seen.spec, forecast)
    desired_history = memory.desired_history
    if not desired_history and seen.hpa.managed_by == seen.key:
        # Fresh memory (new process) on an HPA we already steer: treat the current floor as recently
        # desired, so a restart never shortcuts the scale-down stabilization.
        desired_history = ((now, seen.hpa.min_replicas),)
    policy = planning.PlanningPolicy.from_spec(
        seen.spec,
        control_interval_seconds=max(seen.step_seconds, int(runtime.settings.tick_seconds)),
        hpa_sync_seconds=runtime.settings.hpa_sync_seconds,
    )
    state = planning.PlannerState(desired_history, memory.calibration)
    decision, state = planning.step(policy, forecast.sampled, _present(seen), state, now)
    memory.desired_history, memory.calibration = state.desired_history, state.calibration
    return decision


def _track_accuracy(memory: ScalerMemory, spec: PredictiveScalerSpec, forecast: _Forecast) -> None:
    """Score earlier forecasts against the readings that have come in, and keep this one to score later."""
    history = forecast.history
    memory.accuracy.observe_values(history.start, history.step_seconds, history.values)
    memory.accuracy.record(
        forecast.paths,
        last_observed=forecast.last_observed,
        step_seconds=history.step_seconds,
        quantile=spec.forecast.quantile,
    )


def _present(seen: _Observed) -> planning.Present:
    """The HPA as it is: its floor, and the bounds its user set (adopted when another writer changed it)."""
    hpa = seen.hpa
    return planning.Present(
        current_floor=hpa.min_replicas,
        hpa_min_replicas=hpa.min_replicas if seen.changed_by_other else hpa.baseline_min_replicas,
        hpa_max_replicas=hpa.max_replicas,
    )


async def _degrade(
    seen: _Observed,
    status: PredictiveScalerStatus,
    now: datetime,
    settings: Settings,
    error: MetricSourceError,
    condition: SetCondition,
) -> None:
    """Metric source failing: keep the last good floor for a bounded time, then restore the original."""
    last_good = parse_time(status.last_decision.time) if status.last_decision else None
    rule = staleness.stale_floor(last_good, now, settings.stale_floor_seconds)
    restored = False
    if not rule.keep:
        restored = await _restore(seen.namespace, seen.hpa.name, seen.key)
        status.applied_min_replicas = None
    condition("Degraded", "True", error.reason, rule.message(str(error), restored))


# --- apply -------------------------------------------------------------------------------------


async def _apply(
    seen: _Observed,
    forecast: _Forecast,
    decision: planning.ScalingDecision,
    body: dict[str, Any],
    status: PredictiveScalerStatus,
    condition: SetCondition,
    now: datetime,
) -> None:
    """Set the HPA floor (in dryRun: put the HPA back) and the headroom placeholders; record the decision."""
    if seen.spec.scaling.mode == "dryRun":
        await _restore(seen.namespace, seen.hpa.name, seen.key)
        status.applied_min_replicas = None
        condition("Ready", "True", "DryRun", f"would set HPA floor to {decision.floor}; changing nothing")
    else:
        applied = await _apply_floor(seen, decision.floor)
        if applied != seen.hpa.min_replicas:
            events.info(body, "FloorChanged", decision.reason)
            telemetry.hpa_patches.labels(seen.namespace, seen.name, "floor").inc()
        status.applied_min_replicas = applied
        condition("Ready", "True", "Applied", decision.reason)
    outcome = await _sync_headroom(seen, forecast.paths, decision.desired_replicas)
    if outcome is not None:
        condition("Headroom", *outcome)
    else:
        status.conditions = [c for c in status.conditions if c.type != "Headroom"]
    status.last_decision = Decision(
        time=iso(now),
        desired_replicas=decision.desired_replicas,
        floor=decision.floor,
        reason=decision.reason,
    )


async def _apply_floor(seen: _Observed, floor: int) -> int:
    """Set the floor with optimistic concurrency (re-read and retry on 409); returns the floor set."""

    def patch_for(state: hpas.HpaState) -> dict[str, Any] | None:
        hpas.check_can_steer(state, seen.key)
        if state.min_replicas == floor and state.managed_by == seen.key:
            return None
        return hpas.floor_patch(state, seen.key, floor, adopt_external=bool(seen.changed_by_other))

    await _patch_hpa(seen.namespace, seen.hpa.name, patch_for)
    return floor


async def _restore(namespace: str, hpa_name: str, key: str) -> bool:
    """Put back the HPA's original values, if Foresight changed them. Returns whether it did."""

    def patch_for(state: hpas.HpaState) -> dict[str, Any] | None:
        return hpas.restore_patch(state) if state.managed_by in (None, key) else None

    try:
        return await _patch_hpa(namespace, hpa_name, patch_for) is not None
    except kube.NotFound:
        return False


async def _patch_hpa(
    namespace: str, hpa_name: str, patch_for: Callable[[hpas.HpaState], dict[str, Any] | None]
) -> dict[str, Any] | None:
    """Patch the HPA as it is now; re-read on conflict (``kube.KeptChanging`` when it keeps changing)."""
    return await asyncio.to_thread(
        kube.patch_with_retry,
        lambda: hpas.HpaState.from_object(kube.get_hpa(namespace, hpa_name)),
        patch_for,
        lambda patch: kube.patch_hpa(namespace, hpa_name, patch),
        what=f"HPA {hpa_name}",
    )


async def _sync_headroom(
    seen: _Observed, paths: np.ndarray, desired_replicas: int
) -> HeadroomCondition | None:
    """Keep as many placeholder pods as the rest of the horizon's peak needs beyond the floor.

    Returns the Headroom condition (status, reason, message), or None when headroom is off.
    """
    wanted, outcome = await _headroom_wanted(seen, paths, desired_replicas)
    selector = f"{kube_headroom.HEADROOM_LABEL}={seen.name}"
    pods = await asyncio.to_thread(kube.list_pods, f"metadata.namespace={seen.namespace}", selector)
    names = [p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")]
    name_for = functools.partial(kube_headroom.placeholder_name, seen.name)
    delete, create = headroom.placeholder_changes(names, wanted, name_for)
    for extra in delete:
        await asyncio.to_thread(kube.delete_pod, seen.namespace, extra)
    settings = seen.spec.scaling.headroom
    template = (seen.workload.get("spec") or {}).get("template")
    for index in create:
        manifest = kube_headroom.placeholder_pod(
            scaler=seen.name,
            namespace=seen.namespace,
            index=index,
            priority_class_name=settings.priority_class_name,
            cpu=settings.cpu_per_replica,
            memory=settings.memory_per_replica,
            owner=seen.owner,
            template=template,
        )
        try:
            await asyncio.to_thread(kube.create_pod, seen.namespace, manifest)
        except kube.Conflict:
            pass  # created by an earlier tick whose list we raced
        except kube.Refused as exc:  # RBAC or the chart's admission policy
            return "False", "PlaceholderRefused", clean_message(str(exc), limit=600)
    return outcome


async def _headroom_wanted(
    seen: _Observed, paths: np.ndarray, desired_replicas: int
) -> tuple[int, HeadroomCondition | None]:
    """Placeholders wanted now, and the Headroom condition to report (None when headroom is off)."""
    spec = seen.spec
    if not spec.scaling.headroom.enabled or spec.scaling.mode != "active":
        return 0, None
    namespace = await asyncio.to_thread(kube.get_namespace, seen.namespace)
    if not kube_headroom.namespace_opted_in(namespace):
        label = f"{kube_headroom.NAMESPACE_OPT_IN_LABEL}={kube_headroom.NAMESPACE_OPT_IN_VALUE}"
        message = f"label namespace {seen.namespace} with {label} to allow headroom placeholders"
        return 0, ("False", "NamespaceNotOptedIn", message)
    wanted = headroom.headroom_replicas(
        paths,
        capacity_per_replica=spec.metric.capacity_per_replica,
        quantile=spec.forecast.quantile,
        desired_replicas=desired_replicas,
        max_replicas=spec.scaling.max_replicas,
    )
    return wanted, ("True", "Reserved", f"{wanted} placeholder pod(s) wanted")


# --- report ------------------------------------------------------------------------------------


def _report(
    status: PredictiveScalerStatus,
    seen: _Observed,
    forecast: _Forecast,
    decision: planning.ScalingDecision,
    memory: ScalerMemory,
) -> None:
    """What the pass decided, in the status (before applying it: dryRun reports the same)."""
    model = seen.spec.forecast.model
    history = forecast.history
    status.observed_load = _round(_last_finite(history.values))
    status.model = (
        forecast.model_used if forecast.model_used.startswith(model) else f"{model}:{forecast.model_used}"
    )
    status.desired_replicas = decision.desired_replicas
    status.forecast = ForecastSummary(
        peak_p10=_round(decision.peak_p10),
        peak_p50=_round(decision.peak_p50),
        peak_p90=_round(decision.peak_p90),
        peak_at_quantile=_round(decision.peak_at_quantile),
        peak_time=iso(decision.peak_time) if decision.peak_time else None,
        window_start=iso(decision.window_start),
        window_end=iso(decision.window_end),
        confidence=staleness.confidence(len(history.values) * seen.step_seconds),
    )
    status.accuracy = Accuracy(**memory.accuracy.summary())
    status.original_hpa = OriginalHpa(
        min_replicas=seen.hpa.original_min_replicas or seen.hpa.min_replicas,
        max_replicas=seen.hpa.original_max_replicas or seen.hpa.max_replicas,
    )


def _export(
    namespace: str, name: str, status: PredictiveScalerStatus, decision: planning.ScalingDecision
) -> None:
    if status.observed_load is not None:
        telemetry.observed_load.labels(namespace, name).set(status.observed_load)
    peaks = {
        "p10": decision.peak_p10,
        "p50": decision.peak_p50,
        "p90": decision.peak_p90,
        "target": decision.peak_at_quantile,
    }
    for label, value in peaks.items():
        if value is not None:
            telemetry.forecast_peak.labels(namespace, name, label).set(value)
    telemetry.desired_replicas.labels(namespace, name).set(decision.desired_replicas)
    if status.applied_min_replicas is not None:
        telemetry.applied_floor.labels(namespace, name).set(status.applied_min_replicas)
    if status.accuracy and status.accuracy.crps is not None:
        telemetry.accuracy_crps.labels(namespace, name).set(status.accuracy.crps)
        telemetry.accuracy_coverage.labels(namespace, name).set(status.accuracy.coverage_90 or 0.0)
        telemetry.under_forecast.labels(namespace, name).set(status.accuracy.under_forecast_rate or 0.0)


def _round(value: float | None) -> float | None:
    """Four significant digits: status is for people, and float noise (76.10000000000001) is not."""
    return None if value is None else float(f"{value:.4g}")


def _last_finite(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else None


# --- kopf registration -------------------------------------------------------------------------


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=10.0)
async def scaler_daemon(
    *,
    stopped: kopf.DaemonStopped,
    name: str,
    namespace: str | None,
    body: kopf.Body,
    memo: kopf.Memo,
    **_: Any,
) -> None:
    """Reconcile every tick until the resource is deleted or the operator stops."""
    assert namespace is not None, "Foresight resources are namespaced"
    runtime: Runtime = memo.runtime
    await every_tick(
        stopped,
        runtime.settings.tick_seconds,
        PLURAL,
        namespace,
        name,
        lambda now: reconcile(runtime, name=name, namespace=namespace, body=dict(body), now=now),
    )


@kopf.on.update(GROUP, VERSION, PLURAL, field="spec.scaling.mode")
async def mode_changed(
    *, new: Any, name: str, namespace: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> None:
    """Switching to dryRun puts the HPA back at once, not at the next tick (kopf retries a conflict)."""
    assert namespace is not None, "Foresight resources are namespaced"
    if new == "dryRun":
        hpa_name = _hpa_name(body)
        if hpa_name and await _restore(namespace, hpa_name, f"{namespace}/{name}"):
            events.info(body, "Restored", f"dryRun: HPA {hpa_name} restored to its original values")


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def deleted(*, name: str, namespace: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Restore the HPA before the finalizer lets the resource go (kopf retries a conflict)."""
    assert namespace is not None, "Foresight resources are namespaced"
    hpa_name = _hpa_name(body)
    if hpa_name:
        await _restore(namespace, hpa_name, f"{namespace}/{name}")
    memo.runtime.scalers.pop(f"{namespace}/{name}", None)
    telemetry.forget_scaler(namespace, name)


def _hpa_name(body: kopf.Body) -> str | None:
    spec = body.get("spec", {})
    if spec.get("hpaRef", {}).get("name"):
        return str(spec["hpaRef"]["name"])
    target = spec.get("scaleTargetRef", {}).get("name")
    return f"{target}-foresight" if target else None
