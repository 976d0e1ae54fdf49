"""Where load history and node signals come from: Prometheus (live) and CSV files (offline tools)."""

from foresight.metrics.endpoints import EndpointNotAllowed, PrometheusClients, SecretRef, origin
from foresight.metrics.prometheus import (
    MetricSourceError,
    PrometheusClient,
    SampledSeries,
    clean_message,
)
from foresight.metrics.tenancy import TenancyError, check_namespace_pinned

__all__ = [
    "EndpointNotAllowed",
    "MetricSourceError",
    "PrometheusClient",
    "PrometheusClients",
    "SampledSeries",
    "SecretRef",
    "TenancyError",
    "check_namespace_pinned",
    "clean_message",
    "origin",
]
