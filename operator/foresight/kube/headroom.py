"""Placeholder ("headroom") pods: reserve node room for a forecast surge, preempted by real pods."""

from __future__ import annotations

from typing import Any

HEADROOM_LABEL = "foresight.dev/headroom-for"
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"


def placeholder_pod(
    *,
    scaler: str,
    namespace: str,
    index: int,
    priority_class_name: str,
    cpu: str,
    memory: str,
    owner: dict[str, Any],
    template_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A pause pod with the workload's per-replica requests at a priority any real pod preempts.

    It does not tolerate Foresight's failure taint, so it lands (and makes room) on healthy nodes only.

    >>> owner = {"apiVersion": "foresight.dev/v1alpha1", "kind": "PredictiveScaler", "name": "web"}
    >>> pod = placeholder_pod(scaler="web", namespace="demo", index=0, cpu="100m", memory="64Mi",
    ...     priority_class_name="foresight-headroom", owner=owner)
    >>> pod["metadata"]["name"], pod["spec"]["priorityClassName"]
    ('web-headroom-0', 'foresight-headroom')
    """
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{scaler}-headroom-{index}",
            "namespace": namespace,
            "labels": {HEADROOM_LABEL: scaler, "app.kubernetes.io/managed-by": "foresight"},
            "ownerReferences": [{**owner, "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "priorityClassName": priority_class_name,
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "affinity": _spread_like(template_labels),
            "containers": [
                {
                    "name": "pause",
                    "image": PAUSE_IMAGE,
                    "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "runAsNonRoot": True,
                        "runAsUser": 65535,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


def _spread_like(labels: dict[str, str] | None) -> dict[str, Any] | None:
    """Prefer nodes the workload's pods are not on yet, so the reserved room is where new pods go."""
    if not labels:
        return None
    return {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 50,
                    "podAffinityTerm": {
                        "labelSelector": {"matchLabels": labels},
                        "topologyKey": "kubernetes.io/hostname",
                    },
                }
            ]
        }
    }
