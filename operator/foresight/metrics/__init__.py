"""Where load history and node signals come from: Prometheus (live) and CSV files (offline tools)."""

from foresight.metrics.prometheus import (
    MetricSourceError,
    PrometheusClient,
    SampledSeries,
)
from foresight.metrics.tenancy import TenancyError, check_namespace_pinned

__all__ = [
    "MetricSourceError",
    "PrometheusClient",
    "SampledSeries",
    "TenancyError",
    "check_namespace_pinned",
]
