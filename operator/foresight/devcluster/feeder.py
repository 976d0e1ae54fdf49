"""The live feeder: an HTTP exporter that Prometheus scrapes every few seconds.

It serves two kinds of series on ``/metrics``:

* the demo trace gauge (:data:`foresight.devcluster.trace.METRIC_NAME`), whose value follows the
  trace after "now" in real (or accelerated) time, so new samples keep arriving after the
  backfilled history;
* arbitrary gauges set by tests or demos, e.g. per-node memory for failover scenarios, through
  ``POST /gauges`` with ``{"name": ..., "labels": {...}, "value": ...}`` (``DELETE /gauges``
  clears them) or :class:`FeederClient`.

The clock is injected so the collector can be tested without waiting.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from foresight.devcluster import trace as trace_mod

Clock = Callable[[], datetime]
LabelKey = tuple[tuple[str, str], ...]


def utc_now() -> datetime:
    return datetime.now(UTC)


class GaugeStore:
    """Gauge values set from outside, keyed by metric name and label set (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[LabelKey, float]] = {}

    def set(self, name: str, labels: Mapping[str, str], value: float) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values.setdefault(name, {})[key] = value

    def clear(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._values.clear()
            else:
                self._values.pop(name, None)

    def snapshot(self) -> dict[str, dict[LabelKey, float]]:
        with self._lock:
            return {name: dict(series) for name, series in self._values.items()}


class FeederCollector(Collector):
    """Yields the live trace value and the stored gauges at scrape time."""

    def __init__(
        self,
        replay: trace_mod.Replay | None,
        store: GaugeStore,
        labels: Mapping[str, str],
        clock: Clock = utc_now,
    ) -> None:
        self._replay = replay
        self._store = store
        self._labels = dict(labels)
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        if self._replay is not None:
            family = GaugeMetricFamily(
                trace_mod.METRIC_NAME, trace_mod.METRIC_HELP, labels=sorted(self._labels)
            )
            family.add_metric(
                [self._labels[k] for k in sorted(self._labels)], self._replay.value_at(self._clock())
            )
            yield family
        for name, series in self._store.snapshot().items():
            label_names = sorted({key for label_key in series for key, _ in label_key})
            family = GaugeMetricFamily(name, f"{name} (set through the feeder)", labels=label_names)
            for label_key, value in series.items():
                as_dict = dict(label_key)
                family.add_metric([as_dict.get(k, "") for k in label_names], value)
            yield family


def make_server(host: str, port: int, registry: CollectorRegistry, store: GaugeStore) -> ThreadingHTTPServer:
    """An HTTP server exposing ``registry`` on /metrics and ``store`` on /gauges."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                self._reply(200, generate_latest(registry), "text/plain; version=0.0.4")
            elif self.path.startswith("/healthz"):
                self._reply(200, b"ok", "text/plain")
            else:
                self._reply(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            if not self.path.startswith("/gauges"):
                self._reply(404, b"not found", "text/plain")
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                for item in body if isinstance(body, list) else [body]:
                    store.set(str(item["name"]), dict(item.get("labels", {})), float(item["value"]))
            except (ValueError, KeyError, TypeError) as error:
                self._reply(400, str(error).encode(), "text/plain")
                return
            self._reply(204, b"", "text/plain")

        def do_DELETE(self) -> None:
            name = self.path.partition("?name=")[2] or None
            store.clear(name)
            self._reply(204, b"", "text/plain")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            # Scrapes every few seconds would drown the log; errors still surface as exceptions.
            pass

    return ThreadingHTTPServer((host, port), Handler)


def serve(replay: trace_mod.Replay | None, host: str, port: int, labels: Mapping[str, str]) -> None:
    """Run the feeder until killed (the entry point of the feeder process)."""
    store = GaugeStore()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FeederCollector(replay, store, labels))
    make_server(host, port, registry, store).serve_forever()


class FeederClient:
    """Sets gauges on a running feeder, e.g. ``node_memory_available_bytes{node="kwok-0"}``."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def set(self, name: str, labels: Mapping[str, str], value: float) -> None:
        self.set_many([{"name": name, "labels": dict(labels), "value": value}])

    def set_many(self, gauges: list[dict[str, object]]) -> None:
        httpx.post(f"{self.url}/gauges", json=gauges, timeout=5).raise_for_status()

    def clear(self, name: str | None = None) -> None:
        suffix = f"?name={name}" if name else ""
        httpx.delete(f"{self.url}/gauges{suffix}", timeout=5).raise_for_status()

    def metrics_text(self) -> str:
        response = httpx.get(f"{self.url}/metrics", timeout=5)
        response.raise_for_status()
        return response.text
