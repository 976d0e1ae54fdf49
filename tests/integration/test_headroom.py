"""Headroom placeholders end to end: the operator reserves room ahead of the forecast, real pods preempt it.

A PredictiveScaler with headroom enabled runs the real operator on the NASA trace (shortly before its
morning ramp): beyond the HPA floor for the next minutes, it keeps placeholder pods for the rest of the
horizon's peak, at the chart's negative PriorityClass. Pods here ask for 40 CPUs, so only the test's own
48-CPU kwok nodes can hold one (every other node in the cluster has 16): the test controls exactly how
full "the cluster" is. When the workload surges onto the full pool, the real kube-scheduler evicts the
placeholders to make room (preemption); the operator then recreates them, and they wait Pending, since
placeholders never preempt anything themselves.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from objects import create_cpu_hpa
from operator_process import OperatorProcess, running_operator

from foresight.devcluster import _build
from foresight.devcluster.handle import DevCluster, wait_for
from foresight.kube.headroom import HEADROOM_LABEL, NAMESPACE_OPT_IN_LABEL, NAMESPACE_OPT_IN_VALUE

ROOT = Path(__file__).resolve().parents[2]
GROUP, VERSION, PLURAL = "foresight.dev", "v1alpha1", "predictivescalers"
QUERY = 'sum(foresight_demo_requests_per_minute{namespace="demo", service="web"})'
CPU_PER_POD = "40"  # more than a 16-CPU node has: these pods fit only on the pool below
POOL_NODE_CPU = "48"  # one such pod per pool node
CAPACITY = 20.0  # requests/minute one replica serves


@pytest.fixture(scope="module")
def headroom_priority_class(api: client.ApiClient) -> Iterator[str]:
    """The chart's placeholder PriorityClass, rendered by helm; removed after unless it was there before."""
    with tempfile.TemporaryDirectory(prefix="foresight-helm-") as home:
        env = {
            **os.environ,
            "HELM_CACHE_HOME": f"{home}/cache",
            "HELM_CONFIG_HOME": f"{home}/config",
            "HELM_DATA_HOME": f"{home}/data",
        }
        rendered = subprocess.run(
            [
                str(_build.ensure_helm() / "helm"),
                "template",
                "foresight",
                str(ROOT / "charts" / "foresight"),
                "--show-only",
                "templates/priorityclass.yaml",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    body = yaml.safe_load(rendered)
    assert body["value"] < 0 and body["preemptionPolicy"] == "Never"
    scheduling = client.SchedulingV1Api(api)
    name = body["metadata"]["name"]
    try:
        scheduling.create_priority_class(body)
        created = True
    except ApiException as exc:
        if exc.status != 409:
            raise
        created = False
    yield str(name)
    if created:
        scheduling.delete_priority_class(name)


@pytest.fixture(scope="module")
def headroom_opt_in(api: client.ApiClient, demo_namespace: str) -> Iterator[str]:
    """The demo namespace labelled to allow placeholders for the module; the label is removed after."""
    core = client.CoreV1Api(api)
    label = {NAMESPACE_OPT_IN_LABEL: NAMESPACE_OPT_IN_VALUE}
    core.patch_namespace(demo_namespace, {"metadata": {"labels": label}})
    yield demo_namespace
    core.patch_namespace(demo_namespace, {"metadata": {"labels": {NAMESPACE_OPT_IN_LABEL: None}}})


@pytest.fixture(scope="module")
def operator(
    devcluster: DevCluster, crds: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log = tmp_path_factory.mktemp("headroom-operator") / "operator.log"
    with running_operator(devcluster.kubeconfig, devcluster.prometheus_url, log) as process:
        yield process


def _workload(api: client.ApiClient, namespace: str, name: str) -> None:
    """A Deployment of 40-CPU pods and an HPA on CPU; no metrics server, so only its floor moves it."""
    labels = {"app": name}
    client.AppsV1Api(api).create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "terminationGracePeriodSeconds": 0,
                        "containers": [
                            {
                                "name": "web",
                                "image": "nginx:1.27",
                                "resources": {"requests": {"cpu": CPU_PER_POD, "memory": "1Gi"}},
                            }
                        ],
                    },
                },
            },
        },
    )
    create_cpu_hpa(api, namespace, name)


def _scaler(name: str, priority_class: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PredictiveScaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "hpaRef": {"name": name},
            "metric": {"prometheus": {"query": QUERY}, "capacityPerReplica": CAPACITY},
            "forecast": {
                "model": "seasonal-naive",
                "history": "3d",
                "step": "1m",
                "horizon": "2h",
                "quantile": 0.9,
            },
            "scaling": {
                # Pods serve at once: the floor covers the next minutes, placeholders the rest of the ramp.
                "startupSeconds": 0,
                "minReplicas": 1,
                "maxReplicas": 40,
                "headroom": {
                    "enabled": True,
                    "priorityClassName": priority_class,
                    "cpuPerReplica": CPU_PER_POD,
                    "memoryPerReplica": "1Gi",
                },
            },
        },
    }


def _pods(api: client.ApiClient, namespace: str, selector: str) -> list[client.V1Pod]:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector).items
    return [p for p in pods if p.metadata.deletion_timestamp is None]


def _running(pods: list[client.V1Pod]) -> list[client.V1Pod]:
    return [p for p in pods if p.status.phase == "Running" and p.spec.node_name]


def _status(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    body = client.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return dict(body.get("status") or {})


@pytest.fixture
def app(api: client.ApiClient, demo_namespace: str) -> Iterator[str]:
    name = f"surge-{uuid.uuid4().hex[:6]}"
    _workload(api, demo_namespace, name)
    yield name
    for delete in (
        lambda: client.CustomObjectsApi(api).delete_namespaced_custom_object(
            GROUP, VERSION, demo_namespace, PLURAL, name
        ),
        lambda: client.AutoscalingV2Api(api).delete_namespaced_horizontal_pod_autoscaler(
            name, demo_namespace
        ),
        lambda: client.AppsV1Api(api).delete_namespaced_deployment(name, demo_namespace),
    ):
        try:
            delete()
        except ApiException as exc:
            if exc.status != 404:
                raise
    # Placeholders are owned by the scaler: the garbage collector removes them with it.
    wait_for(lambda: not _pods(api, demo_namespace, f"{HEADROOM_LABEL}={name}"), 60, what="placeholders gone")


@pytest.fixture
def big_pool(devcluster: DevCluster) -> Iterator[list[str]]:
    """Filled in by the test once it knows how many nodes make the pool exactly full; deleted after."""
    names: list[str] = []
    yield names
    devcluster.delete_nodes(names, missing_ok=True)


def test_no_placeholders_in_a_namespace_that_did_not_opt_in(
    api: client.ApiClient,
    operator: OperatorProcess,
    demo_namespace: str,
    headroom_priority_class: str,
    app: str,
) -> None:
    labels = client.CoreV1Api(api).read_namespace(demo_namespace).metadata.labels or {}
    assert NAMESPACE_OPT_IN_LABEL not in labels
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, demo_namespace, PLURAL, _scaler(app, headroom_priority_class)
    )
    headroom = wait_for(
        lambda: next(
            (c for c in _status(api, demo_namespace, app).get("conditions", []) if c["type"] == "Headroom"),
            None,
        ),
        180,
        what="the Headroom condition",
    )
    assert headroom["status"] == "False" and headroom["reason"] == "NamespaceNotOptedIn"
    assert NAMESPACE_OPT_IN_LABEL in headroom["message"]
    assert _status(api, demo_namespace, app).get("appliedMinReplicas")  # the floor is still steered
    assert not _pods(api, demo_namespace, f"{HEADROOM_LABEL}={app}")


def test_real_pods_preempt_placeholders_on_a_full_cluster(
    api: client.ApiClient,
    devcluster: DevCluster,
    operator: OperatorProcess,
    demo_namespace: str,
    headroom_opt_in: str,
    headroom_priority_class: str,
    app: str,
    big_pool: list[str],
) -> None:
    core = client.CoreV1Api(api)
    placeholders = f"{HEADROOM_LABEL}={app}"
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, demo_namespace, PLURAL, _scaler(app, headroom_priority_class)
    )
    # Ahead of the ramp: a floor for now, and placeholders for the rest of the forecast peak.
    status = wait_for(
        lambda: (s := _status(api, demo_namespace, app)).get("appliedMinReplicas") and s,
        180,
        what="a floor applied by the operator",
    )
    reserved = wait_for(lambda: _pods(api, demo_namespace, placeholders), 60, what="placeholder pods")
    assert all(
        p.spec.priority < 0 and p.spec.priority_class_name == headroom_priority_class for p in reserved
    )
    floor = status["appliedMinReplicas"]

    # Room for exactly the floor and the placeholders: the pool is full, the placeholders hold real room.
    big_pool += devcluster.create_nodes(
        floor + len(reserved), prefix=f"big-{uuid.uuid4().hex[:5]}", cpu=POOL_NODE_CPU, memory="64Gi"
    )
    wait_for(
        lambda: len(_running(_pods(api, demo_namespace, f"app={app}"))) >= floor,
        120,
        what=f"{floor} real pods Running",
    )

    def settled() -> list[client.V1Pod]:
        """Running placeholders, once each one has a node or the pool is full (the forecast may move)."""
        wanted = _pods(api, demo_namespace, placeholders)
        running = _running(wanted)
        real = _running(_pods(api, demo_namespace, f"app={app}"))
        full = len(running) + len(real) == len(big_pool)
        return running if running and (full or len(running) == len(wanted)) else []

    wait_for(settled, 120, what="placeholders Running on the rest of the pool")
    # Only the scheduler may remove a placeholder from here: the operator is stopped until the surge is over.
    operator.stop()
    held = settled()
    assert held and {p.spec.node_name for p in held} <= set(big_pool)
    held_uids = {p.metadata.uid for p in held}

    # The surge: the workload needs every pool node now (as an HPA would scale it on a real load spike).
    client.AppsV1Api(api).patch_namespaced_deployment_scale(
        app, demo_namespace, {"spec": {"replicas": len(big_pool)}}
    )
    wait_for(
        lambda: len(_running(_pods(api, demo_namespace, f"app={app}"))) == len(big_pool),
        120,
        what=f"{len(big_pool)} real pods Running",
    )
    assert {p.spec.node_name for p in _running(_pods(api, demo_namespace, f"app={app}"))} == set(big_pool)

    # The scheduler preempted every placeholder that held room (its own event on each victim).
    def preempted() -> set[str]:
        events = core.list_namespaced_event(demo_namespace, field_selector="reason=Preempted").items
        return {e.involved_object.uid for e in events if e.involved_object.uid in held_uids}

    wait_for(lambda: preempted() == held_uids, 30, what=f"Preempted events for {len(held_uids)} placeholders")
    left = {p.metadata.uid for p in _pods(api, demo_namespace, placeholders)}
    assert not left & held_uids, "a preempted placeholder is still there"

    # Back up, the operator keeps reserving (it recreates the placeholders), but they wait Pending: they
    # never preempt anything, and the real pods keep every node.
    operator.start()
    again = wait_for(lambda: _pods(api, demo_namespace, placeholders), 60, what="placeholders recreated")
    assert not _running(again) and not {p.metadata.uid for p in again} & held_uids
    assert len(_running(_pods(api, demo_namespace, f"app={app}"))) == len(big_pool)
