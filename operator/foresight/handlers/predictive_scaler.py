"""kopf handlers for ``PredictiveScaler``: Prometheus -> forecast -> HPA floor raised ahead of the surge.

A per-resource daemon calls ``reconcile`` every tick; ``reconcile`` looks at the world as it is now
(spec, HPA, metric) and is idempotent, so a restarted operator converges from the API's state alone.
Policy arithmetic lives in :mod:`foresight.planning`; Kubernetes I/O in :mod:`foresight.kube`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import kopf
import numpy as np
from pydantic import ValidationError

from foresight import forecasting, logs, planning
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
    predictive_scaler,
)
from foresight.config import Settings
from foresight.handlers import _events as events
from foresight.handlers import telemetry
from foresight.handlers._batcher import ForecastBatcher
from foresight.handlers._status import ConditionStatus, condition_setter, describe, every_tick, iso
from foresight.kube import client as kube
from foresight.kube import headroom as kube_headroom
from foresight.kube import hpa as hpas
from foresight.metrics import (
    EndpointNotAllowed,
    MetricSourceError,
    PrometheusClient,
    PrometheusClients,
    SecretRef,
    TenancyError,
    check_namespace_pinned,
    clean_message,
)
from foresight.planning.accuracy import AccuracyTracker
from foresight.planning.headroom import headroom_replicas

PLURAL = predictive_scaler.PLURAL
CONFLICT_RETRIES = 3
log = logs.get(__name__)


@dataclass
class ScalerMemory:
    """What one scaler keeps between ticks in memory; losing it (restart) is safe by construction."""

    desired_history: tuple[tuple[datetime, int], ...] = ()
    accuracy: AccuracyTracker = field(default_factory=AccuracyTracker)
    calibration: planning.PeakCalibration = field(default_factory=planning.PeakCalibration)


@dataclass
class Runtime:
    """Process-wide collaborators, built once at start-up and shared by all handlers."""

    settings: Settings
    batcher: ForecastBatcher
    scalers: dict[str, ScalerMemory] = field(default_factory=dict)
    prometheus: PrometheusClients = field(init=False)

    def __post_init__(self) -> None:
        self.prometheus = PrometheusClients(self.settings, read_secret=kube.get_secret_value)

    def prometheus_for(self, spec: PredictiveScalerSpec, namespace: str) -> PrometheusClient:
        """A client for the scaler's Prometheus, with only the credentials that endpoint may have."""
        source = spec.metric.prometheus
        ref = source.auth_secret_ref
        secret = SecretRef(namespace, ref.name, ref.key) if ref is not None else None
        return self.prometheus.get(source.url, secret)


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


class _Outcome(Exception):
    """Ends a reconcile early with a condition to report (not an error of the operator)."""

    def __init__(self, type_: str, status: ConditionStatus, reason: str, message: str) -> None:
        super().__init__(message)
        self.condition = (type_, status, reason, message)


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
    key = f"{namespace}/{name}"
    old = _status_of(body)
    status = old.model_copy(deep=True)
    status.observed_generation = body.get("metadata", {}).get("generation")
    generation = status.observed_generation

    condition = condition_setter(status, now, generation)

    try:
        spec = _validate(body, namespace, runtime.settings)
        _check_endpoint(runtime, spec)
        memory = runtime.scalers.setdefault(key, ScalerMemory())
        hpa, workload = await _ensure_hpa(spec, name, namespace, body)
        hpa_state = hpas.HpaState.from_object(hpa)
        status.hpa_name = hpa_state.name
        hpas.check_can_steer(hpa_state, key)
        condition("Conflict", "False", "NoConflict", "no other controller steers this HPA")
        changed_by_other = hpas.external_change(hpa_state)
        if changed_by_other:
            events.warn(
                body,
                "ExternalChange",
                f"HPA {hpa_state.name}: {changed_by_other}; adopting it",
            )

        step = int(parse_duration(spec.forecast.step).total_seconds())
        try:
            history = await _history(runtime, spec, namespace, now, step, key)
        except MetricSourceError as exc:
            telemetry.prometheus_errors.labels(namespace, name, exc.reason).inc()
            await _degrade(spec, hpa_state, key, status, now, runtime.settings, exc, condition)
            return status
        condition("Degraded", "False", "MetricHealthy", "the metric source answered")

        horizon_steps = max(1, int(parse_duration(spec.forecast.horizon).total_seconds() // step))
        model = spec.forecast.model
        paths, model_used = await runtime.batcher.sample(model, history, horizon_steps, spec.forecast.samples)
        observed = _last_finite(history.values)
        memory.accuracy.observe_values(history.start, history.step_seconds, history.values)
        last_observed = history.start + timedelta(seconds=history.step_seconds * (len(history.values) - 1))
        memory.accuracy.record(
            paths,
            last_observed=last_observed,
            step_seconds=history.step_seconds,
            quantile=spec.forecast.quantile,
        )

        if not memory.desired_history and hpa_state.managed_by == key:
            # Fresh memory (new process) on an HPA we already steer: treat the current floor as recently
            # desired, so a restart never shortcuts the scale-down stabilization.
            memory.desired_history = ((now, hpa_state.min_replicas),)
        policy = planning.PlanningPolicy.from_spec(
            spec, control_interval_seconds=max(step, int(runtime.settings.tick_seconds))
        )
        current = planning.CurrentState(
            current_floor=hpa_state.min_replicas,
            observed_load=observed,
            hpa_min_replicas=hpa_state.min_replicas if changed_by_other else hpa_state.baseline_min_replicas,
            hpa_max_replicas=hpa_state.max_replicas,
            desired_history=memory.desired_history,
        )
        calibration = (
            memory.calibration.observe_grid(history.start.timestamp(), history.step_seconds, history.clean())
            if policy.calibrate
            else None
        )
        decision = planning.decide(
            policy,
            paths,
            step,
            current,
            now,
            samples_start=last_observed + timedelta(seconds=step),
            calibration=calibration,
        )
        if calibration is not None and decision.raw_peak_at_quantile is not None:
            calibration = calibration.expect(
                decision.window_start, decision.window_end, decision.raw_peak_at_quantile
            )
        # Switched off, the record is dropped: switched on again, it starts afresh.
        memory.calibration = calibration or planning.PeakCalibration()
        memory.desired_history = planning.record_desired(
            memory.desired_history,
            now,
            decision.desired_replicas,
            spec.scaling.scale_down.stabilization_seconds,
        )

        status.observed_load = _round(observed)
        status.model = model_used if model_used.startswith(model) else f"{model}:{model_used}"
        status.desired_replicas = decision.desired_replicas
        status.forecast = ForecastSummary(
            peak_p10=_round(decision.peak_p10),
            peak_p50=_round(decision.peak_p50),
            peak_p90=_round(decision.peak_p90),
            peak_at_quantile=_round(decision.peak_at_quantile),
            peak_time=iso(decision.peak_time) if decision.peak_time else None,
            window_start=iso(decision.window_start),
            window_end=iso(decision.window_end),
            confidence=_confidence(history, step),
        )
        status.accuracy = Accuracy(**memory.accuracy.summary())
        status.original_hpa = OriginalHpa(
            min_replicas=hpa_state.original_min_replicas or hpa_state.min_replicas,
            max_replicas=hpa_state.original_max_replicas or hpa_state.max_replicas,
        )

        if spec.scaling.mode == "dryRun":
            await _restore(namespace, hpa_state.name, key)
            status.applied_min_replicas = None
            condition("Ready", "True", "DryRun", f"would set HPA floor to {decision.floor}; changing nothing")
        else:
            applied = await _apply_floor(
                namespace, hpa_state.name, key, decision.floor, bool(changed_by_other)
            )
            if applied != hpa_state.min_replicas:
                events.info(body, "FloorChanged", decision.reason)
                telemetry.hpa_patches.labels(namespace, name, "floor").inc()
            status.applied_min_replicas = applied
            condition("Ready", "True", "Applied", decision.reason)
        template = (workload.get("spec") or {}).get("template")
        desired = decision.desired_replicas
        headroom = await _sync_headroom(spec, name, namespace, body, paths, desired, template)
        if headroom is not None:
            condition("Headroom", *headroom)
        else:
            status.conditions = [c for c in status.conditions if c.type != "Headroom"]
        status.last_decision = Decision(
            time=iso(now),
            desired_replicas=decision.desired_replicas,
            floor=decision.floor,
            reason=decision.reason,
        )
        _export(namespace, name, status, decision)
    except _Outcome as outcome:
        condition(*outcome.condition)
        if outcome.condition[0] == "Conflict":
            condition("Ready", "False", "Conflict", outcome.condition[3])
    except hpas.HpaConflict as exc:
        condition("Conflict", "True", "HpaSteeredElsewhere", str(exc))
        condition("Ready", "False", "Conflict", str(exc))
    finally:
        telemetry.decision_seconds.observe(time.perf_counter() - started)
    return status


async def _sync_headroom(
    spec: PredictiveScalerSpec,
    name: str,
    namespace: str,
    body: dict[str, Any],
    paths: np.ndarray,
    desired_replicas: int,
    template: dict[str, Any] | None,
) -> tuple[ConditionStatus, str, str] | None:
    """Keep as many placeholder pods as the rest of the horizon's peak needs beyond the floor.

    Returns the Headroom condition (status, reason, message), or None when headroom is off.
    """
    headroom = spec.scaling.headroom
    wanted = 0
    outcome: tuple[ConditionStatus, str, str] | None = None
    if headroom.enabled and spec.scaling.mode == "active":
        ns = await asyncio.to_thread(kube.get_namespace, namespace)
        if not kube_headroom.namespace_opted_in(ns):
            label = f"{kube_headroom.NAMESPACE_OPT_IN_LABEL}={kube_headroom.NAMESPACE_OPT_IN_VALUE}"
            message = f"label namespace {namespace} with {label} to allow headroom placeholders"
            outcome = ("False", "NamespaceNotOptedIn", message)
        else:
            wanted = headroom_replicas(
                paths,
                capacity_per_replica=spec.metric.capacity_per_replica,
                quantile=spec.forecast.quantile,
                desired_replicas=desired_replicas,
                max_replicas=spec.scaling.max_replicas,
            )
            outcome = ("True", "Reserved", f"{wanted} placeholder pod(s) wanted")
    selector = f"{kube_headroom.HEADROOM_LABEL}={name}"
    existing = await asyncio.to_thread(kube.list_pods, f"metadata.namespace={namespace}", selector)
    names = sorted(p["metadata"]["name"] for p in existing if not p["metadata"].get("deletionTimestamp"))
    for extra in names[wanted:]:
        await asyncio.to_thread(kube.delete_pod, namespace, extra)
    taken = set(names)
    owner = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": predictive_scaler.KIND,
        "name": name,
        "uid": body["metadata"]["uid"],
    }
    index = 0
    for _ in range(wanted - len(names[:wanted])):
        while f"{name}-headroom-{index}" in taken:
            index += 1
        manifest = kube_headroom.placeholder_pod(
            scaler=name,
            namespace=namespace,
            index=index,
            priority_class_name=headroom.priority_class_name,
            cpu=headroom.cpu_per_replica,
            memory=headroom.memory_per_replica,
            owner=owner,
            template=template,
        )
        taken.add(manifest["metadata"]["name"])
        try:
            await asyncio.to_thread(kube.create_pod, namespace, manifest)
        except kube.Conflict:
            pass  # created by an earlier tick whose list we raced
        except kube.Refused as exc:  # RBAC or the chart's admission policy
            return "False", "PlaceholderRefused", clean_message(str(exc), limit=600)
    return outcome


def _status_of(body: dict[str, Any]) -> PredictiveScalerStatus:
    try:
        return PredictiveScalerStatus.model_validate(body.get("status") or {})
    except ValidationError:
        return PredictiveScalerStatus()


def _validate(body: dict[str, Any], namespace: str, settings: Settings) -> PredictiveScalerSpec:
    try:
        spec = PredictiveScalerSpec.model_validate(body.get("spec") or {})
    except ValidationError as exc:
        raise _Outcome("Ready", "False", "InvalidSpec", describe(exc)) from exc
    if not settings.allow_cross_namespace_queries:
        try:
            check_namespace_pinned(spec.metric.prometheus.query, namespace)
        except TenancyError as exc:
            raise _Outcome("Ready", "False", "QueryNotAllowed", str(exc)) from exc
    return spec


def _check_endpoint(runtime: Runtime, spec: PredictiveScalerSpec) -> None:
    """Refuse a Prometheus URL outside the allow-list before any request is made."""
    try:
        runtime.prometheus.check_allowed(spec.metric.prometheus.url)
    except EndpointNotAllowed as exc:
        raise _Outcome("Ready", "False", "URLNotAllowed", str(exc)) from exc


async def _ensure_hpa(
    spec: PredictiveScalerSpec, name: str, namespace: str, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The HPA this scaler steers (created if it owns one) and the workload it scales."""
    target = spec.scale_target_ref
    try:
        workload = await asyncio.to_thread(kube.get_workload, namespace, target.kind, target.name)
    except kube.NotFound as exc:
        raise _Outcome("Ready", "False", "TargetMissing", f"{target.kind} {target.name} not found") from exc
    hpa_name = spec.hpa_ref.name if spec.hpa_ref else f"{target.name}-foresight"
    try:
        return await asyncio.to_thread(kube.get_hpa, namespace, hpa_name), workload
    except kube.NotFound as exc:
        if spec.hpa_ref is not None:
            raise _Outcome("Ready", "False", "HpaMissing", f"HPA {hpa_name} not found") from exc
    manifest = hpas.owned_hpa_manifest(
        name=hpa_name,
        namespace=namespace,
        target_kind=target.kind,
        target_name=target.name,
        min_replicas=spec.scaling.min_replicas,
        max_replicas=spec.scaling.max_replicas,
        owner={
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": predictive_scaler.KIND,
            "name": name,
            "uid": body["metadata"]["uid"],
        },
    )
    return await asyncio.to_thread(kube.create_hpa, namespace, manifest), workload


async def _history(
    runtime: Runtime, spec: PredictiveScalerSpec, namespace: str, now: datetime, step: int, key: str
) -> forecasting.Series:
    client = await asyncio.to_thread(runtime.prometheus_for, spec, namespace)
    start = now - parse_duration(spec.forecast.history)
    # Align the grid to the step so consecutive ticks see the same points.
    end = datetime.fromtimestamp(now.timestamp() // step * step, tz=UTC)
    sampled = await asyncio.to_thread(client.single, spec.metric.prometheus.query, start, end, step)
    values = sampled.values
    finite = np.flatnonzero(np.isfinite(values))
    values = values[finite[0] :]  # leading gaps carry no information
    first = sampled.start + timedelta(seconds=int(finite[0]) * sampled.step_seconds)
    return forecasting.Series(values=values, start=first, step_seconds=sampled.step_seconds, item_id=key)


def _round(value: float | None) -> float | None:
    """Four significant digits: status is for people, and float noise (76.10000000000001) is not."""
    return None if value is None else float(f"{value:.4g}")


def _last_finite(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else None


def _confidence(history: forecasting.Series, step: int) -> Literal["cold-start", "low", "normal"]:
    hours = len(history.values) * step / 3600
    return "cold-start" if hours < 6 else "low" if hours < 48 else "normal"


async def _degrade(
    spec: PredictiveScalerSpec,
    hpa_state: hpas.HpaState,
    key: str,
    status: PredictiveScalerStatus,
    now: datetime,
    settings: Settings,
    error: MetricSourceError,
    condition: Any,
) -> None:
    """Metric source failing: keep the last good floor for a bounded time, then restore the original."""
    last_good = _parse_time(status.last_decision.time) if status.last_decision else None
    age = (now - last_good).total_seconds() if last_good else float("inf")
    limit = int(settings.stale_floor_seconds)
    if age <= settings.stale_floor_seconds:
        condition(
            "Degraded",
            "True",
            error.reason,
            f"{error}; keeping the last good floor ({int(age)}s old, limit {limit}s)",
        )
        return
    namespace = key.split("/", 1)[0]
    restored = await _restore(namespace, hpa_state.name, key)
    status.applied_min_replicas = None
    if last_good is None:
        what = "no good forecast yet"
    else:
        what = f"no good forecast for {int(age)}s (limit {limit}s)"
    action = "original HPA floor restored" if restored else "HPA floor left as the HPA's own"
    condition("Degraded", "True", error.reason, f"{error}; {what}, {action}")


async def _apply_floor(namespace: str, hpa_name: str, key: str, floor: int, adopt_external: bool) -> int:
    """Set the floor with optimistic concurrency: re-read and retry on 409."""
    for attempt in range(CONFLICT_RETRIES):
        state = hpas.HpaState.from_object(await asyncio.to_thread(kube.get_hpa, namespace, hpa_name))
        hpas.check_can_steer(state, key)
        if state.min_replicas == floor and state.managed_by == key:
            return floor
        patch = hpas.floor_patch(state, key, floor, adopt_external=adopt_external)
        try:
            await asyncio.to_thread(kube.patch_hpa, namespace, hpa_name, patch)
            return floor
        except kube.Conflict:
            log.info("hpa changed while patching, retrying", hpa=hpa_name, attempt=attempt + 1)
    raise _Outcome("Ready", "False", "ConflictRetriesExhausted", f"HPA {hpa_name} kept changing; will retry")


async def _restore(namespace: str, hpa_name: str, key: str) -> bool:
    """Put back the HPA's original values, if Foresight changed them. Returns whether it did."""
    for _ in range(CONFLICT_RETRIES):
        try:
            state = hpas.HpaState.from_object(await asyncio.to_thread(kube.get_hpa, namespace, hpa_name))
        except kube.NotFound:
            return False
        if state.managed_by not in (None, key):
            return False
        patch = hpas.restore_patch(state)
        if patch is None:
            return False
        try:
            await asyncio.to_thread(kube.patch_hpa, namespace, hpa_name, patch)
            return True
        except kube.Conflict:
            continue
    raise kopf.TemporaryError(f"HPA {hpa_name} kept changing while restoring it", delay=5)


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
    """Switching to dryRun puts the HPA back at once, not at the next tick."""
    assert namespace is not None, "Foresight resources are namespaced"
    if new == "dryRun":
        hpa_name = _hpa_name(body)
        if hpa_name and await _restore(namespace, hpa_name, f"{namespace}/{name}"):
            events.info(body, "Restored", f"dryRun: HPA {hpa_name} restored to its original values")


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def deleted(*, name: str, namespace: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Restore the HPA before the finalizer lets the resource go."""
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
