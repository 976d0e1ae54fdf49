"""``PredictiveScaler``: forecast a workload's load and raise its HPA's floor before the surge arrives.

The pydantic models here are the single source of the CRD schema (``foresight crds`` generates
``crds/``). Every rule Kubernetes can enforce lives in the schema (types, ranges, enums, CEL rules),
so a bad manifest is rejected by the API server; ``model_validator`` mirrors the CEL rules so the
same spec fails the same way in Python.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from foresight.api.v1alpha1._common import (
    BaseUrl,
    Condition,
    Duration,
    Mode,
    Model,
    SecretKeyRef,
    parse_duration,
)

KIND = "PredictiveScaler"
PLURAL = "predictivescalers"
SHORT_NAMES = ["ps", "pscaler"]

ForecastModelName = Literal[
    "analog", "auto", "naive", "theta", "deepar", "fracast", "seasonal-naive", "holt-winters", "fft"
]


class ScaleTargetRef(Model):
    """The workload whose replicas the HPA controls."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["Deployment", "StatefulSet"]
    name: str = Field(min_length=1, max_length=253)


class HpaRef(Model):
    """An existing HorizontalPodAutoscaler (same namespace) to steer instead of one Foresight owns."""

    name: str = Field(min_length=1, max_length=253)


class PrometheusSource(Model):
    """Where the load history comes from."""

    query: str = Field(
        min_length=1,
        max_length=4096,
        description="PromQL returning exactly one series: the load the workload serves (e.g. requests/s).",
    )
    url: BaseUrl | None = Field(
        default=None,
        description=(
            "Prometheus base URL (http(s)://host[:port][/path]); defaults to the operator's configured "
            "Prometheus. Any other URL must be in the operator's allow-list (chart value "
            "prometheus.allowedURLs)."
        ),
    )
    auth_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description=(
            "Bearer token for this Prometheus, from a Secret in this namespace. Without it, a URL other "
            "than the operator's own Prometheus is queried with no credentials."
        ),
    )


class MetricSpec(Model):
    """The load signal and how much of it one ready replica serves."""

    prometheus: PrometheusSource
    capacity_per_replica: float = Field(
        gt=0, description="Load one ready replica serves at the desired utilization (same unit as the query)."
    )


class ForecastSpec(Model):
    """How far ahead, from how much history, and at which risk to forecast."""

    model: ForecastModelName = Field(
        default="analog",
        description=(
            "Forecaster: analog (default; smoothed level plus the changes that followed similar moments), "
            "auto (per-series blend), naive (persistence), theta, deepar, "
            "fracast (pretrained zero-shot; slow), seasonal-naive, holt-winters, fft."
        ),
    )
    horizon: Duration = Field(default="30m", description="How far ahead to forecast.")
    history: Duration = Field(default="7d", description="How much history to query.")
    step: Duration = Field(default="1m", description="Resolution of the history and of the forecast.")
    season: Duration = Field(
        default="1d",
        description=(
            "Length of the workload's daily cycle on the metric's clock (its week is seven of them): 1d, "
            "unless the load is a replay sped up N times (then 1d / N)."
        ),
    )
    quantile: float = Field(
        default=0.9, ge=0.5, le=0.999, description="Risk level: size for this quantile of the forecast peak."
    )
    samples: int = Field(default=100, ge=10, le=1000, description="Sample paths drawn per forecast.")
    calibrate: bool = Field(
        default=False,
        description=(
            "Scale the forecast peak by how past lead-window peaks compared with their forecasts "
            "(split-conformal, by level)."
        ),
    )

    @model_validator(mode="after")
    def _durations_make_sense(self) -> ForecastSpec:
        step, horizon, history = (parse_duration(d) for d in (self.step, self.horizon, self.history))
        if step < timedelta(seconds=1):
            raise ValueError("forecast.step must be at least 1s")
        if parse_duration(self.season) < 2 * step:
            raise ValueError("forecast.season must cover at least two forecast.step")
        if horizon < step:
            raise ValueError("forecast.horizon must be at least one forecast.step")
        if history < 2 * step:
            raise ValueError("forecast.history must cover at least two forecast.step")
        return self


class ScaleDownSpec(Model):
    """How fast the floor may fall when the forecast drops."""

    stabilization_seconds: int = Field(
        default=300, ge=0, le=3600, description="Keep the highest floor desired within this window."
    )
    max_step_percent: int = Field(
        default=50, ge=1, le=100, description="At most this share of the current floor removed per step."
    )


class HeadroomSpec(Model):
    """Capacity reserved on nodes before a forecast surge (low-priority placeholder pods)."""

    enabled: bool = False
    priority_class_name: str = Field(default="foresight-headroom", max_length=253)
    cpu_per_replica: str = Field(default="100m", pattern=r"^[0-9]+(\.[0-9]+)?m?$")
    memory_per_replica: str = Field(default="128Mi", pattern=r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti)?$")


class ScalingSpec(Model):
    """Bounds and pace of the replicas Foresight asks for."""

    startup_seconds: int = Field(
        default=180, ge=0, le=3600, description="Time from asking for a pod to it serving: the lead time."
    )
    min_replicas: int = Field(default=1, ge=1, le=10000)
    max_replicas: int = Field(ge=1, le=10000)
    mode: Mode = "active"
    target_miss_rate: float | None = Field(
        default=None,
        ge=0.0001,
        le=0.2,
        description=(
            "Share of lead windows whose peak load may exceed the floor's capacity (e.g. 0.01). Set, the "
            "planner keeps score of its own lead windows (the last 2,880) and scales the forecast peak at "
            "forecast.quantile by the split-conformal factor that would have missed this share of them."
        ),
    )
    scale_down: ScaleDownSpec = Field(default_factory=ScaleDownSpec)
    headroom: HeadroomSpec = Field(default_factory=HeadroomSpec)

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.minReplicas <= self.maxReplicas",
                    "message": "scaling.minReplicas must be <= scaling.maxReplicas",
                    "fieldPath": ".minReplicas",
                }
            ]
        }
    )

    @model_validator(mode="after")
    def _bounds_ordered(self) -> ScalingSpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError("scaling.minReplicas must be <= scaling.maxReplicas")
        return self


class PredictiveScalerSpec(Model):
    """What a user declares: target, load signal, forecast and scaling policy."""

    scale_target_ref: ScaleTargetRef
    hpa_ref: HpaRef | None = Field(
        default=None, description="HPA to steer; absent means Foresight creates and owns one for the target."
    )
    metric: MetricSpec
    forecast: ForecastSpec = Field(default_factory=ForecastSpec)
    scaling: ScalingSpec


class ForecastSummary(Model):
    """The forecast peak inside the lead window, as quantiles of the sampled peaks."""

    peak_p10: float | None = None
    peak_p50: float | None = None
    peak_p90: float | None = None
    peak_at_quantile: float | None = Field(default=None, description="Peak at spec.forecast.quantile.")
    peak_time: str | None = None
    window_start: str | None = None
    window_end: str | None = None
    confidence: Literal["cold-start", "low", "normal"] | None = None


class OriginalHpa(Model):
    """HPA values as they were before Foresight changed them, restored on delete or dryRun."""

    min_replicas: int | None = None
    max_replicas: int | None = None


class Accuracy(Model):
    """Rolling score of past forecasts against what happened."""

    crps: float | None = None
    coverage_90: float | None = None
    under_forecast_rate: float | None = None
    scored_forecasts: int = 0


class Decision(Model):
    """The last decision, explained."""

    time: str
    desired_replicas: int
    floor: int
    reason: str = Field(max_length=2048)


class PredictiveScalerStatus(Model):
    """What Foresight observed, forecast, decided and applied."""

    observed_generation: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
    observed_load: float | None = None
    forecast: ForecastSummary | None = None
    desired_replicas: int | None = None
    applied_min_replicas: int | None = None
    hpa_name: str | None = None
    original_hpa: OriginalHpa | None = None
    model: str | None = None
    accuracy: Accuracy | None = None
    last_decision: Decision | None = None


PRINTER_COLUMNS = [
    {"name": "Target", "type": "string", "jsonPath": ".spec.scaleTargetRef.name"},
    {"name": "Mode", "type": "string", "jsonPath": ".spec.scaling.mode"},
    {"name": "Load", "type": "number", "jsonPath": ".status.observedLoad"},
    {"name": "Peak", "type": "number", "jsonPath": ".status.forecast.peakAtQuantile"},
    {"name": "Desired", "type": "integer", "jsonPath": ".status.desiredReplicas"},
    {"name": "Floor", "type": "integer", "jsonPath": ".status.appliedMinReplicas"},
    {"name": "Model", "type": "string", "jsonPath": ".status.model"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
