"""Load history from Prometheus, through ``prometheus-api-client``, made safe for a controller.

Each call has a timeout; long histories are split into chunks below Prometheus' limit of 11,000
points per series (or coarsened when they would exceed a memory cap); results are put on a regular
grid with NaN for missing points; NaN/Inf values are kept as gaps, never as zeros. Failures become a
``MetricSourceError`` whose ``reason`` a status condition can show as it is. Credentials never appear
in messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

MAX_POINTS_PER_QUERY = 11_000
"""Prometheus refuses range queries of more than 11,000 points per series."""

MAX_POINTS_PER_SERIES = 50_000
"""Memory cap per scaler: beyond this the step is coarsened (a week at 15 s is 40,320 points)."""


class MetricSourceError(Exception):
    """The metric source could not give a usable answer; ``reason`` is a CamelCase condition reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SampledSeries:
    """Values on a regular grid: ``values[i]`` is the sample at ``start + i * step_seconds`` (NaN = none)."""

    start: datetime
    step_seconds: int
    values: np.ndarray
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def end(self) -> datetime:
        """Time of the last grid point."""
        return self.start + timedelta(seconds=self.step_seconds * (len(self.values) - 1))

    @property
    def last_value(self) -> float | None:
        """The most recent finite value, if any."""
        finite = np.flatnonzero(np.isfinite(self.values))
        return float(self.values[finite[-1]]) if finite.size else None


class PrometheusClient:
    """A Prometheus server, queried with optional bearer token and CA bundle."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        ca_file: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        session = requests.Session()
        if ca_file:
            session.verify = ca_file
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self.url = url
        self._timeout = timeout_seconds
        self._api = PrometheusConnect(
            url=url, headers=headers, session=session, timeout=math.ceil(timeout_seconds)
        )

    def range(self, query: str, start: datetime, end: datetime, step_seconds: int) -> list[SampledSeries]:
        """All series ``query`` returns over [start, end], each on the same regular grid."""
        if end <= start:
            raise MetricSourceError("InvalidWindow", "history window is empty")
        total_points = int((end - start).total_seconds() // step_seconds) + 1
        if total_points > MAX_POINTS_PER_SERIES:
            step_seconds = math.ceil((end - start).total_seconds() / (MAX_POINTS_PER_SERIES - 1))
            total_points = int((end - start).total_seconds() // step_seconds) + 1
        grids: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
        chunk = timedelta(seconds=step_seconds * (MAX_POINTS_PER_QUERY - 1))
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(chunk_start + chunk, end)
            for item in self._query_range(query, chunk_start, chunk_end, step_seconds):
                key = tuple(sorted(item.get("metric", {}).items()))
                grid = grids.setdefault(key, np.full(total_points, np.nan))
                _place(grid, item.get("values", []), start, step_seconds)
            chunk_start = chunk_end + timedelta(seconds=step_seconds)
        return [
            SampledSeries(start=start, step_seconds=step_seconds, values=grid, labels=dict(key))
            for key, grid in grids.items()
        ]

    def single(self, query: str, start: datetime, end: datetime, step_seconds: int) -> SampledSeries:
        """The one series ``query`` must return; anything else is a clear error."""
        series = self.range(query, start, end, step_seconds)
        if not series:
            raise MetricSourceError("EmptyResult", "the query returned no series over the history window")
        if len(series) > 1:
            shown = ", ".join(_describe(s.labels) for s in series[:3])
            raise MetricSourceError(
                "MultipleSeries",
                f"the query returned {len(series)} series ({shown}{', ...' if len(series) > 3 else ''}); "
                "aggregate it to one, e.g. with sum()",
            )
        only = series[0]
        if not np.isfinite(only.values).any():
            raise MetricSourceError("InvalidValues", "the query returned only NaN/Inf values")
        return only

    def _query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: int
    ) -> list[dict[str, Any]]:
        try:
            result = self._api.custom_query_range(
                query, start_time=start, end_time=end, step=f"{step_seconds}s", timeout=self._timeout
            )
        except PrometheusApiClientException as exc:
            text = str(exc)
            reason = "BadQuery" if "bad_data" in text or "parse error" in text else "QueryFailed"
            raise MetricSourceError(reason, f"Prometheus refused the query: {_trim(text)}") from exc
        except requests.Timeout as exc:
            raise MetricSourceError("Timeout", f"Prometheus at {self.url} did not answer in time") from exc
        except requests.RequestException as exc:
            raise MetricSourceError(
                "Unreachable", f"Prometheus at {self.url} is unreachable ({type(exc).__name__})"
            ) from exc
        return list(result or [])


def _place(grid: np.ndarray, values: list[list[Any]], start: datetime, step_seconds: int) -> None:
    origin = start.timestamp()
    for stamp, text in values:
        index = round((float(stamp) - origin) / step_seconds)
        if 0 <= index < grid.size:
            value = float(text)
            grid[index] = value if math.isfinite(value) else np.nan


def _describe(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _trim(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
