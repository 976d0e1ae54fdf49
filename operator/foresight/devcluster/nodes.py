"""Fake (kwok) nodes: manifests, creation, and failure injection.

kwok manages every Node labelled ``type=kwok``: it marks it Ready, renews its lease and makes
pods scheduled onto it Running.  Two ways to break a node, matching two real failure modes:

* :func:`make_not_ready` labels it for kwok's chaos stage, which reports ``Ready=False``
  (a kubelet that is up but unhealthy): the node-lifecycle controller taints it
  ``node.kubernetes.io/not-ready``;
* :func:`stop_heartbeat` takes the node away from kwok, so its lease expires (a dead machine):
  after the node-monitor grace period it goes ``Unknown`` and is tainted
  ``node.kubernetes.io/unreachable``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubernetes import client

from foresight.devcluster._kwok import MANAGED_LABEL, MANAGED_VALUE, NOT_READY_LABEL

ZONE_LABEL = "topology.kubernetes.io/zone"


def node_manifest(
    name: str,
    labels: Mapping[str, str] | None = None,
    cpu: str = "16",
    memory: str = "64Gi",
    pods: int = 110,
    taints: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """A Node object that kwok will manage.

    >>> node_manifest("kwok-0", {"topology.kubernetes.io/zone": "zone-a"})["metadata"]["labels"]["type"]
    'kwok'
    """
    resources = {"cpu": cpu, "memory": memory, "pods": str(pods)}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/agent": "",
                **(labels or {}),
                MANAGED_LABEL: MANAGED_VALUE,
            },
        },
        # No kwok taint: ordinary workloads (and the operator's own chart) schedule here as-is.
        "spec": {"taints": [dict(t) for t in taints]} if taints else {},
        "status": {"capacity": resources, "allocatable": resources},
    }


def create_nodes(
    api: client.ApiClient,
    count: int,
    prefix: str = "kwok-node",
    zones: Sequence[str] = ("zone-a", "zone-b", "zone-c"),
    labels: Mapping[str, str] | None = None,
    cpu: str = "16",
    memory: str = "64Gi",
    taints: Sequence[Mapping[str, str]] = (),
) -> list[str]:
    """Create ``count`` kwok nodes spread round-robin over ``zones``; returns their names."""
    core = client.CoreV1Api(api)
    names = []
    for index in range(count):
        name = f"{prefix}-{index}"
        zone_labels = {ZONE_LABEL: zones[index % len(zones)]} if zones else {}
        # The client serializes plain dicts as they are; the manifest builder stays pure.
        manifest = node_manifest(name, {**zone_labels, **(labels or {})}, cpu, memory, taints=taints)
        core.create_node(manifest)  # type: ignore[arg-type]
        names.append(name)
    return names


def make_not_ready(api: client.ApiClient, name: str) -> None:
    """Have kwok report ``Ready=False`` for ``name`` (its chaos stage)."""
    client.CoreV1Api(api).patch_node(name, {"metadata": {"labels": {NOT_READY_LABEL: "true"}}})


def stop_heartbeat(api: client.ApiClient, name: str) -> None:
    """Take ``name`` away from kwok: no more lease renewals, as if the machine died."""
    client.CoreV1Api(api).patch_node(name, {"metadata": {"labels": {MANAGED_LABEL: None}}})


def is_ready(node: client.V1Node) -> bool:
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def is_schedulable(node: client.V1Node) -> bool:
    """Ready, not cordoned, and free of the node controller's ``node.kubernetes.io/*`` hard taints.

    A node reports Ready a few seconds before the node lifecycle controller lifts its ``not-ready``
    taint; pods created in between skip the node.
    """
    if not is_ready(node) or (node.spec and node.spec.unschedulable):
        return False
    taints = (node.spec.taints if node.spec else None) or []
    return not any(
        t.key.startswith("node.kubernetes.io/") and t.effect in ("NoSchedule", "NoExecute") for t in taints
    )


def taint_keys(node: client.V1Node) -> set[str]:
    return {t.key for t in (node.spec.taints or [])} if node.spec else set()
