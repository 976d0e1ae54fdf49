"""``foresight demo`` end to end, judged from what the cluster recorded, not from the demo's own account.

The demo runs with ``--keep``; then this module reads the kept cluster (its own name ``demo`` and ports,
so it runs beside the test suite's cluster) and tears it down:

* the HPA floor's history: the operator's ``FloorChanged`` Events, the HPA controller's
  ``SuccessfulRescale`` Events (below ``minReplicas``) and the floor annotation the operator keeps on the HPA;
* when each web pod became Ready (the Event kwok records when a pod's start-up is over), when Foresight
  evicted pods (its ``Evicted`` Events) and where the scheduler put them (``Scheduled`` Events);
* the load from Prometheus, through the PredictiveScaler's own query;
* the failed node's ``not-ready`` taint, which the node lifecycle controller dates.

From these: pods were Ready before the load crossed their capacity, and the failed node was drained
before it went NotReady. Each check also requires that there was something to check (a surge that needed
more pods than the start, pods on the node that failed).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from foresight.api.v1alpha1 import parse_time
from foresight.api.v1alpha1.failover_policy import DEFAULT_TAINT_KEY
from foresight.devcluster import cluster
from foresight.kube.nodes import ESCALATED_ANNOTATION
from foresight.metrics import PrometheusClient

ROOT = Path(__file__).resolve().parents[2]
NAME = "demo"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FLOOR_CHANGE = re.compile(r"HPA floor (\d+) → (\d+)")
RESCALE = re.compile(r"New size: (\d+); reason: (.*)")
BELOW_FLOOR = "Current number of replicas below Spec.MinReplicas"
EVICTED = re.compile(r"pod demo/(\S+) from (\S+):")
SCHEDULED = re.compile(r"Successfully assigned demo/(\S+) to (\S+)")


@dataclass
class Record:
    """The demo's exit and what its kept cluster holds."""

    returncode: int
    output: str
    chart: Path
    scaler: dict[str, Any]
    hpa: Any
    nodes: list[Any]
    pods: list[Any]
    events: list[Any]
    load: list[tuple[datetime, float]]  # the PredictiveScaler's query, every second of the scored part


def _is_ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _when(event: Any) -> datetime:
    return event.event_time or event.first_timestamp


def _events(record: Record, reason: str, kind: str | None = None) -> list[Any]:
    found = [
        e for e in record.events if e.reason == reason and (kind is None or e.involved_object.kind == kind)
    ]
    return sorted(found, key=_when)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    out = tmp_path_factory.mktemp("demo")
    chart = out / "demo.png"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "operator")}
    argv = [
        sys.executable, "-m", "foresight", "demo", "--no-tty", "--keep", "--duration", "600",
        "--chart", str(chart), "--summary-json", str(out / "summary.json"),
    ]  # fmt: skip
    try:
        done = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False
        )
        output = f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
        info = cluster.running(NAME)
        assert info is not None, (
            f"the demo did not leave its cluster running (exit {done.returncode}):\n{output}"
        )
        yield _collect(info, done.returncode, output, chart)
    finally:
        cluster.down(NAME)


def _collect(info: cluster.ClusterInfo, returncode: int, output: str, chart: Path) -> Record:
    with config.new_client_from_config(config_file=info.kubeconfig) as api:
        core = client.CoreV1Api(api)
        scaler: Any = client.CustomObjectsApi(api).get_namespaced_custom_object(
            "foresight.dev", "v1alpha1", "demo", "predictivescalers", "web"
        )
        hpa = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler("web", "demo")
        nodes = core.list_node().items
        pods = core.list_namespaced_pod("demo", label_selector="app=web").items
        events = core.list_event_for_all_namespaces().items
    record = Record(returncode, output, chart, scaler, hpa, nodes, pods, events, [])
    first_raise = _when(_events(record, "FloorChanged", "PredictiveScaler")[0]) if _floors(record) else None
    last_decision = parse_time(scaler["status"]["lastDecision"]["time"])
    if first_raise is not None and info.prometheus_url:
        start = first_raise + timedelta(seconds=scaler["spec"]["scaling"]["startupSeconds"])
        series = PrometheusClient(info.prometheus_url).single(
            scaler["spec"]["metric"]["prometheus"]["query"], start, last_decision, 1
        )
        record.load = [
            (series.start + timedelta(seconds=i * series.step_seconds), float(v))
            for i, v in enumerate(series.values)
            if math.isfinite(v)
        ]
    return record


# --- what the records say (pure, and checked below on made-up records too) ----------------------


def _floors(record: Record) -> list[tuple[datetime, int, int]]:
    """``(time, from, to)`` of every floor change the operator announced."""
    changes = []
    for event in _events(record, "FloorChanged", "PredictiveScaler"):
        match = FLOOR_CHANGE.search(event.message or "")
        if match:
            changes.append((_when(event), int(match[1]), int(match[2])))
    return changes


def ready_timeline(
    ready_at: dict[str, datetime], evicted_at: dict[str, datetime]
) -> list[tuple[datetime, int]]:
    """Ready web pods after each change: a pod counts from its Ready time until it is evicted.

    >>> t = datetime(2030, 1, 1)
    >>> ready_timeline({"a": t, "b": t + timedelta(seconds=5)}, {"a": t + timedelta(seconds=9)})[-1]
    (datetime.datetime(2030, 1, 1, 0, 0, 9), 1)
    """
    changes = [(at, +1) for at in ready_at.values()]
    changes += [(at, -1) for pod, at in evicted_at.items() if pod in ready_at and at >= ready_at[pod]]
    timeline, count = [], 0
    for at, step in sorted(changes):
        count += step
        timeline.append((at, count))
    return timeline


def ready_at_time(timeline: list[tuple[datetime, int]], at: datetime) -> int:
    count = 0
    for moment, value in timeline:
        if moment > at:
            break
        count = value
    return count


def late_levels(
    load: list[tuple[datetime, float]], timeline: list[tuple[datetime, int]], capacity: float
) -> tuple[list[int], list[tuple[int, datetime, int]]]:
    """The pod counts the load came to need, each at the first moment it did, and those not Ready by then.

    Returns ``(levels, late)``: ``late`` holds ``(pods needed, when, pods Ready then)``.

    >>> t = datetime(2030, 1, 1)
    >>> load = [(t + timedelta(seconds=s), v) for s, v in enumerate([9.0, 11.0, 16.0])]
    >>> late_levels(load, [(t, 2), (t + timedelta(seconds=2), 4)], 5.0)  # 3 needed at 1 s, 2 Ready
    ([3, 4], [(3, datetime.datetime(2030, 1, 1, 0, 0, 1), 2)])
    """
    start_need = math.ceil(load[0][1] / capacity - 1e-9) if load else 0
    highest, levels, late = start_need, [], []
    for at, value in load:
        need = math.ceil(value / capacity - 1e-9)
        while need > highest:
            highest += 1
            levels.append(highest)
            ready = ready_at_time(timeline, at)
            if ready < highest:
                late.append((highest, at, ready))
    return levels, late


def _pod_records(record: Record) -> tuple[dict[str, datetime], dict[str, tuple[datetime, str]], list[Any]]:
    ready_at = {
        e.involved_object.name: _when(e)
        for e in _events(record, "ContainersReady", "Pod")
        if e.involved_object.namespace == "demo"
    }
    evicted: dict[str, tuple[datetime, str]] = {}
    for event in _events(record, "Evicted", "FailoverPolicy"):
        match = EVICTED.search(event.message or "")
        if match:
            evicted[match[1]] = (_when(event), match[2])
    scheduled = [
        (_when(e), *SCHEDULED.search(e.message or "").groups())  # type: ignore[union-attr]
        for e in _events(record, "Scheduled", "Pod")
        if SCHEDULED.search(e.message or "")
    ]
    return ready_at, evicted, scheduled


# --- the checks --------------------------------------------------------------------------------


def test_demo_exits_zero_and_draws_its_chart(demo: Record) -> None:
    assert demo.returncode == 0, demo.output
    data = demo.chart.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


def test_floor_history_from_the_operator_the_hpa_and_its_annotation(demo: Record) -> None:
    floors = _floors(demo)
    assert len(floors) >= 2, f"the operator changed the floor {len(floors)} time(s):\n{demo.output}"
    assert floors[0][1] == 2, "the first change starts from the HPA's own floor"
    raises = [(at, new) for at, old, new in floors if new > old]
    rescales = [
        (_when(e), int(m[1]), m[2])
        for e in _events(demo, "SuccessfulRescale", "HorizontalPodAutoscaler")
        if (m := RESCALE.search(e.message or ""))
    ]
    # Every raise above the replicas the Deployment had was carried out by the HPA controller itself: within
    # one sync it scaled to at least the new floor because the replicas were below it. At least: when the
    # operator raises the floor twice between two HPA syncs, the HPA only ever sees the second raise.
    # The HPA's events are stamped in whole seconds, the operator's to the microsecond: a rescale in the
    # same second as the raise may read up to a second before it.
    carried = 0
    for at, new in raises:
        before = [size for when, size, _ in rescales if (when - at).total_seconds() <= -1]
        if before and before[-1] >= new:
            continue
        carried += 1
        assert any(
            size >= new and reason.startswith(BELOW_FLOOR) and -1 < (when - at).total_seconds() <= 30
            for when, size, reason in rescales
        ), f"no HPA rescale to {new} or more after the operator raised the floor at {at}: {rescales}"
    assert carried >= 2, f"fewer than two raises went above the Deployment's replicas: {floors}, {rescales}"
    last = floors[-1][2]
    assert demo.hpa.spec.min_replicas == last
    assert demo.hpa.metadata.annotations["foresight.dev/applied-min-replicas"] == str(last)
    assert json.loads(demo.hpa.metadata.annotations["foresight.dev/original"])["minReplicas"] == 2
    assert max(new for _, new in raises) >= 10, f"the floor never went far above the start: {floors}"


def test_pods_ready_before_the_load_crossed_their_capacity(demo: Record) -> None:
    capacity = float(demo.scaler["spec"]["metric"]["capacityPerReplica"])
    ready_at, evicted, _ = _pod_records(demo)
    timeline = ready_timeline(ready_at, {pod: at for pod, (at, _) in evicted.items()})
    # The accounting explains every pod left: each Ready pod still there was never evicted.
    left = {p.metadata.name for p in demo.pods if p.metadata.deletion_timestamp is None and _is_ready(p)}
    assert left <= set(ready_at) and not (left & set(evicted)), (left, sorted(ready_at), sorted(evicted))
    assert len(demo.load) >= 120, f"only {len(demo.load)} s of load after the first floor took effect"
    levels, late = late_levels(demo.load, timeline, capacity)
    start, peak = demo.load[0][1], max(v for _, v in demo.load)
    # Not vacuous: the surge needed several more pods than at its start, and they came from the floor.
    assert len(levels) >= 4 and peak >= 1.8 * start, (start, peak, levels)
    assert not late, (
        f"pods Ready only after the load needed them (needed, when, Ready then): {late}; "
        f"floors {_floors(demo)}; evicted {sorted(evicted.items(), key=lambda kv: kv[1][0])}; "
        f"Ready {sorted(ready_at.values())}"
    )
    first_raise = _floors(demo)[0][0]
    added = sorted(at for at in ready_at.values() if at > first_raise)
    assert len(added) >= len(levels), "the pods that served the surge were asked for by the raised floor"


def test_failed_node_drained_before_it_went_not_ready(demo: Record) -> None:
    failed = [
        n for n in demo.nodes if any(t.key == "node.kubernetes.io/not-ready" for t in n.spec.taints or [])
    ]
    assert len(failed) == 1, [n.metadata.name for n in failed]
    node = failed[0]
    name = node.metadata.name
    not_ready = next(
        t.time_added for t in node.spec.taints if t.key == "node.kubernetes.io/not-ready" and t.time_added
    )
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    assert ready.status == "False"
    # The node lifecycle controller dates its taint; the node's own condition agrees.
    assert abs((ready.last_transition_time - not_ready).total_seconds()) <= 30
    # Foresight's NoSchedule taint carries the time it escalated the node; its Event says so too.
    assert any(t.key == DEFAULT_TAINT_KEY and t.effect == "NoSchedule" for t in node.spec.taints)
    escalated = parse_time(node.metadata.annotations[ESCALATED_ANNOTATION])
    told = [_when(e) for e in _events(demo, "ForesightTaint", "Node") if e.involved_object.name == name]
    assert told and min(told) <= escalated + timedelta(seconds=5), (told, escalated)
    assert escalated < not_ready, f"Foresight escalated {name} at {escalated}, after it failed at {not_ready}"
    _, evicted, scheduled = _pod_records(demo)
    from_node = {pod: at for pod, (at, where) in evicted.items() if where == name}
    placed = {pod for _, pod, where in scheduled if where == name}
    # Not vacuous: the node ran web pods; every one of them was evicted, all before the node failed.
    assert placed, f"no web pod ever ran on {name}"
    assert placed <= set(from_node), f"pods left on {name} without eviction: {placed - set(from_node)}"
    assert max(from_node.values()) < not_ready, (from_node, not_ready)
    assert not [pod for at, pod, where in scheduled if where == name and at >= escalated]
    assert not [p for p in demo.pods if p.spec.node_name == name]


def test_the_surge_check_catches_pods_that_came_late() -> None:
    """The check above fails when pods become Ready after the load needs them."""
    t = datetime(2030, 1, 1)
    load = [(t + timedelta(seconds=s), 10.0 + s) for s in range(30)]  # needs 2 -> 8 pods at 5 req/s
    in_time = ready_timeline({f"p{k}": t for k in range(8)}, {})
    assert late_levels(load, in_time, 5.0) == ([3, 4, 5, 6, 7, 8], [])
    slow = ready_timeline({f"p{k}": t + timedelta(seconds=4 * k) for k in range(8)}, {})
    _, late = late_levels(load, slow, 5.0)
    assert late and late[0][0] == 3
    evicted = ready_timeline({f"p{k}": t for k in range(8)}, {"p7": t + timedelta(seconds=20)})
    assert late_levels(load, evicted, 5.0)[1] == [(8, t + timedelta(seconds=26), 7)]
