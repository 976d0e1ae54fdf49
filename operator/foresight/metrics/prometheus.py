"""Load history from Prometheus' HTTP API, made safe for a controller.

A small ``httpx`` client rather than ``prometheus-api-client``: that library builds request URLs by
pasting strings onto the configured URL (a URL carrying ``?query=...#`` smuggled a second query past
the tenancy check), reports Prometheus' errors only as message text, and retries through ``requests``
adapters that know nothing of our time budget. Here the request path is joined onto a checked base
URL (:func:`foresight.api.v1alpha1.check_base_url`), Prometheus' structured ``errorType``/``error``
decide the reason, redirects are never followed (they would carry the token elsewhere), and
connection failures and 502/503/504 are retried with backoff a bounded number of times.

Each call has a timeout; long histories are split into chunks below Prometheus' limit of 11,000
points per series (or coarsened when they would exceed a memory cap); results are put on a regular
grid with NaN for missing points; NaN/Inf values are kept as gaps, never as zeros. Failures become a
``MetricSourceError`` whose ``reason`` a status condition can show as it is; its message is cut short
and cleaned of anything that looks like a credential (:func:`clean_message`).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np

from foresight.api.v1alpha1 import check_base_url

MAX_POINTS_PER_QUERY = 11_000
"""Prometheus refuses range queries of more than 11,000 points per series."""

MAX_POINTS_PER_SERIES = 50_000
"""Memory cap per scaler: beyond this the step is coarsened (a week at 15 s is 40,320 points)."""

RETRIED_STATUS = frozenset({502, 503, 504})
"""Answers of a proxy or a Prometheus that is restarting: worth another try."""

MESSAGE_LIMIT = 300
"""Longest error text copied from a server into a status message."""

# Prometheus' documented errorType values (prometheus/web/api/v1 errorType*) -> condition reason.
_ERROR_REASONS = {
    "bad_data": "BadQuery",
    "timeout": "Timeout",
    "canceled": "QueryFailed",
    "execution": "QueryFailed",
    "internal": "QueryFailed",
    "unavailable": "Unavailable",
    "not_found": "NotFound",
    "not_acceptable": "QueryFailed",
}

_SECRET_PATTERNS = [
    # Authorization headers and bearer tokens echoed back by a proxy.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}"), r"\1 [redacted]"),
    # key=value and "key": "value" forms of anything named like a credential.
    (
        re.compile(
            r"(?i)([\"']?[\w-]*(?:token|secret|password|passwd|api[_-]?key|authorization|auth)[\w-]*[\"']?"
            r"\s*[:=]\s*[\"']?)(?!(?i:bearer|basic)\s)[^\s\"',&;}\[]+"
        ),
        r"\1[redacted]",
    ),
    # JSON Web Tokens (service-account tokens look like this).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[redacted]"),
    # user:password@ in URLs.
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s@]+@"), r"\1[redacted]@"),
]


class MetricSourceError(Exception):
    """The metric source could not give a usable answer; ``reason`` is a CamelCase condition reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def clean_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Server text made fit for a status: one line, credentials redacted, at most ``limit`` characters.

    >>> clean_message('401: {"error": "bad token", "token": "s3cr3t"} Authorization: Bearer abc.def')
    '401: {"error": "bad token", "token": "[redacted]"} Authorization: Bearer [redacted]'
    >>> clean_message("line one\\nline two " + "x" * 400, limit=30)
    'line one line two xxxxxxxxxxxx...'
    >>> clean_message("see http://admin:hunter2@prom:9090/")
    'see http://[redacted]@prom:9090/'
    """
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


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


TokenSource = Callable[[], str | None]
"""Gives the bearer token at the time of a query, so a rotated token is picked up without a restart."""


class PrometheusClient:
    """One Prometheus endpoint: a base URL, where its token comes from, its CA bundle and time-outs.

    Build it through :class:`foresight.metrics.PrometheusClients` in the operator: that decides which
    credentials an endpoint may get. Tools that query a URL their user typed build it directly.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: TokenSource | None = None,
        ca_file: str | None = None,
        timeout_seconds: float = 10.0,
        retries: int = 2,
        backoff_seconds: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = check_base_url(base_url)
        self._token = token
        self._retries = retries
        self._backoff_seconds = backoff_seconds
        self._sleep = sleep
        # The trailing slash makes httpx join relative paths under the base path, not beside it.
        self._http = httpx.Client(
            base_url=self.url + "/",
            verify=ca_file or True,
            timeout=timeout_seconds,
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def range(self, query: str, start: datetime, end: datetime, step_seconds: int) -> list[SampledSeries]:
        """All series ``query`` returns over [start, end], each on the same regular grid."""
        if end <= start:
            raise MetricSourceError("InvalidWindow", "history window is empty")
        total_points = int((end - start).total_seconds() // step_seconds) + 1
        if total_points > MAX_POINTS_PER_SERIES:
            step_seconds = math.ceil((end - start).total_seconds() / (MAX_POINTS_PER_SERIES - 1))
            total_points = int((end - start).total_seconds() // step_seconds) + 1
        headers = self._headers()
        grids: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
        chunk = timedelta(seconds=step_seconds * (MAX_POINTS_PER_QUERY - 1))
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(chunk_start + chunk, end)
            for item in self._query_range(query, chunk_start, chunk_end, step_seconds, headers):
                key = tuple(sorted((item.get("metric") or {}).items()))
                grid = grids.setdefault(key, np.full(total_points, np.nan))
                _place(grid, item.get("values") or [], start, step_seconds)
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
                clean_message(
                    f"the query returned {len(series)} series ({shown}{', ...' if len(series) > 3 else ''}); "
                    "aggregate it to one, e.g. with sum()",
                    limit=600,
                ),
            )
        only = series[0]
        if not np.isfinite(only.values).any():
            raise MetricSourceError("InvalidValues", "the query returned only NaN/Inf values")
        return only

    def _headers(self) -> dict[str, str]:
        token = self._token() if self._token is not None else None
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: int, headers: dict[str, str]
    ) -> list[dict[str, Any]]:
        params = {
            "query": query,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{step_seconds}s",
        }
        response = self._send(params, headers)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise MetricSourceError(
                _status_reason(response.status_code),
                f"Prometheus at {self.url} answered HTTP {response.status_code}, not Prometheus JSON: "
                f"{clean_message(response.text)}",
            )
        if body.get("status") != "success":
            reason = _ERROR_REASONS.get(str(body.get("errorType")), _status_reason(response.status_code))
            raise MetricSourceError(
                reason,
                f"Prometheus refused the query ({body.get('errorType', 'error')}): "
                f"{clean_message(str(body.get('error', '')))}",
            )
        data = body.get("data") or {}
        if data.get("resultType") != "matrix":
            raise MetricSourceError(
                "InvalidResponse", f"expected a range-query matrix, got {str(data.get('resultType'))[:40]!r}"
            )
        return list(data.get("result") or [])

    def _send(self, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = self._http.get("api/v1/query_range", params=params, headers=headers)
            except httpx.TimeoutException as exc:
                # Not retried: the time budget of the tick is already spent.
                message = f"Prometheus at {self.url} did not answer in time"
                raise MetricSourceError("Timeout", message) from exc
            except httpx.HTTPError as exc:
                if last:
                    raise MetricSourceError(
                        "Unreachable", f"Prometheus at {self.url} is unreachable ({type(exc).__name__})"
                    ) from exc
            else:
                if response.status_code not in RETRIED_STATUS or last:
                    return response
            self._sleep(self._backoff_seconds * 2**attempt)
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt


def _status_reason(status_code: int) -> str:
    """A reason for an HTTP status that came without Prometheus' own error JSON.

    >>> _status_reason(401), _status_reason(403), _status_reason(503), _status_reason(302)
    ('Unauthorized', 'Forbidden', 'Unavailable', 'InvalidResponse')
    """
    if status_code == 401:
        return "Unauthorized"
    if status_code == 403:
        return "Forbidden"
    if status_code in RETRIED_STATUS:
        return "Unavailable"
    if status_code >= 500:
        return "QueryFailed"
    if status_code == 400 or status_code == 422:
        return "BadQuery"
    return "InvalidResponse"


def _place(grid: np.ndarray, values: list[list[Any]], start: datetime, step_seconds: int) -> None:
    origin = start.timestamp()
    for stamp, text in values:
        index = round((float(stamp) - origin) / step_seconds)
        if 0 <= index < grid.size:
            value = float(text)
            grid[index] = value if math.isfinite(value) else np.nan


def _describe(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
