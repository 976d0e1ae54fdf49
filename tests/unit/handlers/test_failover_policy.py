"""The FailoverPolicy reconcile against an in-memory API and Prometheus (the real ones are in integration).

The fake API keeps nodes with resourceVersions (409 on a stale patch) and enforces one PodDisruptionBudget
on evictions (429), so the rails are exercised as the API server would enforce them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
import numpy as np
import pytest

from foresight.api.v1alpha1 import FailoverPolicySpec
from foresight.config import Settings
from foresight.handlers import failover_policy as fp
from foresight.handlers.batcher import ForecastBatcher
from foresight.handlers.runtime import Runtime
from foresight.kube import client as kube
from foresight.metrics import MetricSourceError, SampledSeries

from ._merge import apply_node_patch

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
GIB = 2.0**30
SIGNAL = "free_memory_bytes"


class FakeApi:
    """Three Ready nodes of pool ``a`` with two pods each; optionally a PDB that allows no eviction."""

    def __init__(self, pdb_allows: int | None = None) -> None:
        self.version = 10
        self.nodes = {name: self._node(name) for name in ("n0", "n1", "n2")}
        self.pods = [self._pod(f"web-{n}-{k}", n) for n in self.nodes for k in range(2)]
        self.pdb_allows = pdb_allows
        self.conflicts = 0  # writers that change a node just before each of the next node patches
        self.node_patches: list[tuple[str, dict[str, Any]]] = []
        self.evicted: list[str] = []

    def _node(self, name: str) -> dict[str, Any]:
        self.version += 1
        return {
            "metadata": {
                "name": name,
                "resourceVersion": str(self.version),
                "labels": {"pool": "a"},
                "creationTimestamp": "2026-01-01T00:00:00Z",
            },
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }

    @staticmethod
    def _pod(name: str, node: str) -> dict[str, Any]:
        return {
            "metadata": {
                "namespace": "shop",
                "name": name,
                "labels": {"app": "web"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "controller": True}],
            },
            "spec": {"nodeName": node},
            "status": {"phase": "Running"},
        }

    def list_nodes(self, label_selector: str = "") -> list[dict[str, Any]]:
        return [copy.deepcopy(n) for n in self.nodes.values()]

    def list_leases(self, namespace: str = "kube-node-lease") -> list[dict[str, Any]]:
        renew = NOW.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        return [
            {"metadata": {"name": n}, "spec": {"renewTime": renew, "leaseDurationSeconds": 40}}
            for n in self.nodes
        ]

    def list_pods(self, field_selector: str = "", label_selector: str = "") -> list[dict[str, Any]]:
        return copy.deepcopy(self.pods)

    def list_pdbs(self) -> list[dict[str, Any]]:
        if self.pdb_allows is None:
            return []
        return [
            {
                "metadata": {"namespace": "shop", "name": "web"},
                "spec": {"selector": {"matchLabels": {"app": "web"}}},
                "status": {"disruptionsAllowed": self.pdb_allows},
            }
        ]

    def list_namespaces(self, label_selector: str = "") -> list[dict[str, Any]]:
        return [{"metadata": {"name": "shop"}}]

    def get_node(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.nodes[name])

    def patch_node(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        node = self.nodes[name]
        if self.conflicts:
            self.conflicts -= 1
            self.version += 1
            node["metadata"]["resourceVersion"] = str(self.version)
        apply_node_patch(node, patch, self.version + 1)  # raises the conflict before any write
        self.version += 1
        self.node_patches.append((name, patch))
        return copy.deepcopy(node)

    def evict(self, namespace: str, pod: str) -> None:
        if self.pdb_allows is not None:
            if self.pdb_allows <= 0:
                raise kube.TooManyRequests(
                    "Cannot evict pod as it would violate the pod's disruption budget."
                )
            self.pdb_allows -= 1
        self.evicted.append(f"{namespace}/{pod}")
        self.pods = [p for p in self.pods if p["metadata"]["name"] != pod]

    def taints(self, name: str) -> set[str]:
        return {
            t["effect"]
            for t in self.nodes[name]["spec"].get("taints") or []
            if t["key"].startswith("foresight")
        }


class FakePrometheus:
    """Free memory per node: 8 GiB and flat, except the nodes given, which fall by ``fall`` per step;
    the ``missing`` nodes have no series."""

    def __init__(
        self, falling: dict[str, float] | None = None, error: MetricSourceError | None = None
    ) -> None:
        self.falling, self.error = falling or {}, error
        self.missing: set[str] = set()
        self.queries: list[str] = []

    def range(self, query: str, start: datetime, end: datetime, step: int) -> list[SampledSeries]:
        self.queries.append(query)
        if self.error is not None:
            raise self.error
        points = int((end - start).total_seconds() // step) + 1
        out = []
        for node in sorted({"n0", "n1", "n2"} - self.missing):
            fall = self.falling.get(node, 0.0)
            values = 8 * GIB - fall * np.arange(points) if fall else np.full(points, 8 * GIB)
            out.append(SampledSeries(start, step, np.maximum(values, 0.2 * GIB), {"node": node}))
        return out


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    fake = FakeApi()
    _install(monkeypatch, fake)
    return fake


def _install(monkeypatch: pytest.MonkeyPatch, fake: FakeApi) -> None:
    for name in (
        "list_nodes",
        "list_leases",
        "list_pods",
        "list_pdbs",
        "list_namespaces",
        "get_node",
        "patch_node",
        "evict",
    ):
        monkeypatch.setattr(kube, name, getattr(fake, name))
    monkeypatch.setattr(fp.events, "info", lambda *a, **k: None)
    monkeypatch.setattr(fp.events, "warn", lambda *a, **k: None)


def _runtime(
    monkeypatch: pytest.MonkeyPatch, prometheus: FakePrometheus, failover_namespaces: tuple[str, ...] = ("*",)
) -> tuple[Runtime, list[tuple]]:
    runtime = Runtime(
        settings=Settings(
            prometheus_url="https://prom.monitoring.svc:9090",
            prometheus_token="operator-token",
            failover_namespaces=list(failover_namespaces),
        ),
        batcher=ForecastBatcher(window_seconds=0),
    )
    asked: list[tuple] = []

    def get(*args: Any, **kwargs: Any) -> FakePrometheus:
        asked.append((args, kwargs))
        return prometheus

    monkeypatch.setattr(runtime.prometheus, "get", get)
    return runtime, asked


def _body(mode: str = "active", **actions: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "memory", "namespace": "ops", "uid": "u-1", "generation": 1},
        "spec": {
            "nodeSelector": {"matchLabels": {"pool": "a"}},
            "signals": [
                {
                    "name": "memory-available",
                    "query": f'{SIGNAL}{{pool="a"}}',
                    "nodeLabel": "node",
                    "threshold": 1 * GIB,
                    "direction": "below",
                }
            ],
            "horizon": "5m",
            "failureProbabilityThreshold": 0.5,
            "actions": {"maxNodesAtOnce": 1, "cooldownSeconds": 0, "minHealthyNodes": 1, **actions},
            "mode": mode,
        },
    }


async def _reconcile(runtime: Runtime, body: dict[str, Any], now: datetime = NOW) -> Any:
    return await fp.reconcile(
        runtime, fp.FailoverMemory(), name="memory", namespace="ops", body=body, now=now
    )


def _condition(status: Any, type_: str) -> Any:
    return next(c for c in status.conditions if c.type == type_)


# A node losing ~0.23 GiB per 15 s step crosses 1 GiB well inside the 5-minute horizon.
LEAKING = {"n0": 0.23 * GIB / 8}


async def test_a_leaking_node_is_tainted_and_drained_and_signals_come_from_the_operators_prometheus(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    prometheus = FakePrometheus(falling=LEAKING)
    runtime, asked = _runtime(monkeypatch, prometheus)
    status = await _reconcile(runtime, _body())
    assert asked == [((), {})]  # the factory's own client: the operator's Prometheus, token and CA
    assert prometheus.queries == [f'{SIGNAL}{{pool="a"}}']
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}
    assert api.taints("n1") == api.taints("n2") == set()
    assert sorted(api.evicted) == ["shop/web-n0-0", "shop/web-n0-1"]
    assert status.nodes_at_risk[0].node == "n0" and status.nodes_at_risk[0].failure_probability >= 0.5
    assert _condition(status, "Ready").reason == "Evaluated"
    assert _condition(status, "Degraded").status == "False"


async def test_max_nodes_at_once_holds_while_the_first_node_is_stuck_behind_a_pdb(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = FakeApi(pdb_allows=0)
    _install(monkeypatch, api)
    runtime, _ = _runtime(monkeypatch, FakePrometheus(falling={"n0": LEAKING["n0"], "n1": LEAKING["n0"]}))
    body = _body()
    for tick in range(5):  # several ticks: the first node keeps its pods, so the slot stays taken
        status = await _reconcile(runtime, body, NOW + timedelta(seconds=15 * tick))
        body["status"] = status.model_dump(by_alias=True, exclude_none=True)
    hard = [n for n in api.nodes if "NoSchedule" in api.taints(n)]
    assert hard == ["n0"] and api.evicted == []
    assert any(a.action == "eviction-blocked" for a in status.recent_actions)
    assert any(a.action == "skip" and "maxNodesAtOnce" in a.detail for a in status.recent_actions)


async def test_dry_run_reports_and_writes_nothing(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime, _ = _runtime(monkeypatch, FakePrometheus(falling=LEAKING))
    status = await _reconcile(runtime, _body(mode="dryRun"))
    assert api.node_patches == [] and api.evicted == []
    assert status.nodes_at_risk[0].node == "n0"
    assert _condition(status, "Ready").reason == "DryRun"
    assert {a.action for a in status.recent_actions} >= {"taint", "evict"}


async def test_a_failing_signal_is_reported_and_nothing_is_drained(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = MetricSourceError("Unauthorized", "Prometheus answered HTTP 401: token [redacted]")
    runtime, _ = _runtime(monkeypatch, FakePrometheus(error=error))
    status = await _reconcile(runtime, _body())
    degraded = _condition(status, "Degraded")
    assert degraded.status == "True" and degraded.reason == "SignalUnavailable"
    assert "memory-available" in degraded.message and "401" in degraded.message
    assert api.evicted == [] and all(not api.taints(n) for n in api.nodes)


async def _tick(runtime: Runtime, body: dict[str, Any], tick: int) -> Any:
    """One reconcile at ``tick`` (15 s each), the status carried on to the next as the API would."""
    status = await _reconcile(runtime, body, NOW + timedelta(seconds=15 * tick))
    body["status"] = status.model_dump(by_alias=True, exclude_none=True)
    return status


async def _leaking_n0_tainted(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Any, dict[str, Any]]:
    """n0's memory is leaking: after the first tick it is tainted both ways."""
    prometheus = FakePrometheus(falling=LEAKING)
    runtime, _ = _runtime(monkeypatch, prometheus)
    body = _body()
    await _tick(runtime, body, 0)
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}
    return prometheus, runtime, body


async def test_prometheus_down_keeps_every_taint_and_node_conditions_still_act(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    prometheus, runtime, body = await _leaking_n0_tainted(api, monkeypatch)

    prometheus.error = MetricSourceError("Unreachable", "connection refused")
    _not_ready(api, "n1")  # a cause that needs no Prometheus
    status = await _tick(runtime, body, 1)
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}
    assert api.taints("n1") == {"PreferNoSchedule", "NoSchedule"} and api.taints("n2") == set()
    degraded = _condition(status, "Degraded")
    assert degraded.status == "True" and "memory-available" in degraded.message
    assert "connection refused" in degraded.message
    held = next(r for r in status.nodes_at_risk if r.node == "n0")
    assert held.state == "drained" and any("no estimate" in r for r in held.reasons)
    assert any(
        a.action == "skip" and a.node == "n0" and "taint kept" in a.detail for a in status.recent_actions
    )

    # The estimate is back and low: the node is released as before.
    prometheus.error, prometheus.falling = None, {}
    await _tick(runtime, body, 2)
    assert api.taints("n0") == set()


async def test_a_node_whose_series_is_missing_keeps_its_taint(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    prometheus, runtime, body = await _leaking_n0_tainted(api, monkeypatch)

    prometheus.falling, prometheus.missing = {}, {"n0"}
    status = await _tick(runtime, body, 1)
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}
    degraded = _condition(status, "Degraded")
    assert degraded.status == "True" and "no series for node(s) n0" in degraded.message
    assert [r.node for r in status.nodes_at_risk] == ["n0"]

    prometheus.missing = set()
    status = await _tick(runtime, body, 2)
    assert api.taints("n0") == set()
    assert _condition(status, "Degraded").status == "False"


async def test_an_invalid_spec_is_reported_and_nothing_is_read(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    prometheus = FakePrometheus()
    runtime, asked = _runtime(monkeypatch, prometheus)
    body = _body()
    body["spec"]["failureProbabilityThreshold"] = 1.5
    status = await _reconcile(runtime, body)
    ready = _condition(status, "Ready")
    assert ready.reason == "InvalidSpec" and "failureProbabilityThreshold" in ready.message
    assert asked == [] and api.node_patches == []


async def test_a_policy_outside_the_failover_namespaces_is_refused_and_nothing_is_read_or_written(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, asked = _runtime(monkeypatch, FakePrometheus(falling=LEAKING), failover_namespaces=("platform",))
    status = await _reconcile(runtime, _body())  # in "ops", with a node about to fail
    ready = _condition(status, "Ready")
    assert ready.status == "False" and ready.reason == "NamespaceNotAllowed"
    assert "platform" in ready.message and "ops" in ready.message
    assert asked == [] and api.node_patches == [] and api.evicted == []
    assert status.nodes_at_risk == [] and status.recent_actions == []

    allowed, _ = _runtime(
        monkeypatch, FakePrometheus(falling=LEAKING), failover_namespaces=("platform", "ops")
    )
    assert _condition(await _reconcile(allowed, _body()), "Ready").reason == "Evaluated"
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}


async def test_deleting_a_refused_policy_lifts_no_taint_it_shares_a_key_with(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform, _ = _runtime(monkeypatch, FakePrometheus(falling=LEAKING))
    await _reconcile(platform, _body())  # the platform's policy taints n0
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}
    tenant, _ = _runtime(monkeypatch, FakePrometheus(), failover_namespaces=("platform",))
    await fp.policy_deleted(name="memory", namespace="ops", body=_body(), memo=kopf.Memo(runtime=tenant))
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}
    await fp.policy_deleted(name="memory", namespace="ops", body=_body(), memo=kopf.Memo(runtime=platform))
    assert api.taints("n0") == set()


def _not_ready(api: FakeApi, node: str, since: str = "2026-01-05T11:58:00Z") -> None:
    api.nodes[node]["status"]["conditions"] = [
        {"type": "Ready", "status": "False", "lastTransitionTime": since}
    ]


async def test_observing_writes_nothing_and_the_failure_history_is_stored_when_applying(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    _not_ready(api, "n1")
    runtime, _ = _runtime(monkeypatch, FakePrometheus())
    memory = fp.FailoverMemory()
    spec = FailoverPolicySpec.model_validate(_body()["spec"])

    seen = await fp._observe(runtime, memory, spec, NOW)
    assert api.node_patches == [] and memory == fp.FailoverMemory()
    failed_at = datetime(2026, 1, 5, 11, 58, tzinfo=UTC)
    assert seen.histories["n1"].failures == ((failed_at, None),)
    assert next(n for n in seen.nodes if n.name == "n1").not_ready_transitions == (failed_at,)

    await fp.reconcile(runtime, memory, name="memory", namespace="ops", body=_body(), now=NOW)
    stored = api.nodes["n1"]["metadata"]["annotations"][fp.fo.FAILURE_HISTORY_ANNOTATION]
    assert stored == '[{"down":"2026-01-05T11:58:00Z"}]'
    assert memory.seen_ready == {"n0", "n2"}


async def test_in_dry_run_the_failure_history_is_kept_in_memory_only(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    _not_ready(api, "n1")
    runtime, _ = _runtime(monkeypatch, FakePrometheus())
    memory = fp.FailoverMemory()
    await fp.reconcile(runtime, memory, name="memory", namespace="ops", body=_body(mode="dryRun"), now=NOW)
    assert api.node_patches == []
    assert memory.histories["n1"].not_ready_transitions == (datetime(2026, 1, 5, 11, 58, tzinfo=UTC),)


async def test_a_taint_that_meets_a_conflict_is_written_after_reading_the_node_again(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, _ = _runtime(monkeypatch, FakePrometheus(falling=LEAKING))
    api.conflicts = 1
    await _reconcile(runtime, _body())
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}


async def test_a_node_that_keeps_changing_is_skipped_until_the_next_tick(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, _ = _runtime(monkeypatch, FakePrometheus(falling=LEAKING))
    api.conflicts = 100
    status = await _reconcile(runtime, _body())
    assert api.taints("n0") == set() and api.node_patches == []
    assert any(a.action == "skip" and "kept changing" in a.detail for a in status.recent_actions)
    assert _condition(status, "Ready").reason == "Evaluated"


async def test_deleting_the_policy_removes_its_taints_and_retries_what_keeps_changing(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, _ = _runtime(monkeypatch, FakePrometheus(falling=LEAKING))
    await _reconcile(runtime, _body())
    assert api.taints("n0") == {"PreferNoSchedule", "NoSchedule"}

    api.conflicts = 100
    with pytest.raises(kube.KeptChanging) as raised:
        await fp.policy_deleted(name="memory", namespace="ops", body=_body(), memo=kopf.Memo(runtime=runtime))
    assert isinstance(raised.value, kopf.TemporaryError) and raised.value.delay > 0

    api.conflicts = 1
    await fp.policy_deleted(name="memory", namespace="ops", body=_body(), memo=kopf.Memo(runtime=runtime))
    assert all(api.taints(n) == set() for n in api.nodes)
    assert fp.kube_nodes.ESCALATED_ANNOTATION not in api.nodes["n0"]["metadata"].get("annotations", {})
