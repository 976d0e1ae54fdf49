"""Prometheus holds the real trace as history and keeps receiving live samples.

The expected values are read straight from the CSV here, not through the code that wrote the
backfill, so a shift or unit mistake in the backfill would show.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_api_client import PrometheusConnect

from foresight.api.v1alpha1 import parse_time
from foresight.devcluster.handle import DevCluster, wait_for

pytestmark = pytest.mark.integration


def read_csv(path: Path) -> dict[datetime, float]:
    with path.open(newline="") as handle:
        return {
            parse_time(row["timestamp"]): float(row["value"])
            for row in csv.DictReader(handle)
            if row["observed"] == "1"
        }


@pytest.fixture(scope="module")
def prometheus(devcluster: DevCluster) -> PrometheusConnect:
    return PrometheusConnect(url=devcluster.prometheus_url, disable_ssl=True)


def test_range_query_returns_the_backfilled_trace(
    devcluster: DevCluster, prometheus: PrometheusConnect
) -> None:
    info = devcluster.info
    assert info.trace_csv and info.trace_anchor and info.trace_now_at
    observed = read_csv(Path(info.trace_csv))
    anchor = datetime.fromisoformat(info.trace_anchor)
    shift = anchor - datetime.fromisoformat(info.trace_now_at)
    start, end = anchor - timedelta(hours=6), anchor - timedelta(minutes=1)
    query = f'{info.metric_name}{{namespace="demo",service="web"}}'

    series = prometheus.custom_query_range(query, start_time=start, end_time=end, step="60")

    assert len(series) == 1
    assert series[0]["metric"] == {"__name__": info.metric_name, "namespace": "demo", "service": "web"}
    points = {datetime.fromtimestamp(float(t), UTC): float(v) for t, v in series[0]["values"]}
    expected = {at + shift: value for at, value in observed.items() if start <= at + shift <= end}
    assert len(expected) > 300  # six hours of minutes, minus any unobserved stretch
    for at, value in expected.items():
        assert points[at] == value, at


def test_feeder_adds_live_samples_after_now(devcluster: DevCluster, prometheus: PrometheusConnect) -> None:
    info = devcluster.info
    assert info.trace_csv and info.trace_anchor and info.trace_now_at
    anchor = datetime.fromisoformat(info.trace_anchor)
    shift = anchor - datetime.fromisoformat(info.trace_now_at)
    observed = read_csv(Path(info.trace_csv))

    def live_points() -> list[tuple[datetime, float]]:
        result = prometheus.custom_query_range(
            info.metric_name, start_time=anchor, end_time=datetime.now(UTC), step="5"
        )
        values = result[0]["values"] if result else []
        return [(datetime.fromtimestamp(float(t), UTC), float(v)) for t, v in values]

    # The range query repeats the last backfilled sample for up to 5 min (lookback), so ask
    # the TSDB for raw samples after the anchor instead.
    def raw_samples() -> list[tuple[datetime, float]]:
        result = prometheus.custom_query(f"{info.metric_name}[10m]")
        values = result[0]["values"] if result else []
        return [
            (datetime.fromtimestamp(float(t), UTC), float(v))
            for t, v in values
            if float(t) > anchor.timestamp()
        ]

    samples = wait_for(lambda: len(raw_samples()) >= 2 and raw_samples(), 60, what="two live samples")
    assert live_points()
    for at, value in samples:
        # At 1x speed a sample scraped at wall time t replays the trace minute t - shift.
        minute = (at - shift).replace(second=0, microsecond=0)
        candidates = {observed.get(minute + timedelta(minutes=d)) for d in (0, 1)}
        assert value in candidates, (at, value, candidates)


def test_feeder_serves_gauges_set_by_tests(devcluster: DevCluster, prometheus: PrometheusConnect) -> None:
    devcluster.feeder.set("node_memory_available_bytes", {"node": "kwok-test-0"}, 123456789.0)
    devcluster.feeder.set("node_memory_available_bytes", {"node": "kwok-test-1"}, 42.0)

    def current() -> dict[str, float]:
        result = prometheus.custom_query('node_memory_available_bytes{node=~"kwok-test-.*"}')
        return {r["metric"]["node"]: float(r["value"][1]) for r in result}

    wait_for(
        lambda: current() == {"kwok-test-0": 123456789.0, "kwok-test-1": 42.0}, 30, what="gauges scraped"
    )
    devcluster.feeder.clear("node_memory_available_bytes")
    assert "node_memory_available_bytes" not in devcluster.feeder.metrics_text()
