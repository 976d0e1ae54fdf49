"""The local control plane behaves like a real cluster where Foresight depends on it.

These are the upstream behaviours the operator builds on: the HPA controller acting on a
raised ``minReplicas`` (predictive scale-up works by raising it), kwok pods becoming Running,
the node-lifecycle controller tainting failed nodes, and the eviction API honouring
PodDisruptionBudgets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from foresight.devcluster import nodes
from foresight.devcluster.handle import DevCluster, wait_for

pytestmark = pytest.mark.integration


def deployment(name: str, replicas: int, cpu_request: str = "100m") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    # kwok never pulls images: any name will do.
                    "containers": [
                        {
                            "name": "web",
                            "image": "example.invalid/web:1",
                            "resources": {"requests": {"cpu": cpu_request}},
                        }
                    ],
                },
            },
        },
    }


# Nodes the failure tests break carry this taint, so no other test's pods land on them.
TEST_ONLY_TAINT = {"key": "foresight.dev/test-only", "value": "failure", "effect": "NoSchedule"}


@pytest.fixture
def doomed_node(devcluster: DevCluster) -> Iterator[str]:
    """A kwok node reserved for one failure test, deleted afterwards."""
    (node,) = devcluster.create_nodes(1, prefix=f"doomed-{uuid.uuid4().hex[:5]}", taints=[TEST_ONLY_TAINT])
    yield node
    devcluster.delete_nodes([node])


def running_pods(core: client.CoreV1Api, namespace: str, app: str) -> list[client.V1Pod]:
    pods = core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return [p for p in pods if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]


def test_hpa_controller_scales_up_when_min_replicas_is_raised(
    api: client.ApiClient, namespace: str, worker_nodes: list[str]
) -> None:
    apps, core, autoscaling = client.AppsV1Api(api), client.CoreV1Api(api), client.AutoscalingV2Api(api)
    apps.create_namespaced_deployment(namespace, deployment("web", 1))  # type: ignore[arg-type]
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}},
                }
            ],
        },
    }
    autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, hpa)  # type: ignore[arg-type]
    wait_for(lambda: len(running_pods(core, namespace, "web")) == 1, 60, what="1 Running pod")

    # There is no metrics API: the controller reports that it cannot compute utilization...
    def scaling_active_reason() -> str | None:
        hpa_status = autoscaling.read_namespaced_horizontal_pod_autoscaler(
            namespace=namespace, name="web"
        ).status
        conditions = hpa_status.conditions or []
        return next((c.reason for c in conditions if c.type == "ScalingActive" and c.status == "False"), None)

    assert wait_for(scaling_active_reason, 60, what="HPA status written") == "FailedGetResourceMetric"

    # ...yet below minReplicas it scales without consulting any metric.
    autoscaling.patch_namespaced_horizontal_pod_autoscaler("web", namespace, {"spec": {"minReplicas": 4}})

    wait_for(lambda: apps.read_namespaced_deployment("web", namespace).spec.replicas == 4, 60, what="spec 4")
    pods = wait_for(
        lambda: len(running_pods(core, namespace, "web")) == 4 and running_pods(core, namespace, "web"), 60
    )
    # Placed by the real scheduler (onto any Ready kwok node; the cluster may be shared).
    assert all(p.spec.node_name for p in pods)
    assert all(p.status.pod_ip for p in pods)
    wait_for(lambda: apps.read_namespaced_deployment("web", namespace).status.ready_replicas == 4, 60)
    status = autoscaling.read_namespaced_horizontal_pod_autoscaler(namespace=namespace, name="web").status
    assert status.desired_replicas == 4


def test_node_reporting_not_ready_is_tainted_and_its_pods_evicted(
    api: client.ApiClient, namespace: str, doomed_node: str
) -> None:
    core = client.CoreV1Api(api)
    node = doomed_node
    pod = {
        "metadata": {"name": "victim"},
        "spec": {
            "nodeName": node,
            "tolerations": [{"key": TEST_ONLY_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [{"name": "c", "image": "example.invalid/c:1"}],
        },
    }
    core.create_namespaced_pod(namespace, pod)  # type: ignore[arg-type]
    wait_for(lambda: core.read_namespaced_pod("victim", namespace).status.phase == "Running", 60)
    tolerations = core.read_namespaced_pod("victim", namespace).spec.tolerations
    # DefaultTolerationSeconds admission uses the API server's short test setting, not 300 s.
    assert {(t.key, t.toleration_seconds) for t in tolerations} >= {
        ("node.kubernetes.io/not-ready", 30),
        ("node.kubernetes.io/unreachable", 30),
    }

    nodes.make_not_ready(api, node)

    wait_for(lambda: not nodes.is_ready(core.read_node(node)), 30, what="Ready=False")
    wait_for(
        lambda: "node.kubernetes.io/not-ready" in nodes.taint_keys(core.read_node(node)),
        60,
        what="not-ready taint from the node-lifecycle controller",
    )
    # After the 30 s toleration the taint-eviction controller deletes the pod.
    wait_for(lambda: _gone_or_terminating(core, namespace, "victim"), 90, what="pod evicted")


def test_node_without_heartbeat_becomes_unreachable(api: client.ApiClient, doomed_node: str) -> None:
    core = client.CoreV1Api(api)
    node = doomed_node

    nodes.stop_heartbeat(api, node)

    def ready_status() -> str:
        conditions = core.read_node(node).status.conditions or []
        return next((c.status for c in conditions if c.type == "Ready"), "")

    # node-monitor-grace-period is 20 s; allow for the lease duration and monitor period too.
    wait_for(lambda: ready_status() == "Unknown", 90, what="Ready=Unknown")
    wait_for(
        lambda: "node.kubernetes.io/unreachable" in nodes.taint_keys(core.read_node(node)),
        60,
        what="unreachable taint",
    )


def _gone_or_terminating(core: client.CoreV1Api, namespace: str, name: str) -> bool:
    try:
        return core.read_namespaced_pod(name, namespace).metadata.deletion_timestamp is not None
    except ApiException as error:
        return error.status == 404


def test_eviction_respects_pod_disruption_budget(
    api: client.ApiClient, namespace: str, worker_nodes: list[str]
) -> None:
    apps, core, policy = client.AppsV1Api(api), client.CoreV1Api(api), client.PolicyV1Api(api)
    apps.create_namespaced_deployment(namespace, deployment("guarded", 2))  # type: ignore[arg-type]
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "guarded"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "guarded"}}},
    }
    policy.create_namespaced_pod_disruption_budget(namespace, pdb)  # type: ignore[arg-type]
    pods = wait_for(
        lambda: (
            len(running_pods(core, namespace, "guarded")) == 2 and running_pods(core, namespace, "guarded")
        ),
        60,
    )

    def budget(allowed: int) -> bool:
        status = policy.read_namespaced_pod_disruption_budget("guarded", namespace).status
        return status.current_healthy == 2 and status.disruptions_allowed == allowed

    wait_for(lambda: budget(0), 60, what="PDB status: 0 disruptions allowed")
    victim = pods[0].metadata.name
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod_eviction(victim, namespace, _eviction(victim, namespace))
    assert refused.value.status == 429
    assert "disruption budget" in refused.value.body

    policy.patch_namespaced_pod_disruption_budget("guarded", namespace, {"spec": {"minAvailable": 1}})
    wait_for(lambda: budget(1), 60, what="PDB status: 1 disruption allowed")
    core.create_namespaced_pod_eviction(victim, namespace, _eviction(victim, namespace))
    wait_for(lambda: _gone_or_terminating(core, namespace, victim), 30, what="evicted pod deleted")


def _eviction(name: str, namespace: str) -> client.V1Eviction:
    return client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=namespace))
