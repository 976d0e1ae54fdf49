"""The Prometheus client against a fake transport: URLs, headers, errors, retries, chunking, gaps.

The real server is exercised in ``tests/integration``; here every answer a server or a proxy can
give is produced on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest

from foresight.metrics import MetricSourceError, PrometheusClient
from foresight.metrics.prometheus import MAX_POINTS_PER_QUERY, MAX_POINTS_PER_SERIES

START = datetime(2026, 1, 5, tzinfo=UTC)


class FakePrometheus:
    """Answers range queries from a function of time; records every request it was sent."""

    def __init__(self, value: Callable[[float], float] = lambda t: 1.0, series: int = 1) -> None:
        self.value, self.series = value, series
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []  # served first, in order, before the normal answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            return self.answers.pop(0)
        params = request.url.params
        start, end = float(params["start"]), float(params["end"])
        step = int(params["step"].rstrip("s"))
        stamps = np.arange(start, end + step / 2, step)
        result = [
            {"metric": {"pod": f"p{i}"}, "values": [[t, str(self.value(t))] for t in stamps]}
            for i in range(self.series)
        ]
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "matrix", "result": result}}
        )


def _client(fake: FakePrometheus, url: str = "http://prom:9090", **kwargs: Any) -> PrometheusClient:
    return PrometheusClient(url, transport=httpx.MockTransport(fake), sleep=lambda s: None, **kwargs)


def test_path_is_joined_under_the_base_path_and_only_our_query_is_sent() -> None:
    fake = FakePrometheus()
    _client(fake, "https://gateway.example/prometheus/").single("up", START, START + timedelta(hours=1), 60)
    (request,) = fake.requests
    assert request.url.scheme == "https" and request.url.host == "gateway.example"
    assert request.url.path == "/prometheus/api/v1/query_range"
    assert request.url.params.get_list("query") == ["up"]


@pytest.mark.parametrize(
    "url",
    [
        "http://prom:9090/api/v1/query_range?query=secret_metric#",
        "http://user:password@prom:9090",
        "file:///etc/passwd",
        "http://prom:9090#",
    ],
)
def test_a_url_that_is_not_a_base_url_is_refused_before_any_request(url: str) -> None:
    fake = FakePrometheus()
    with pytest.raises(ValueError, match="must be a base URL"):
        _client(fake, url)
    assert not fake.requests


def test_token_is_read_at_every_query_so_rotation_needs_no_restart() -> None:
    fake = FakePrometheus()
    tokens = iter(["first", "second"])
    client = _client(fake, token=lambda: next(tokens))
    client.single("up", START, START + timedelta(hours=1), 60)
    client.single("up", START, START + timedelta(hours=1), 60)
    assert [r.headers["authorization"] for r in fake.requests] == ["Bearer first", "Bearer second"]


def test_no_token_sends_no_authorization_header() -> None:
    fake = FakePrometheus()
    _client(fake, token=lambda: None).single("up", START, START + timedelta(hours=1), 60)
    assert "authorization" not in fake.requests[0].headers


def test_long_history_is_split_below_the_point_limit_and_joined_on_one_grid() -> None:
    fake = FakePrometheus(value=lambda t: t)
    end = START + timedelta(minutes=25_000)
    series = _client(fake).single("up", START, end, 60)
    assert len(fake.requests) == 3
    for request in fake.requests:
        start, stop = float(request.url.params["start"]), float(request.url.params["end"])
        assert (stop - start) / 60 + 1 <= MAX_POINTS_PER_QUERY
    assert series.values.size == 25_001
    np.testing.assert_allclose(series.values, START.timestamp() + 60 * np.arange(25_001))


def test_history_beyond_the_memory_cap_is_coarsened() -> None:
    fake = FakePrometheus()
    series = _client(fake).single("up", START, START + timedelta(days=30), 15)
    assert series.step_seconds > 15
    assert series.values.size <= MAX_POINTS_PER_SERIES
    assert np.isfinite(series.values).all()


def test_gaps_and_non_finite_values_stay_nan() -> None:
    def value(t: float) -> float:
        minute = round((t - START.timestamp()) / 60)
        return float("inf") if minute == 3 else float("nan") if minute == 4 else 1.0

    fake = FakePrometheus(value=value)
    fake.answers.append(
        httpx.Response(
            200,
            json={
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [
                        {
                            "metric": {},
                            "values": [
                                [START.timestamp() + 60 * i, v] for i, v in [(0, "1"), (3, "+Inf"), (5, "2")]
                            ],
                        }
                    ],
                },
            },
        )
    )
    series = _client(fake).single("up", START, START + timedelta(minutes=5), 60)
    assert series.values.tolist()[0] == 1.0 and series.values[5] == 2.0
    assert np.isnan(series.values[[1, 2, 3, 4]]).all()


@pytest.mark.parametrize(
    ("error_type", "reason"),
    [
        ("bad_data", "BadQuery"),
        ("timeout", "Timeout"),
        ("execution", "QueryFailed"),
        ("unavailable", "Unavailable"),
    ],
)
def test_prometheus_error_type_decides_the_reason(error_type: str, reason: str) -> None:
    fake = FakePrometheus()
    body = {"status": "error", "errorType": error_type, "error": "parse error at char 5"}
    fake.answers.append(httpx.Response(400 if error_type == "bad_data" else 422, json=body))
    with pytest.raises(MetricSourceError) as failed:
        _client(fake).single("up{", START, START + timedelta(hours=1), 60)
    assert failed.value.reason == reason
    assert "parse error at char 5" in str(failed.value)


def test_an_error_body_is_cut_short_and_cleaned_of_credentials() -> None:
    fake = FakePrometheus()
    text = "proxy says: Authorization: Bearer eyJhbGciOi.abcdefghijk.zzz token=hunter2 " + "x" * 5000
    fake.answers.append(httpx.Response(401, text=text))
    with pytest.raises(MetricSourceError) as failed:
        _client(fake, token=lambda: "hunter2").single("up", START, START + timedelta(hours=1), 60)
    message = str(failed.value)
    assert failed.value.reason == "Unauthorized"
    assert "hunter2" not in message and "eyJhbGciOi" not in message
    assert len(message) < 500


@pytest.mark.parametrize("status", [502, 503, 504])
def test_proxy_errors_are_retried_with_backoff_then_succeed(status: int) -> None:
    fake = FakePrometheus()
    fake.answers.extend([httpx.Response(status, text="upstream down")] * 2)
    waits: list[float] = []
    client = PrometheusClient("http://prom:9090", transport=httpx.MockTransport(fake), sleep=waits.append)
    series = client.single("up", START, START + timedelta(hours=1), 60)
    assert np.isfinite(series.values).all()
    assert len(fake.requests) == 3 and waits == [0.5, 1.0]


def test_retries_are_bounded() -> None:
    fake = FakePrometheus()
    fake.answers.extend([httpx.Response(503, text="down")] * 10)
    with pytest.raises(MetricSourceError) as failed:
        _client(fake, retries=2).single("up", START, START + timedelta(hours=1), 60)
    assert failed.value.reason == "Unavailable"
    assert len(fake.requests) == 3


def test_connection_failure_is_unreachable_after_retries() -> None:
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    client = PrometheusClient("http://prom:9090", transport=httpx.MockTransport(refuse), sleep=lambda s: None)
    with pytest.raises(MetricSourceError) as failed:
        client.single("up", START, START + timedelta(hours=1), 60)
    assert failed.value.reason == "Unreachable" and len(calls) == 3


def test_timeout_is_not_retried() -> None:
    calls = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    client = PrometheusClient("http://prom:9090", transport=httpx.MockTransport(slow), sleep=lambda s: None)
    with pytest.raises(MetricSourceError) as failed:
        client.single("up", START, START + timedelta(hours=1), 60)
    assert failed.value.reason == "Timeout" and len(calls) == 1


def test_redirects_are_not_followed_so_the_token_stays_home() -> None:
    fake = FakePrometheus()
    fake.answers.append(httpx.Response(302, headers={"location": "http://attacker.example/steal"}))
    with pytest.raises(MetricSourceError) as failed:
        _client(fake, token=lambda: "operator-token").single("up", START, START + timedelta(hours=1), 60)
    assert failed.value.reason == "InvalidResponse"
    assert [r.url.host for r in fake.requests] == ["prom"]


def test_several_series_or_none_are_clear_errors() -> None:
    with pytest.raises(MetricSourceError) as many:
        _client(FakePrometheus(series=4)).single("up", START, START + timedelta(hours=1), 60)
    assert many.value.reason == "MultipleSeries" and "sum()" in str(many.value)
    with pytest.raises(MetricSourceError) as none:
        _client(FakePrometheus(series=0)).single("up", START, START + timedelta(hours=1), 60)
    assert none.value.reason == "EmptyResult"


def test_non_json_answer_is_invalid_response() -> None:
    fake = FakePrometheus()
    fake.answers.append(httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(MetricSourceError) as failed:
        _client(fake).single("up", START, START + timedelta(hours=1), 60)
    assert failed.value.reason == "InvalidResponse"
    assert json.dumps(str(failed.value))  # a plain string, fit for a status
