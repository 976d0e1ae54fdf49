"""Edge cases of the PredictiveScaler reconcile against an in-memory API (the real one is in integration).

The fake keeps HPAs as dicts with resourceVersions and answers 409 on a stale one, so the retry and
"never half-changed" rules are exercised exactly as the API server would enforce them.
"""

from __future__ import annotations

import copy
import json
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
import numpy as np
import pytest

from foresight import forecasting, planning
from foresight.config import Settings
from foresight.handlers import predictive_scaler as ps
from foresight.handlers._status import iso, status_patch
from foresight.handlers.batcher import ForecastBatcher
from foresight.handlers.runtime import Runtime, ScalerMemory
from foresight.kube import client as kube
from foresight.kube import hpa as hpas
from foresight.metrics import MetricSourceError, SampledSeries

from ._merge import merge

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class FakeApi:
    """HPAs and workloads of one namespace, with optimistic concurrency like the API server."""

    def __init__(self) -> None:
        self.hpas: dict[str, dict[str, Any]] = {}
        self.workloads = {("Deployment", "web")}
        self.version = 100
        self.conflicts_to_inject = 0
        self.patches: list[dict[str, Any]] = []

    def add_hpa(self, name: str, min_replicas: int, max_replicas: int, **meta: Any) -> None:
        self.version += 1
        self.hpas[name] = {
            "metadata": {"name": name, "resourceVersion": str(self.version), **meta},
            "spec": {"minReplicas": min_replicas, "maxReplicas": max_replicas},
        }

    def get_hpa(self, namespace: str, name: str) -> dict[str, Any]:
        if name not in self.hpas:
            raise kube.NotFound(name)
        return copy.deepcopy(self.hpas[name])

    def patch_hpa(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        hpa = self.hpas[name]
        if self.conflicts_to_inject:
            self.conflicts_to_inject -= 1
            self.version += 1
            hpa["metadata"]["resourceVersion"] = str(self.version)
        if patch["metadata"].get("resourceVersion") != hpa["metadata"]["resourceVersion"]:
            raise kube.Conflict("the object has been modified")
        annotations = hpa["metadata"].setdefault("annotations", {})
        for key, value in patch["metadata"].get("annotations", {}).items():
            if value is None:
                annotations.pop(key, None)
            else:
                annotations[key] = value
        hpa["spec"].update(patch["spec"])
        self.version += 1
        hpa["metadata"]["resourceVersion"] = str(self.version)
        self.patches.append(patch)
        return copy.deepcopy(hpa)

    def get_workload(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        if (kind, name) not in self.workloads:
            raise kube.NotFound(name)
        return {"metadata": {"name": name}}

    def list_pods(self, field_selector: str = "", label_selector: str = "") -> list[dict[str, Any]]:
        return []


class FakePrometheus:
    def __init__(self, values: np.ndarray | None = None, error: MetricSourceError | None = None) -> None:
        self.values, self.error = values, error

    def single(self, query: str, start: datetime, end: datetime, step: int) -> SampledSeries:
        if self.error is not None:
            raise self.error
        assert self.values is not None
        first = end - timedelta(seconds=step * (len(self.values) - 1))
        return SampledSeries(start=first, step_seconds=step, values=self.values)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    fake = FakeApi()
    for name in ("get_hpa", "patch_hpa", "get_workload", "list_pods"):
        monkeypatch.setattr(kube, name, getattr(fake, name))
    monkeypatch.setattr(ps.events, "info", lambda *a, **k: None)
    monkeypatch.setattr(ps.events, "warn", lambda *a, **k: None)
    return fake


def _runtime(monkeypatch: pytest.MonkeyPatch, prometheus: FakePrometheus) -> Runtime:
    runtime = Runtime(settings=Settings(stale_floor_seconds=600), batcher=ForecastBatcher(window_seconds=0))
    monkeypatch.setattr(runtime, "prometheus_for", lambda spec, namespace: prometheus)
    return runtime


def _body(**scaling: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "demo", "uid": "u-1", "generation": 3},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "hpaRef": {"name": "web"},
            "metric": {
                "prometheus": {"query": 'sum(rps{namespace="demo"})'},
                "capacityPerReplica": 100,
            },
            "forecast": {"model": "seasonal-naive", "history": "1d", "step": "1m", "horizon": "30m"},
            "scaling": {"maxReplicas": 50, "startupSeconds": 180, **scaling},
        },
    }


def _steady(level: float, minutes: int = 600) -> np.ndarray:
    return np.full(minutes, level)


async def _reconcile(runtime: Runtime, body: dict[str, Any], now: datetime = NOW) -> Any:
    return await ps.reconcile(runtime, name="web", namespace="demo", body=body, now=now)


def _condition(status: Any, type_: str) -> Any:
    return next(c for c in status.conditions if c.type == type_)


async def test_raises_floor_and_records_original(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.add_hpa("web", 2, 30)
    status = await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(1000.0))), _body())
    hpa = api.hpas["web"]
    assert hpa["spec"]["minReplicas"] == status.applied_min_replicas >= 10
    assert json.loads(hpa["metadata"]["annotations"][hpas.ORIGINAL_ANNOTATION]) == {
        "minReplicas": 2,
        "maxReplicas": 30,
    }
    assert _condition(status, "Ready").reason == "Applied"
    assert "replicas" in status.last_decision.reason and status.model == "seasonal-naive"


async def test_retries_on_conflict_and_converges(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.add_hpa("web", 2, 30)
    api.conflicts_to_inject = 2
    status = await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(1000.0))), _body())
    assert api.hpas["web"]["spec"]["minReplicas"] == status.applied_min_replicas
    assert len(api.patches) == 1


async def test_dry_run_changes_nothing(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.add_hpa("web", 2, 30)
    status = await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(1000.0))), _body(mode="dryRun"))
    assert api.patches == [] and api.hpas["web"]["spec"]["minReplicas"] == 2
    assert _condition(status, "Ready").reason == "DryRun" and status.desired_replicas >= 10


async def test_switch_to_dry_run_restores_original(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.add_hpa("web", 2, 30)
    runtime = _runtime(monkeypatch, FakePrometheus(_steady(1000.0)))
    await _reconcile(runtime, _body())
    assert api.hpas["web"]["spec"]["minReplicas"] > 2
    await _reconcile(runtime, _body(mode="dryRun"))
    assert api.hpas["web"]["spec"] == {"minReplicas": 2, "maxReplicas": 30}
    assert api.hpas["web"]["metadata"]["annotations"] == {}


async def test_metric_outage_keeps_floor_then_restores(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.add_hpa("web", 2, 30)
    healthy = _runtime(monkeypatch, FakePrometheus(_steady(1000.0)))
    first = await _reconcile(healthy, _body())
    raised = api.hpas["web"]["spec"]["minReplicas"]
    body = _body()
    body["status"] = first.model_dump(by_alias=True, exclude_none=True)
    down = _runtime(monkeypatch, FakePrometheus(error=MetricSourceError("Unreachable", "connection refused")))

    soon = await _reconcile(down, body, NOW + timedelta(minutes=5))
    assert api.hpas["web"]["spec"]["minReplicas"] == raised
    assert _condition(soon, "Degraded").status == "True" and "keeping" in _condition(soon, "Degraded").message

    late = await _reconcile(down, body, NOW + timedelta(minutes=11))
    assert api.hpas["web"]["spec"]["minReplicas"] == 2
    assert "restored" in _condition(late, "Degraded").message


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (MetricSourceError("MultipleSeries", "the query returned 3 series"), "MultipleSeries"),
        (MetricSourceError("BadQuery", "parse error"), "BadQuery"),
        (MetricSourceError("InvalidValues", "only NaN"), "InvalidValues"),
    ],
)
async def test_bad_metric_changes_nothing(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, error: MetricSourceError, reason: str
) -> None:
    api.add_hpa("web", 2, 30)
    status = await _reconcile(_runtime(monkeypatch, FakePrometheus(error=error)), _body())
    assert api.patches == []
    assert _condition(status, "Degraded").reason == reason


async def test_query_of_another_namespace_is_refused(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.add_hpa("web", 2, 30)
    body = _body()
    body["spec"]["metric"]["prometheus"]["query"] = 'sum(rps{namespace="bank"})'
    status = await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(1000.0))), body)
    assert api.patches == []
    assert _condition(status, "Ready").reason == "QueryNotAllowed"


async def test_invalid_spec_is_reported(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    body = _body(minReplicas=60)
    status = await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(1.0))), body)
    ready = _condition(status, "Ready")
    assert ready.reason == "InvalidSpec" and "minReplicas must be <= scaling.maxReplicas" in ready.message


async def test_hpa_steered_by_another_scaler_is_left_alone(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.add_hpa("web", 5, 30, annotations={hpas.MANAGED_BY_ANNOTATION: "demo/other"})
    status = await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(1000.0))), _body())
    assert api.patches == []
    assert _condition(status, "Conflict").status == "True"
    assert "demo/other" in _condition(status, "Conflict").message


async def test_missing_target_and_hpa(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = _runtime(monkeypatch, FakePrometheus(_steady(1000.0)))
    assert _condition(await _reconcile(runtime, _body()), "Ready").reason == "HpaMissing"
    api.workloads.clear()
    assert _condition(await _reconcile(runtime, _body()), "Ready").reason == "TargetMissing"


async def test_floor_never_below_users_minimum(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.add_hpa("web", 4, 30)
    status = await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(10.0))), _body())
    assert status.desired_replicas == 4 and api.hpas["web"]["spec"]["minReplicas"] == 4


async def test_restart_keeps_scale_down_stabilization(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.add_hpa("web", 2, 30)
    await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(2000.0))), _body())
    raised = api.hpas["web"]["spec"]["minReplicas"]
    fresh = _runtime(monkeypatch, FakePrometheus(_steady(100.0)))  # a new process: empty memory
    await _reconcile(fresh, _body(), NOW + timedelta(minutes=1))
    assert api.hpas["web"]["spec"]["minReplicas"] == raised


async def test_failing_model_falls_back_to_a_classical_one() -> None:
    class Broken:
        def forecast(self, *args: Any, **kwargs: Any) -> forecasting.Forecast:
            raise IndexError("index 0 is out of bounds")

    batcher = ForecastBatcher(
        window_seconds=0, get_model=lambda name: Broken() if name == "deepar" else forecasting.get(name)
    )
    series = forecasting.Series(_steady(50.0, 120), NOW - timedelta(hours=2), 60)
    paths, used = await batcher.sample("deepar", series, horizon_steps=10, n_samples=20)
    assert paths.shape == (20, 10) and np.isfinite(paths).all()
    assert used == "holt-winters (fallback: deepar failed)"


@pytest.mark.parametrize("calibrate", [True, False])
async def test_calibration_scales_the_peak_only_when_asked(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, calibrate: bool
) -> None:
    api.add_hpa("web", 2, 30)
    runtime = _runtime(monkeypatch, FakePrometheus(_steady(1000.0)))
    # An hour of past windows whose peaks came in 50 % above the forecast.
    record = planning.PeakCalibration(ratios=(1.5,) * 60, predicted=(1000.0,) * 60)
    runtime.scalers["demo/web"] = ScalerMemory(calibration=record)
    body = _body()
    body["spec"]["forecast"]["calibrate"] = calibrate
    status = await _reconcile(runtime, body)
    if calibrate:
        assert "× 1.50 calibration" in status.last_decision.reason
        assert status.applied_min_replicas >= 15
        assert len(runtime.scalers["demo/web"].calibration.pending) == 1  # this decision's window
    else:
        assert "calibration" not in status.last_decision.reason
        assert status.applied_min_replicas < 15
        assert runtime.scalers["demo/web"].calibration.ratios == ()  # the record is dropped


def _stored(status: Any, before: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the API server keeps after merging the status patch into ``before``."""
    return merge(before or {}, status_patch(status))  # type: ignore[no-any-return]


async def test_switch_to_dry_run_clears_the_applied_floor_from_status(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.add_hpa("web", 2, 30)
    runtime = _runtime(monkeypatch, FakePrometheus(_steady(1000.0)))
    stored = _stored(await _reconcile(runtime, _body()))
    assert stored["appliedMinReplicas"] > 2
    body = _body(mode="dryRun")
    body["status"] = stored
    stored = _stored(await _reconcile(runtime, body), stored)
    assert "appliedMinReplicas" not in stored
    assert stored["desiredReplicas"] >= 10


async def test_stale_floor_path_clears_the_applied_floor_from_status(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.add_hpa("web", 2, 30)
    stored = _stored(await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(1000.0))), _body()))
    body = _body()
    body["status"] = stored
    down = _runtime(monkeypatch, FakePrometheus(error=MetricSourceError("Unreachable", "connection refused")))
    stored = _stored(await _reconcile(down, body, NOW + timedelta(minutes=11)), stored)
    assert "appliedMinReplicas" not in stored and api.hpas["web"]["spec"]["minReplicas"] == 2


async def test_a_new_scaler_with_no_metric_says_it_has_no_forecast_yet(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.add_hpa("web", 2, 30)
    down = _runtime(monkeypatch, FakePrometheus(error=MetricSourceError("Unreachable", "connection refused")))
    message = _condition(await _reconcile(down, _body()), "Degraded").message
    assert "no good forecast yet" in message and "over" not in message


async def test_a_huge_load_gives_a_bounded_message(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    api.add_hpa("web", 2, 30)
    status = await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(1e300))), _body())
    ready = _condition(status, "Ready")
    assert len(ready.message) < 400 and "0" * 20 not in ready.message
    assert status.observed_load == 1e300


@pytest.mark.parametrize(
    "url",
    ["http://attacker.example:8080", "http://kube-dns.kube-system.svc:53"],
)
async def test_a_prometheus_url_outside_the_allow_list_is_refused(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    api.add_hpa("web", 2, 30)
    prometheus = FakePrometheus(_steady(1000.0))
    runtime = Runtime(settings=Settings(), batcher=ForecastBatcher(window_seconds=0))
    asked: list[str] = []
    monkeypatch.setattr(runtime, "prometheus_for", lambda spec, ns: asked.append(ns) or prometheus)
    body = _body()
    body["spec"]["metric"]["prometheus"]["url"] = url
    status = await _reconcile(runtime, body)
    ready = _condition(status, "Ready")
    assert ready.reason == "URLNotAllowed" and url in ready.message
    assert asked == [] and api.patches == []


async def test_a_smuggling_url_is_refused_as_an_invalid_spec(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: a CRD installed before the URL rule would let this through the API server."""
    api.add_hpa("web", 2, 30)
    body = _body()
    body["spec"]["metric"]["prometheus"]["url"] = (
        "http://127.0.0.1:9090/api/v1/query_range?query=sum(rps%7Bnamespace%3D%22bank%22%7D)#"
    )
    status = await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(1000.0))), body)
    ready = _condition(status, "Ready")
    assert ready.reason == "InvalidSpec" and "must be a base URL" in ready.message
    assert api.patches == []


async def test_an_hpa_that_keeps_changing_is_reported_and_not_recorded_as_decided(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.add_hpa("web", 2, 30)
    api.conflicts_to_inject = 100
    status = await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(1000.0))), _body())
    ready = _condition(status, "Ready")
    assert ready.status == "False" and ready.reason == "ConflictRetriesExhausted"
    assert "HPA web kept changing" in ready.message
    assert status.last_decision is None and api.patches == []


async def test_switching_to_dry_run_restores_at_once_and_kopf_retries_a_conflict(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.add_hpa("web", 2, 30)
    await _reconcile(_runtime(monkeypatch, FakePrometheus(_steady(1000.0))), _body())
    assert api.hpas["web"]["spec"]["minReplicas"] > 2
    api.conflicts_to_inject = 100
    with pytest.raises(kube.KeptChanging) as raised:
        await ps.mode_changed(
            new="dryRun", name="web", namespace="demo", body=_body(mode="dryRun"), memo=None
        )
    assert isinstance(raised.value, kopf.TemporaryError)
    api.conflicts_to_inject = 1
    await ps.mode_changed(new="dryRun", name="web", namespace="demo", body=_body(mode="dryRun"), memo=None)
    assert api.hpas["web"]["spec"] == {"minReplicas": 2, "maxReplicas": 30}


class FakeHeadroom:
    """Placeholder pods of one namespace; the namespace has opted in."""

    def __init__(self, names: list[str]) -> None:
        self.pods = {name: {"metadata": {"name": name}} for name in names}
        self.created: list[dict[str, Any]] = []

    def get_namespace(self, name: str) -> dict[str, Any]:
        return {"metadata": {"name": name, "labels": {"foresight.dev/headroom": "enabled"}}}

    def list_pods(self, field_selector: str = "", label_selector: str = "") -> list[dict[str, Any]]:
        assert label_selector == "foresight.dev/headroom-for=web"
        return list(self.pods.values())

    def create_pod(self, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
        self.created.append(manifest)
        self.pods[manifest["metadata"]["name"]] = manifest
        return manifest

    def delete_pod(self, namespace: str, name: str) -> None:
        del self.pods[name]


@pytest.mark.parametrize("existing", [[], ["web-headroom-1"], [f"web-headroom-{i}" for i in range(12)]])
async def test_headroom_placeholders_cover_the_horizon_peak_beyond_the_floor(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, existing: list[str]
) -> None:
    """The floor covers the lead window, placeholders the rest of the horizon's higher peak."""
    api.add_hpa("web", 2, 30)
    pods = FakeHeadroom(existing)
    for name in ("get_namespace", "list_pods", "create_pod", "delete_pod"):
        monkeypatch.setattr(kube, name, getattr(pods, name))
    runtime = _runtime(monkeypatch, FakePrometheus(_steady(1000.0)))
    ramp = np.tile(np.linspace(1000.0, 2000.0, 30), (100, 1))  # 2,000 at the horizon: 20 replicas

    async def sample(*args: Any) -> tuple[np.ndarray, str]:
        return ramp, "seasonal-naive"

    monkeypatch.setattr(runtime.batcher, "sample", sample)
    status = await _reconcile(runtime, _body(headroom={"enabled": True}))
    wanted = 20 - status.desired_replicas
    assert 0 < wanted < 12 and _condition(status, "Headroom").message == f"{wanted} placeholder pod(s) wanted"
    assert len(pods.pods) == wanted and set(sorted(existing)[:wanted]) <= set(pods.pods)
    assert all(p["metadata"]["name"] not in existing for p in pods.created)
    assert all(p["metadata"]["ownerReferences"][0]["uid"] == "u-1" for p in pods.created)


@pytest.mark.parametrize(("season", "seconds"), [(None, 86_400), ("24m", 1_440)])
async def test_the_forecaster_gets_the_workloads_day(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, season: str | None, seconds: int
) -> None:
    api.add_hpa("web", 2, 30)
    runtime = _runtime(monkeypatch, FakePrometheus(_steady(1000.0)))
    seen: list[forecasting.Series] = []
    model = forecasting.get("seasonal-naive")
    original = model.forecast

    def recording(series: list[forecasting.Series], *args: Any, **kwargs: Any) -> Any:
        seen.extend(series)
        return original(series, *args, **kwargs)

    monkeypatch.setattr(model, "forecast", recording)
    monkeypatch.setattr(runtime.batcher, "model", lambda name: model)
    body = _body()
    if season is not None:
        body["spec"]["forecast"]["season"] = season
    status = await _reconcile(runtime, body)
    assert _condition(status, "Ready").reason == "Applied"
    assert [s.season_seconds for s in seen] == [seconds]


@pytest.mark.parametrize(("sync", "slow"), [(0, 0.0), (15, 0.0), (15, 1.2)])
async def test_the_lead_window_starts_when_the_hpa_can_act_on_the_floor(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, sync: int, slow: float
) -> None:
    api.add_hpa("web", 2, 30)
    runtime = _runtime(monkeypatch, FakePrometheus(_steady(1000.0)))
    runtime.settings = runtime.settings.model_copy(update={"hpa_sync_seconds": sync})
    model = forecasting.get("seasonal-naive")
    original = model.forecast

    def slow_forecast(*args: Any, **kwargs: Any) -> Any:
        time.sleep(slow)  # a busy CPU: the floor is written this much after the tick started
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "forecast", slow_forecast)
    monkeypatch.setattr(runtime.batcher, "model", lambda name: model)
    status = await _reconcile(runtime, _body())
    assert _condition(status, "Ready").reason == "Applied"
    # Written at the tick's start (plus whole seconds of forecasting), read at the HPA's next sync, ready
    # startupSeconds (180) after that.
    decided = NOW + timedelta(seconds=math.floor(slow))
    assert status.last_decision.time == iso(decided)
    assert status.forecast.window_start == iso(decided + timedelta(seconds=sync + 180))
