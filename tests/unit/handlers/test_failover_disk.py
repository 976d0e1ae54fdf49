"""The disk-health cause in the FailoverPolicy reconcile: smartctl_exporter series in, a slow drain out.

Uses the in-memory API of ``test_failover_policy`` (resourceVersions, PDB-enforcing evictions) and a fake
Prometheus that answers the drives' daily SMART series.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from foresight.api.v1alpha1.failover_policy import DEFAULT_DISK_QUERY
from foresight.handlers import failover_policy as fp
from foresight.handlers.runtime import Runtime
from foresight.metrics import MetricSourceError, SampledSeries

from .test_failover_policy import NOW, FakeApi, _install, _runtime

DAYS = 31  # the daily grid of the last 30 days, the last point now
QUIET = {5: [0.0] * DAYS, 197: [0.0] * DAYS, 198: [0.0] * DAYS, 187: [0.0] * DAYS}
# Sectors reallocated, pending and found uncorrectable since yesterday.
RISING = {
    5: [0.0] * 30 + [200.0],
    197: [0.0] * 30 + [24.0],
    198: [0.0] * 30 + [24.0],
    187: [0.0] * 30 + [8.0],
}


class SmartPrometheus:
    """smartctl_exporter's raw attribute series per node (drive ``/dev/sda``), on the asked grid.

    ``split`` serves each drive's history and its reading now as two series (an exporter pod that
    restarted between them), which the controller must read as one drive.
    """

    def __init__(self, drives: dict[str, dict[int, list[float]]], split: bool = False) -> None:
        self.drives, self.split = drives, split
        self.asked: list[tuple[str, datetime, datetime, int]] = []
        self.error: MetricSourceError | None = None

    def range(self, query: str, start: datetime, end: datetime, step: int) -> list[SampledSeries]:
        self.asked.append((query, start, end, step))
        if self.error is not None:
            raise self.error
        points = int((end - start).total_seconds() // step) + 1
        out = []
        for node, attributes in self.drives.items():
            for attribute, daily in attributes.items():
                values = np.asarray(daily[-points:], dtype=float)
                labels = {"node": node, "device": "/dev/sda", "attribute_id": str(attribute)}
                if not self.split:
                    out.append(SampledSeries(start, step, values, {**labels, "pod": "exporter-1"}))
                    continue
                old, new = values.copy(), np.full(points, math.nan)
                old[-1], new[-1] = math.nan, values[-1]
                out.append(SampledSeries(start, step, old, {**labels, "pod": "exporter-1"}))
                out.append(SampledSeries(start, step, new, {**labels, "pod": "exporter-2"}))
        return out


def _body(**disk: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "disks", "namespace": "ops", "uid": "u-2", "generation": 1},
        "spec": {
            "nodeSelector": {"matchLabels": {"pool": "a"}},
            "diskHealth": {"cooldownSeconds": 3600, **disk},
            "actions": {"maxNodesAtOnce": 3, "cooldownSeconds": 0, "minHealthyNodes": 1},
        },
    }


class Clock:
    """The test's "now": every node's lease is renewed at it (the kubelets are alive throughout)."""

    now = NOW

    def leases(self, namespace: str = "kube-node-lease") -> list[dict[str, Any]]:
        renew = self.now.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        return [{"metadata": {"name": n}, "spec": {"renewTime": renew}} for n in ("n0", "n1", "n2")]


CLOCK = Clock()


async def _ticks(
    runtime: Runtime, body: dict[str, Any], memory: fp.FailoverMemory, seconds: list[int]
) -> Any:
    status = None
    for s in seconds:
        CLOCK.now = NOW + timedelta(seconds=s)
        status = await fp.reconcile(runtime, memory, name="disks", namespace="ops", body=body, now=CLOCK.now)
        body["status"] = status.model_dump(by_alias=True, exclude_none=True)
    return status


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    fake = FakeApi()
    _install(monkeypatch, fake)
    monkeypatch.setattr(fp.kube, "list_leases", CLOCK.leases)
    return fake


async def test_rising_sectors_on_two_nodes_drain_one_then_the_next_after_the_disk_cooldown(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    prometheus = SmartPrometheus({"n0": RISING, "n1": RISING, "n2": QUIET})
    runtime, _ = _runtime(monkeypatch, prometheus)  # type: ignore[arg-type]
    memory, body = fp.FailoverMemory(), _body()

    status = await _ticks(runtime, body, memory, [0, 30, 60])
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}
    assert api.taints("n1") == {"PreferNoSchedule"}  # kept from new pods, not drained yet
    assert api.taints("n2") == set()
    assert sorted(api.evicted) == ["shop/web-n0-0", "shop/web-n0-1"]
    held = [a for a in status.recent_actions if a.action == "skip" and a.node == "n1"]
    assert held and "diskHealth.cooldownSeconds" in held[0].detail
    # One read of 30 days of daily points; the next ticks reuse it.
    assert [(q, end - start, step) for q, start, end, step in prometheus.asked] == [
        (DEFAULT_DISK_QUERY, timedelta(days=30), 86400)
    ]
    risk = {r.node: r for r in status.nodes_at_risk}
    assert set(risk) == {"n0", "n1"}
    assert risk["n0"].disk_failure_probability is not None and risk["n0"].disk_failure_probability >= 0.11
    assert risk["n0"].failure_probability < 0.5  # the minute-scale risk is untouched
    assert "Reallocated_Sector_Ct=200 (+200 in 1d)" in risk["n0"].reasons[0]
    assert risk["n0"].state == "drained" and risk["n1"].state == "tainted"

    await _ticks(runtime, body, memory, [1800, 3590])
    assert api.taints("n1") == {"PreferNoSchedule"}
    await _ticks(runtime, body, memory, [3600])
    assert api.taints("n1") == {"PreferNoSchedule", "NoSchedule"}
    assert len(prometheus.asked) > 1  # read again after DISK_REFRESH


async def test_a_restarted_exporters_series_are_one_drive(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, _ = _runtime(monkeypatch, SmartPrometheus({"n0": RISING, "n1": QUIET}, split=True))  # type: ignore[arg-type]
    await _ticks(runtime, _body(), fp.FailoverMemory(), [0])
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}


async def test_a_failed_read_is_reported_and_the_last_readings_hold_the_taints(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    prometheus = SmartPrometheus({"n0": RISING, "n1": QUIET, "n2": QUIET})
    runtime, _ = _runtime(monkeypatch, prometheus)  # type: ignore[arg-type]
    memory, body = fp.FailoverMemory(), _body()
    await _ticks(runtime, body, memory, [0])
    prometheus.error = MetricSourceError("Unavailable", "Prometheus answered HTTP 503")
    status = await _ticks(runtime, body, memory, [int(fp.DISK_REFRESH.total_seconds()) + 30])
    degraded = next(c for c in status.conditions if c.type == "Degraded")
    assert degraded.status == "True" and "diskHealth" in degraded.message and "503" in degraded.message
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}
    assert not any(a.action == "untaint" for a in status.recent_actions)


async def test_quiet_drives_change_nothing_and_no_series_is_reported(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, _ = _runtime(monkeypatch, SmartPrometheus({"n0": QUIET, "n1": QUIET}))  # type: ignore[arg-type]
    status = await _ticks(runtime, _body(), fp.FailoverMemory(), [0])
    assert api.node_patches == [] and status.nodes_at_risk == []
    runtime, _ = _runtime(monkeypatch, SmartPrometheus({}))  # type: ignore[arg-type]
    status = await _ticks(runtime, _body(), fp.FailoverMemory(), [0])
    degraded = next(c for c in status.conditions if c.type == "Degraded")
    assert degraded.status == "True" and "no series" in degraded.message


async def test_a_horizon_without_a_default_threshold_is_an_invalid_spec(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    prometheus = SmartPrometheus({"n0": RISING})
    runtime, _ = _runtime(monkeypatch, prometheus)  # type: ignore[arg-type]
    status = await _ticks(runtime, _body(horizon="3d"), fp.FailoverMemory(), [0])
    ready = next(c for c in status.conditions if c.type == "Ready")
    assert ready.status == "False" and ready.reason == "InvalidSpec" and "3d" in ready.message
    assert prometheus.asked == [] and api.node_patches == []
