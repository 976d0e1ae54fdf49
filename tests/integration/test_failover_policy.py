"""The FailoverPolicy controller end to end on kwok nodes: predict, taint, drain before NotReady.

Each test gets its own pool of kwok nodes and its own per-node signal served by the live feeder
(scraped by the real Prometheus every few seconds). One node's free memory trends down toward the
policy's threshold; the operator must taint and drain it while kwok still reports it Ready, and only
then does the test break the node.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client
from operator_process import BackgroundLoop, OperatorProcess, running_operator

from foresight.api.v1alpha1 import parse_time
from foresight.api.v1alpha1.failover_policy import DEFAULT_TAINT_KEY
from foresight.devcluster import nodes as kwok_nodes
from foresight.devcluster.handle import DevCluster, wait_for

GROUP, VERSION, PLURAL = "foresight.dev", "v1alpha1", "failoverpolicies"
SIGNAL = "foresight_test_memory_available_bytes"
GIB = 2**30
HISTORY_ANNOTATION = "foresight.dev/failure-history"


@pytest.fixture(scope="module")
def operator(
    devcluster: DevCluster, crds: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log = tmp_path_factory.mktemp("failover-operator") / "operator.log"
    with running_operator(devcluster.kubeconfig, devcluster.prometheus_url, log) as process:
        yield process


class SignalDriver(BackgroundLoop):
    """Publishes each node's free memory every second; ``trend`` moves one node's value per second."""

    def __init__(self, devcluster: DevCluster, policy: str, node_names: list[str]) -> None:
        self.feeder = devcluster.feeder
        self.policy = policy
        self.values = {name: 8.0 * GIB for name in node_names}
        self.trend: dict[str, float] = {}
        self.floor = 0.0
        super().__init__()

    def step(self) -> None:
        for node, per_second in self.trend.items():
            self.values[node] = max(self.floor, self.values[node] + per_second)
        self.feeder.set_many(
            [
                {"name": SIGNAL, "labels": {"node": n, "policy": self.policy}, "value": v}
                for n, v in self.values.items()
            ]
        )


def _policy(name: str, pool: str, **actions: Any) -> dict[str, Any]:
    mode = actions.pop("mode", "active")
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "FailoverPolicy",
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {"matchLabels": {"pool": pool}},
            "signals": [
                {
                    "name": "memory-available",
                    "query": f'{SIGNAL}{{policy="{name}"}}',
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


def _deployment(
    api: client.ApiClient, namespace: str, pool: str, replicas: int, spread: str = "ScheduleAnyway"
) -> None:
    """``spread="DoNotSchedule"`` pins an even spread; the default lets evicted pods go anywhere.

    Nodes with a NoSchedule taint the pods do not tolerate (a drained node) are left out of the skew,
    so a pinned spread still lets a drain move every pod to the nodes that are left.
    """
    labels = {"app": "svc"}
    client.AppsV1Api(api).create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "svc"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "nodeSelector": {"pool": pool},
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "kubernetes.io/hostname",
                                "whenUnsatisfiable": spread,
                                "nodeTaintsPolicy": "Honor",
                                "labelSelector": {"matchLabels": labels},
                            }
                        ],
                        "containers": [{"name": "svc", "image": "nginx:1.27"}],
                    },
                },
            },
        },
    )


def _pdb(api: client.ApiClient, namespace: str, min_available: int) -> None:
    client.PolicyV1Api(api).create_namespaced_pod_disruption_budget(
        namespace,
        {
            "metadata": {"name": "svc"},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": "svc"}}},
        },
    )


def _pods_on(api: client.ApiClient, namespace: str, node: str) -> list[client.V1Pod]:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, field_selector=f"spec.nodeName={node}").items
    return [p for p in pods if p.metadata.deletion_timestamp is None]


def _running(api: client.ApiClient, namespace: str) -> list[client.V1Pod]:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector="app=svc").items
    return [p for p in pods if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]


def _our_taints(api: client.ApiClient, node: str) -> set[str]:
    taints = client.CoreV1Api(api).read_node(node).spec.taints or []
    return {t.effect for t in taints if t.key == DEFAULT_TAINT_KEY}


def _time(text: str | None) -> datetime:
    return parse_time(text) if text else datetime.min.replace(tzinfo=UTC)


def _status(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    body = client.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return dict(body.get("status") or {})


def test_at_risk_node_is_drained_before_it_fails(
    api: client.ApiClient,
    operator: OperatorProcess,
    devcluster: DevCluster,
    namespace: str,
    pool: tuple[str, list[str]],
) -> None:
    pool_label, names = pool
    doomed, healthy = names[0], names[1:]
    _deployment(api, namespace, pool_label, replicas=6)
    _pdb(api, namespace, min_available=4)
    wait_for(lambda: len(_running(api, namespace)) == 6, 120, what="6 Running pods")
    wait_for(lambda: _pods_on(api, namespace, doomed), 10, what="pods on the doomed node")
    name = f"p-{uuid.uuid4().hex[:5]}"
    with SignalDriver(devcluster, name, names) as driver:
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, _policy(name, pool_label)
        )
        time.sleep(20)  # some flat history first
        # A steady leak: 8 GiB free now, the 1 GiB threshold would be crossed in about six minutes.
        driver.trend = {doomed: -0.02 * GIB}
        wait_for(lambda: "NoSchedule" in _our_taints(api, doomed), 240, what="doomed node tainted NoSchedule")
        assert kwok_nodes.is_ready(client.CoreV1Api(api).read_node(doomed)), "acted before the node failed"
        assert not any(_our_taints(api, n) for n in healthy)
        # Drained through the eviction API; the Deployment recreates the pods on healthy nodes.
        wait_for(lambda: not _pods_on(api, namespace, doomed), 120, what="doomed node drained")
        wait_for(lambda: len(_running(api, namespace)) == 6, 120, what="6 Running pods elsewhere")
        status = _status(api, namespace, name)
        risk = next(r for r in status["nodesAtRisk"] if r["node"] == doomed)
        assert risk["failureProbability"] >= 0.5 and any("memory-available" in r for r in risk["reasons"])
        assert risk["since"], "a drained node says since when"
        assert any(a["action"] == "evict" and a["node"] == doomed for a in status["recentActions"])
        # Only now does the node fail: nothing of the workload is left on it.
        kwok_nodes.make_not_ready(api, doomed)
        wait_for(
            lambda: not kwok_nodes.is_ready(client.CoreV1Api(api).read_node(doomed)), 60, what="NotReady"
        )
        assert len(_running(api, namespace)) == 6

        # Risk subsides (memory recovers, node healthy again): the taint goes.
        client.CoreV1Api(api).patch_node(doomed, {"metadata": {"labels": {kwok_nodes.NOT_READY_LABEL: None}}})
        driver.trend = {}
        driver.values[doomed] = 8.0 * GIB
        wait_for(lambda: not _our_taints(api, doomed), 300, what="taint removed when the risk subsided")


def test_pdb_blocks_eviction_and_max_nodes_at_once_holds(
    api: client.ApiClient,
    operator: OperatorProcess,
    devcluster: DevCluster,
    namespace: str,
    pool: tuple[str, list[str]],
) -> None:
    pool_label, names = pool
    # One pod per node, always: a node that happened to get none would be drained at once and free its
    # maxNodesAtOnce slot (it counts nodes with pods left), and the second node would rightly follow.
    _deployment(api, namespace, pool_label, replicas=3, spread="DoNotSchedule")
    _pdb(api, namespace, min_available=3)  # no disruption allowed
    wait_for(lambda: len(_running(api, namespace)) == 3, 120, what="3 Running pods")
    assert all(len(_pods_on(api, namespace, n)) == 1 for n in names)
    name = f"p-{uuid.uuid4().hex[:5]}"
    with SignalDriver(devcluster, name, names) as driver:
        for node in names[:2]:
            driver.values[node] = 0.5 * GIB  # two nodes already past the threshold
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, _policy(name, pool_label)
        )
        wait_for(
            lambda: any("NoSchedule" in _our_taints(api, n) for n in names[:2]), 240, what="one node drained"
        )
        status = wait_for(
            lambda: (
                (s := _status(api, namespace, name))
                and any(a["action"] == "eviction-blocked" for a in s.get("recentActions", []))
                and s
            ),
            120,
            what="eviction blocked by the PDB",
        )
        assert any("allows no disruption" in a["detail"] for a in status["recentActions"])
        time.sleep(15)  # several ticks: still one node at a time, and the PDB still holds
        hard = [n for n in names if "NoSchedule" in _our_taints(api, n)]
        assert len(hard) == 1, f"maxNodesAtOnce=1 but NoSchedule on {hard}"
        assert len(_running(api, namespace)) == 3
        assert any(
            a["action"] == "skip" and "maxNodesAtOnce" in a["detail"]
            for a in _status(api, namespace, name)["recentActions"]
        )


def test_dry_run_reports_and_changes_nothing(
    api: client.ApiClient,
    operator: OperatorProcess,
    devcluster: DevCluster,
    namespace: str,
    pool: tuple[str, list[str]],
) -> None:
    pool_label, names = pool
    name = f"p-{uuid.uuid4().hex[:5]}"
    with SignalDriver(devcluster, name, names) as driver:
        driver.values[names[0]] = 0.5 * GIB
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, _policy(name, pool_label, mode="dryRun")
        )
        status = wait_for(
            lambda: (s := _status(api, namespace, name)).get("nodesAtRisk") and s, 180, what="risk reported"
        )
        assert status["nodesAtRisk"][0]["node"] == names[0]
        wait_for(
            lambda: any(
                a["detail"].startswith("[dryRun]")
                for a in _status(api, namespace, name).get("recentActions", [])
            ),
            60,
            what="dryRun plan reported",
        )
        assert not any(_our_taints(api, n) for n in names)


class TaintWatch(BackgroundLoop):
    """Samples the pool's taints, then the workload's pods, twice a second while a test runs.

    Taints are read before pods, so a node escalated just after the previous one finished draining is
    never seen next to that node's already evicted pods.
    """

    interval = 0.5

    def __init__(self, api: client.ApiClient, pool: str, namespace: str) -> None:
        self.core = client.CoreV1Api(api)
        self.pool, self.namespace = pool, namespace
        self.most_draining = 0
        self.lost_no_schedule: set[str] = set()
        self._hard: set[str] = set()
        super().__init__()

    def step(self) -> None:
        hard = {
            n.metadata.name
            for n in self.core.list_node(label_selector=f"pool={self.pool}").items
            if any(t.key == DEFAULT_TAINT_KEY and t.effect == "NoSchedule" for t in n.spec.taints or [])
        }
        self.lost_no_schedule |= self._hard - hard
        self._hard |= hard
        pods = self.core.list_namespaced_pod(self.namespace, label_selector="app=svc").items
        busy = {p.spec.node_name for p in pods if p.metadata.deletion_timestamp is None}
        self.most_draining = max(self.most_draining, len(hard & busy))


def test_operator_killed_mid_drain_converges(
    api: client.ApiClient,
    operator: OperatorProcess,
    devcluster: DevCluster,
    namespace: str,
    pool: tuple[str, list[str]],
) -> None:
    pool_label, names = pool
    first, second, spare = names
    _deployment(api, namespace, pool_label, replicas=9, spread="DoNotSchedule")
    _pdb(api, namespace, min_available=8)  # one eviction at a time: a drain spans several ticks
    wait_for(lambda: len(_running(api, namespace)) == 9, 120, what="9 Running pods")
    on_first = len(_pods_on(api, namespace, first))
    assert on_first >= 2, f"the spread left {on_first} pod(s) on {first}: no drain to interrupt"
    name = f"p-{uuid.uuid4().hex[:5]}"
    with SignalDriver(devcluster, name, names) as driver, TaintWatch(api, pool_label, namespace) as watch:
        # Two nodes past the threshold: maxNodesAtOnce=1 drains the first (by name) while the second waits.
        driver.values[first] = driver.values[second] = 0.5 * GIB
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, _policy(name, pool_label)
        )
        wait_for(
            lambda: (
                "NoSchedule" in _our_taints(api, first)
                and 0 < len(_pods_on(api, namespace, first)) < on_first
            ),
            240,
            what=f"{first} tainted and partly drained",
        )
        operator.kill()
        left = len(_pods_on(api, namespace, first))
        assert left > 0, "the drain finished before the operator was killed"
        operator.start()

        # The new process resumes from the API alone: finishes the first drain, then takes the second node.
        wait_for(lambda: not _pods_on(api, namespace, first), 120, what=f"{first} drained after the restart")
        wait_for(lambda: not _pods_on(api, namespace, second), 120, what=f"{second} drained next")
        wait_for(lambda: len(_running(api, namespace)) == 9, 120, what="9 Running pods on the spare node")
        assert {p.spec.node_name for p in _running(api, namespace)} == {spare}
        status = wait_for(
            lambda: (
                (s := _status(api, namespace, name))
                and {r["node"]: r["state"] for r in s.get("nodesAtRisk", [])}
                == {first: "drained", second: "drained"}
                and s
            ),
            30,
            what="status: both at-risk nodes drained",
        )

    # One taint of each effect on each at-risk node, none on the spare, and nothing taken back meanwhile.
    core = client.CoreV1Api(api)
    for node in names:
        ours = sorted(t.effect for t in core.read_node(node).spec.taints or [] if t.key == DEFAULT_TAINT_KEY)
        assert ours == ([] if node == spare else ["NoSchedule", "PreferNoSchedule"]), (node, ours)
    assert not watch.lost_no_schedule, f"NoSchedule removed and added again on {watch.lost_no_schedule}"
    assert watch.most_draining == 1, f"maxNodesAtOnce=1 but {watch.most_draining} nodes drained at once"
    assert status["lastEscalationTime"]
    for node in (first, second):
        assert "foresight.dev/escalated-at" in (core.read_node(node).metadata.annotations or {})
    evicted = {a["node"] for a in status["recentActions"] if a["action"] == "evict"}
    assert second in evicted, status["recentActions"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and "2 at risk" in ready["message"]


def _failure_probability(operator: OperatorProcess, node: str) -> float | None:
    prefix = f'foresight_node_failure_probability{{node="{node}"}} '
    line = next((x for x in operator.metrics().splitlines() if x.startswith(prefix)), None)
    return None if line is None else float(line.removeprefix(prefix))


def test_failure_history_survives_a_restart(
    api: client.ApiClient,
    operator: OperatorProcess,
    devcluster: DevCluster,
    namespace: str,
    pool: tuple[str, list[str]],
) -> None:
    pool_label, names = pool
    flapped, steady = names[0], names[1]
    core = client.CoreV1Api(api)

    def history(node: str) -> list[dict[str, str]]:
        annotations = core.read_node(node).metadata.annotations or {}
        return list(json.loads(annotations.get(HISTORY_ANNOTATION, "[]")))

    name = f"p-{uuid.uuid4().hex[:5]}"
    with SignalDriver(devcluster, name, names):
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, _policy(name, pool_label)
        )
        wait_for(lambda: _status(api, namespace, name).get("lastEvaluation"), 60, what="first evaluation")
        kwok_nodes.make_not_ready(api, flapped)
        down = wait_for(lambda: (h := history(flapped)) and h, 60, what="failure recorded on the node")
        assert len(down) == 1 and "up" not in down[0]
        core.patch_node(flapped, {"metadata": {"labels": {kwok_nodes.NOT_READY_LABEL: None}}})
        up = wait_for(lambda: (h := history(flapped)) and "up" in h[-1] and h, 60, what="recovery recorded")
        assert up[0]["down"] == down[0]["down"] and up[0]["up"] >= up[0]["down"]
        assert not history(steady)
        before = _failure_probability(operator, flapped)
        assert before is not None and before > (_failure_probability(operator, steady) or 0.0)

        operator.kill()
        operator.start()
        started = datetime.now(UTC)
        # A fresh process has no memory of the flap: only the annotation can make the node riskier.
        wait_for(
            lambda: _time(_status(api, namespace, name).get("lastEvaluation")) > started,
            30,
            what="an evaluation by the new process",
        )
        flapped_p = _failure_probability(operator, flapped)
        steady_p = _failure_probability(operator, steady)
        assert flapped_p is not None and steady_p is not None
        assert flapped_p > steady_p, "the recurrence hazard was lost with the process"
        assert history(flapped) == up, "the new process rewrote or repeated the recorded failure"


def test_no_forecaster_fell_back_in_this_module(operator: OperatorProcess) -> None:
    """Runs last: every forecast of the tests above came from the model asked for, none from the fallback."""
    log = operator.log_path.read_text()
    assert "starting operator" in log  # the log is the operator's own
    fallbacks = [line for line in log.splitlines() if "forecaster failed" in line]
    assert not fallbacks, fallbacks[:3]
