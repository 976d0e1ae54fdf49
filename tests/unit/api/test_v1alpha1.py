"""The typed API: valid specs parse with defaults, invalid ones fail with a message naming the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from foresight.api import v1alpha1

SCALER: dict[str, Any] = {
    "scaleTargetRef": {"kind": "Deployment", "name": "web"},
    "metric": {
        "prometheus": {"query": 'sum(rate(http_requests_total{namespace="demo"}[1m]))'},
        "capacityPerReplica": 120,
    },
    "scaling": {"maxReplicas": 40},
}
POLICY: dict[str, Any] = {
    "nodeSelector": {"matchLabels": {"type": "kwok"}},
    "signals": [
        {
            "name": "memory-available",
            "query": "node_memory_MemAvailable_bytes",
            "threshold": 5e8,
            "direction": "below",
        }
    ],
}


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    node = spec
    for key in parents:
        node = node.setdefault(key, {})
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return spec


_DELETE = object()


def test_scaler_defaults() -> None:
    spec = v1alpha1.PredictiveScalerSpec.model_validate(SCALER)
    assert spec.forecast.model == "analog"
    assert spec.forecast.quantile == 0.9
    assert spec.scaling.startup_seconds == 180
    assert spec.scaling.mode == "active"
    assert spec.hpa_ref is None
    assert v1alpha1.parse_duration(spec.forecast.horizon).total_seconds() == 1800


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("forecast.model", "deepar"),
        ("forecast.horizon", "1h30m"),
        ("forecast.quantile", 0.999),
        ("forecast.season", "24m"),
        ("scaling.targetMissRate", 0.001),
        ("scaling.minReplicas", 40),
        ("scaling.mode", "dryRun"),
        ("hpaRef", {"name": "web"}),
        ("scaleTargetRef.kind", "StatefulSet"),
        ("metric.prometheus.url", "https://prometheus.monitoring:9090"),
    ],
)
def test_scaler_valid_variants(path: str, value: Any) -> None:
    v1alpha1.PredictiveScalerSpec.model_validate(_with(SCALER, path, value))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("scaleTargetRef.kind", "Pod", "scaleTargetRef.kind"),
        ("scaleTargetRef.name", "", "scaleTargetRef.name"),
        ("metric.capacityPerReplica", 0, "metric.capacityPerReplica"),
        ("metric.capacityPerReplica", -5, "metric.capacityPerReplica"),
        ("metric.prometheus.query", "", "metric.prometheus.query"),
        ("forecast.model", "prophet", "forecast.model"),
        ("forecast.quantile", 0.3, "forecast.quantile"),
        ("forecast.quantile", 1.0, "forecast.quantile"),
        ("forecast.horizon", "30 minutes", "forecast.horizon"),
        ("forecast.horizon", "10s", "forecast.horizon must be at least one forecast.step"),
        ("forecast.season", "90s", "forecast.season must cover at least two forecast.step"),
        ("forecast.season", "a day", "forecast.season"),
        ("scaling.targetMissRate", 0.3, "scaling.targetMissRate"),
        ("scaling.maxReplicas", 0, "scaling.maxReplicas"),
        ("scaling.minReplicas", 50, "scaling.minReplicas must be <= scaling.maxReplicas"),
        ("scaling.startupSeconds", -1, "scaling.startupSeconds"),
        ("scaling.mode", "yolo", "scaling.mode"),
        ("scaling.maxReplicas", _DELETE, "scaling.maxReplicas"),
        ("metric", _DELETE, "metric"),
        ("scaling.surprise", 1, "scaling.surprise"),
    ],
)
def test_scaler_invalid_names_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        v1alpha1.PredictiveScalerSpec.model_validate(_with(SCALER, path, value))
    assert message in _describe(excinfo.value)


def test_policy_defaults() -> None:
    spec = v1alpha1.FailoverPolicySpec.model_validate(POLICY)
    assert spec.failure_probability_threshold == 0.5
    assert spec.actions.max_nodes_at_once == 1
    assert spec.untaint_probability == 0.25
    assert {c.type for c in spec.node_conditions} >= {"Ready", "MemoryPressure", "KernelDeadlock"}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("failureProbabilityThreshold", 1.5, "failureProbabilityThreshold"),
        ("failureProbabilityThreshold", 0, "failureProbabilityThreshold"),
        ("actions.maxNodesAtOnce", 0, "actions.maxNodesAtOnce"),
        ("actions.cooldownSeconds", -1, "actions.cooldownSeconds"),
        ("actions.untaintBelowProbability", 0.7, "actions.untaintBelowProbability must be below"),
        ("horizon", "soon", "horizon"),
        ("mode", "chaos", "mode"),
        (
            "signals",
            [{"name": "x", "query": "q", "threshold": 1, "direction": "sideways"}],
            "signals.0.direction",
        ),
        (
            "signals",
            [{"name": "Bad Name", "query": "q", "threshold": 1, "direction": "above"}],
            "signals.0.name",
        ),
        ("nodeSelector.matchExpressions", [{"key": "a", "operator": "Near"}], "matchExpressions.0.operator"),
    ],
)
def test_policy_invalid_names_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        v1alpha1.FailoverPolicySpec.model_validate(_with(POLICY, path, value))
    assert message in _describe(excinfo.value)


def test_status_round_trips_camel_case() -> None:
    status = v1alpha1.PredictiveScalerStatus(desired_replicas=16, applied_min_replicas=16, model="deepar")
    wire = status.model_dump(by_alias=True, exclude_none=True)
    assert wire["desiredReplicas"] == 16 and wire["appliedMinReplicas"] == 16
    assert v1alpha1.PredictiveScalerStatus.model_validate(wire) == status


def _describe(error: ValidationError) -> str:
    """Field paths in the wire (camelCase) spelling, followed by the messages."""
    return "\n".join(
        ".".join(str(part) for part in item["loc"]) + ": " + item["msg"] for item in error.errors()
    )
