"""The operator's own Prometheus metrics (prometheus-client), served on ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_SCALER = ["namespace", "name"]

forecast_peak = Gauge(
    "foresight_forecast_peak", "Forecast peak of the load inside the lead window", [*_SCALER, "quantile"]
)
observed_load = Gauge("foresight_observed_load", "Latest observed load of the scaler's metric", _SCALER)
desired_replicas = Gauge("foresight_desired_replicas", "Replicas the forecast asks for", _SCALER)
applied_floor = Gauge("foresight_applied_min_replicas", "HPA minReplicas applied by Foresight", _SCALER)
accuracy_crps = Gauge("foresight_forecast_crps", "Rolling CRPS of past forecasts (normalized)", _SCALER)
accuracy_coverage = Gauge("foresight_forecast_coverage_90", "Rolling coverage of the 90% interval", _SCALER)
under_forecast = Gauge("foresight_under_forecast_rate", "Share of past forecasts below the actual", _SCALER)
decision_seconds = Histogram(
    "foresight_decision_seconds",
    "Time from tick start to the decision applied, per scaler",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
inference_seconds = Histogram(
    "foresight_inference_seconds",
    "Wall time of one batched forecaster call",
    ["model"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
inference_batch_size = Histogram(
    "foresight_inference_batch_size",
    "Series per batched forecaster call",
    buckets=(1, 2, 5, 10, 50, 100, 500, 1000),
)
prometheus_errors = Counter(
    "foresight_prometheus_query_errors_total", "Failed Prometheus queries", [*_SCALER, "reason"]
)
hpa_patches = Counter("foresight_hpa_patches_total", "HPA patches applied", [*_SCALER, "kind"])
nodes_at_risk = Gauge("foresight_nodes_at_risk", "Nodes above the failure threshold", ["namespace", "policy"])
node_failure_probability = Gauge(
    "foresight_node_failure_probability", "Predicted probability of failure within the horizon", ["node"]
)
failover_actions = Counter(
    "foresight_failover_actions_total",
    "Taints, evictions and blocked evictions",
    ["namespace", "policy", "action"],
)


def forget_scaler(namespace: str, name: str) -> None:
    """Drop a deleted scaler's series so /metrics does not report ghosts."""
    for gauge in (
        observed_load,
        desired_replicas,
        applied_floor,
        accuracy_crps,
        accuracy_coverage,
        under_forecast,
    ):
        try:
            gauge.remove(namespace, name)
        except KeyError:
            pass
    for quantile in ("p10", "p50", "p90", "target"):
        try:
            forecast_peak.remove(namespace, name, quantile)
        except KeyError:
            pass
