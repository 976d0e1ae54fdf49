"""Two FailoverPolicy causes end to end on kwok nodes: drive health days ahead, and node-problem-detector.

* **Disk health.** A month of each drive's SMART counters is backfilled into the real Prometheus (TSDB
  blocks written by promtool, as smartctl_exporter would have left them), and the live feeder serves the
  readings now, under smartctl_exporter's metric name and labels. Two nodes' drives show sectors that
  were reallocated, went pending and uncorrectable since yesterday: both are kept from new pods at once,
  one is drained through the eviction API (its PodDisruptionBudget holding), and the other waits for the
  disk cooldown instead of following within minutes.
* **Node conditions.** node-problem-detector reports kernel and filesystem problems as node conditions
  (``KernelDeadlock``, ``ReadonlyFilesystem``, from its ``kernel-monitor.json``). The test writes them on a
  kwok node's status as it would; the policy's default weights taint and drain the node, one at a time,
  PDB respected, and release it when the condition clears.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client
from operator_process import BackgroundLoop, OperatorProcess, running_operator
from test_failover_policy import (
    GROUP,
    PLURAL,
    VERSION,
    _deployment,
    _our_taints,
    _pdb,
    _pods_on,
    _running,
    _status,
)

from foresight.api.v1alpha1.failover_policy import DEFAULT_TAINT_KEY
from foresight.devcluster import cluster
from foresight.devcluster import nodes as kwok_nodes
from foresight.devcluster.handle import DevCluster, wait_for

SMART_METRIC = "smartctl_device_attribute"
ATTRIBUTES = {
    5: "Reallocated_Sector_Ct",
    187: "Reported_Uncorrect",
    197: "Current_Pending_Sector",
    198: "Offline_Uncorrectable",
}
HEALTHY = {5: 0.0, 187: 0.0, 197: 0.0, 198: 0.0}
# New since yesterday: reallocated, reported-uncorrectable, pending and offline-uncorrectable sectors.
FAILING = {5: 200.0, 187: 8.0, 197: 24.0, 198: 24.0}
REPLICAS, MIN_AVAILABLE = 6, 5


@pytest.fixture(scope="module")
def operator(
    devcluster: DevCluster, crds: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log = tmp_path_factory.mktemp("failover-causes-operator") / "operator.log"
    with running_operator(devcluster.kubeconfig, devcluster.prometheus_url, log) as process:
        yield process


def _policy(name: str, pool: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "FailoverPolicy",
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {"matchLabels": {"pool": pool}},
            "horizon": "15m",
            "failureProbabilityThreshold": 0.5,
            "actions": {"maxNodesAtOnce": 1, "cooldownSeconds": 0, "minHealthyNodes": 1},
            "mode": "active",
            **spec,
        },
    }


class Watch(BackgroundLoop):
    """Samples the workload's Running pods and the pool's NoSchedule nodes twice a second."""

    interval = 0.5

    def __init__(self, api: client.ApiClient, pool: str, namespace: str) -> None:
        self.core = client.CoreV1Api(api)
        self.pool, self.namespace = pool, namespace
        self.fewest_running = REPLICAS
        self.ever_no_schedule: set[str] = set()
        super().__init__()

    def step(self) -> None:
        for n in self.core.list_node(label_selector=f"pool={self.pool}").items:
            if any(t.key == DEFAULT_TAINT_KEY and t.effect == "NoSchedule" for t in n.spec.taints or []):
                self.ever_no_schedule.add(n.metadata.name)
        pods = self.core.list_namespaced_pod(self.namespace, label_selector="app=svc").items
        running = [p for p in pods if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]
        self.fewest_running = min(self.fewest_running, len(running))


def _workload(api: client.ApiClient, namespace: str, pool: str, nodes: list[str]) -> None:
    """Six replicas spread over the pool, a PDB that lets one go at a time."""
    _deployment(api, namespace, pool, replicas=REPLICAS)
    _pdb(api, namespace, min_available=MIN_AVAILABLE)
    wait_for(lambda: len(_running(api, namespace)) == REPLICAS, 120, what=f"{REPLICAS} Running pods")
    assert all(_pods_on(api, namespace, n) for n in nodes), "every node should carry part of the workload"


# ------------------------------------------------------------------------------------------------ disk


def _smart_labels(policy: str, node: str, attribute: int) -> dict[str, str]:
    return {
        "policy": policy,
        "node": node,
        "device": "/dev/sda",
        "attribute_id": str(attribute),
        "attribute_name": ATTRIBUTES[attribute],
        "attribute_value_type": "raw",
    }


def _backfill(devcluster: DevCluster, policy: str, nodes: list[str], until: datetime) -> None:
    """Every drive's counters at zero every 4 minutes for the 31 days before ``until``, written as TSDB
    blocks into the running Prometheus (it loads new blocks within a minute)."""
    tools = cluster.ensure_tools()
    assert tools.prometheus_bin is not None
    data = Path(devcluster.info.state_dir) / "prometheus" / "data"
    end = int(until.timestamp())
    with tempfile.TemporaryDirectory(prefix="foresight-smart-") as tmp:
        source = Path(tmp) / "smart.om"
        with source.open("w") as out:
            out.write(f"# TYPE {SMART_METRIC} gauge\n")
            for node in nodes:
                for attribute in ATTRIBUTES:
                    labels = ",".join(f'{k}="{v}"' for k, v in _smart_labels(policy, node, attribute).items())
                    for t in range(end - 31 * 86400, end, 240):
                        out.write(f"{SMART_METRIC}{{{labels}}} 0 {t}\n")
            out.write("# EOF\n")
        blocks = Path(tmp) / "blocks"
        subprocess.run(
            [
                str(tools.prometheus_bin / "promtool"),
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "--max-block-duration=768h",
                str(source),
                str(blocks),
            ],
            check=True,
            capture_output=True,
        )
        for block in blocks.iterdir():
            # Prometheus skips directories ending in .tmp-for-creation, so the block appears whole.
            staged = data / f"{block.name}.tmp-for-creation"
            subprocess.run(["cp", "-r", str(block), str(staged)], check=True)
            staged.rename(data / block.name)

    def backfilled() -> bool:
        query = f'count(count_over_time({SMART_METRIC}{{policy="{policy}"}}[1h] offset 1d))'
        body = httpx.get(f"{devcluster.prometheus_url}/api/v1/query", params={"query": query}).json()
        result = body["data"]["result"]
        return bool(result) and int(float(result[0]["value"][1])) == len(nodes) * len(ATTRIBUTES)

    wait_for(backfilled, 180, interval_seconds=5, what="backfilled SMART history in Prometheus")


class SmartDriver(BackgroundLoop):
    """Publishes every drive's SMART counters now, as smartctl_exporter would, every second."""

    def __init__(self, devcluster: DevCluster, policy: str, readings: dict[str, dict[int, float]]) -> None:
        self.feeder, self.policy, self.readings = devcluster.feeder, policy, readings
        super().__init__()

    def step(self) -> None:
        self.feeder.set_many(
            [
                {"name": SMART_METRIC, "labels": _smart_labels(self.policy, node, a), "value": v}
                for node, values in self.readings.items()
                for a, v in values.items()
            ]
        )


def test_failing_drives_drain_one_node_slowly_and_keep_the_other_from_new_pods(
    api: client.ApiClient,
    operator: OperatorProcess,
    devcluster: DevCluster,
    namespace: str,
    pool: tuple[str, list[str]],
) -> None:
    pool_label, names = pool
    first, second, healthy = names
    _workload(api, namespace, pool_label, names)
    name = f"p-{uuid.uuid4().hex[:5]}"
    _backfill(devcluster, name, names, until=datetime.now(UTC) - timedelta(minutes=10))
    query = f'{SMART_METRIC}{{policy="{name}",attribute_value_type="raw"}}'
    readings = {first: FAILING, second: FAILING, healthy: HEALTHY}
    with SmartDriver(devcluster, name, readings), Watch(api, pool_label, namespace) as watch:
        time.sleep(5)  # scraped at least once
        policy = _policy(
            name, pool_label, diskHealth={"query": query, "horizon": "7d", "cooldownSeconds": 3600}
        )
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, policy
        )

        # The riskier-by-name first node is drained; both are kept from new pods at once.
        wait_for(lambda: "NoSchedule" in _our_taints(api, first), 120, what=f"{first} tainted NoSchedule")
        wait_for(
            lambda: _our_taints(api, second) == {"PreferNoSchedule"}, 30, what=f"{second} PreferNoSchedule"
        )
        wait_for(lambda: not _pods_on(api, namespace, first), 180, what=f"{first} drained")
        drained = _status(api, namespace, name)["recentActions"]
        wait_for(lambda: len(_running(api, namespace)) == REPLICAS, 120, what=f"{REPLICAS} Running elsewhere")
        time.sleep(20)  # several more ticks: the second node still waits for the disk cooldown

    assert watch.ever_no_schedule == {first}, (
        f"disk drains must be paced, saw NoSchedule on {watch.ever_no_schedule}"
    )
    assert watch.fewest_running >= MIN_AVAILABLE, f"the PDB was broken: {watch.fewest_running} Running"
    assert _our_taints(api, second) == {"PreferNoSchedule"} and not _our_taints(api, healthy)
    assert kwok_nodes.is_ready(client.CoreV1Api(api).read_node(first)), "the drive has not failed yet"
    assert any(a["action"] == "evict" and a["node"] == first for a in drained)
    status = _status(api, namespace, name)
    assert any(
        a["action"] == "skip" and a["node"] == second and "diskHealth.cooldownSeconds" in a["detail"]
        for a in status["recentActions"]
    )
    risks = {r["node"]: r for r in status["nodesAtRisk"]}
    assert set(risks) == {first, second}
    assert risks[first]["state"] == "drained" and risks[second]["state"] == "tainted"
    assert risks[first]["diskFailureProbability"] >= 0.1  # the model's 7-day threshold is 0.11
    assert risks[first]["failureProbability"] < 0.5  # the minute-scale risk is not what acted
    assert "Reallocated_Sector_Ct=200 (+200 in 1d)" in risks[first]["reasons"][0]


# ------------------------------------------------------------------------------------------------ conditions


def _set_condition(
    api: client.ApiClient, node: str, type_: str, status: str, reason: str, message: str
) -> None:
    """Write a node condition the way node-problem-detector does (a status patch, merged by type)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    condition = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": now,
        "lastTransitionTime": now,
    }
    client.CoreV1Api(api).patch_node_status(node, {"status": {"conditions": [condition]}})


def test_node_problem_detector_conditions_taint_and_drain_one_node_at_a_time(
    api: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    pool: tuple[str, list[str]],
) -> None:
    pool_label, names = pool
    spare, deadlocked, read_only = names
    _workload(api, namespace, pool_label, names)
    name = f"p-{uuid.uuid4().hex[:5]}"
    with Watch(api, pool_label, namespace) as watch:
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, _policy(name, pool_label)
        )
        wait_for(lambda: _status(api, namespace, name).get("lastEvaluation"), 60, what="first evaluation")
        assert not any(_our_taints(api, n) for n in names), "healthy nodes are left alone"

        # kernel-monitor.json's permanent KernelDeadlock (reason DockerHung): default weight 0.7 >= 0.5.
        _set_condition(
            api,
            deadlocked,
            "KernelDeadlock",
            "True",
            "DockerHung",
            "task docker:7 blocked for more than 300 seconds.",
        )
        wait_for(lambda: "NoSchedule" in _our_taints(api, deadlocked), 60, what=f"{deadlocked} tainted")
        wait_for(lambda: not _pods_on(api, namespace, deadlocked), 180, what=f"{deadlocked} drained")
        wait_for(lambda: len(_running(api, namespace)) == REPLICAS, 120, what=f"{REPLICAS} Running elsewhere")
        risk = next(r for r in _status(api, namespace, name)["nodesAtRisk"] if r["node"] == deadlocked)
        assert "KernelDeadlock=True: p = 0.70" in risk["reasons"]

        # ReadonlyFilesystem (reason FilesystemIsReadOnly): weight 0.6. The slot is free again.
        _set_condition(
            api,
            read_only,
            "ReadonlyFilesystem",
            "True",
            "FilesystemIsReadOnly",
            "Remounting filesystem read-only",
        )
        wait_for(lambda: "NoSchedule" in _our_taints(api, read_only), 60, what=f"{read_only} tainted")
        wait_for(lambda: not _pods_on(api, namespace, read_only), 180, what=f"{read_only} drained")
        evicted = {
            a["node"] for a in _status(api, namespace, name)["recentActions"] if a["action"] == "evict"
        }
        wait_for(
            lambda: len(_running(api, namespace)) == REPLICAS, 120, what=f"{REPLICAS} Running on {spare}"
        )
        assert not _our_taints(api, spare), "minHealthyNodes=1: the last healthy node is never drained"

        # The problem clears (a fixed kernel, a remounted filesystem): the taints go.
        _set_condition(
            api, deadlocked, "KernelDeadlock", "False", "KernelHasNoDeadlock", "kernel has no deadlock"
        )
        wait_for(lambda: not _our_taints(api, deadlocked), 60, what=f"{deadlocked} released")

    assert watch.fewest_running >= MIN_AVAILABLE, f"the PDB was broken: {watch.fewest_running} Running"
    for node in (deadlocked, read_only):
        assert kwok_nodes.is_ready(client.CoreV1Api(api).read_node(node)), "drained while still Ready"
    assert read_only in evicted
