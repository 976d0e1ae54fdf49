"""Placeholder ("headroom") pods: reserve node room for a forecast surge, preempted by real pods."""

from __future__ import annotations

from typing import Any

HEADROOM_LABEL = "foresight.dev/headroom-for"
# Placeholders are created only in namespaces that opt in with this label (the chart's admission
# policy enforces the same for the operator's ServiceAccount).
NAMESPACE_OPT_IN_LABEL = "foresight.dev/headroom"
NAMESPACE_OPT_IN_VALUE = "enabled"
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
# Foresight's failure taints (FailoverPolicy.spec.taintKey defaults to foresight.dev/failure-predicted).
FAILURE_TAINT_PREFIX = "foresight.dev/"


def placeholder_name(scaler: str, index: int) -> str:
    """The name of a scaler's placeholder number ``index``.

    >>> placeholder_name("web", 3)
    'web-headroom-3'
    """
    return f"{scaler}-headroom-{index}"


def placeholder_pod(
    *,
    scaler: str,
    namespace: str,
    index: int,
    priority_class_name: str,
    cpu: str,
    memory: str,
    owner: dict[str, Any],
    template: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A pause pod with the workload's per-replica requests at a priority any real pod preempts.

    With the workload's pod ``template`` it reserves room where the workload's pods may go: the same
    ``nodeSelector``, node affinity and tolerations, and it prefers nodes none of the workload's pods are
    on yet. It never carries the workload's labels (a Service would route to it). It does not tolerate
    Foresight's failure taints, so it lands (and makes room) on healthy nodes only.

    >>> owner = {"apiVersion": "foresight.dev/v1alpha1", "kind": "PredictiveScaler", "name": "web"}
    >>> pod = placeholder_pod(scaler="web", namespace="demo", index=0, cpu="100m", memory="64Mi",
    ...     priority_class_name="foresight-headroom", owner=owner)
    >>> pod["metadata"]["name"], pod["spec"]["priorityClassName"]
    ('web-headroom-0', 'foresight-headroom')
    >>> template = {"metadata": {"labels": {"app": "web"}}, "spec": {"nodeSelector": {"pool": "web"},
    ...     "tolerations": [{"key": "dedicated", "operator": "Exists"}, {"operator": "Exists"},
    ...                     {"key": "foresight.dev/failure-predicted", "operator": "Exists"}]}}
    >>> pod = placeholder_pod(scaler="web", namespace="demo", index=0, cpu="100m", memory="64Mi",
    ...     priority_class_name="foresight-headroom", owner=owner, template=template)
    >>> pod["spec"]["nodeSelector"], pod["spec"]["tolerations"], "app" in pod["metadata"]["labels"]
    ({'pool': 'web'}, [{'key': 'dedicated', 'operator': 'Exists'}], False)
    """
    pod_spec = (template or {}).get("spec") or {}
    labels = ((template or {}).get("metadata") or {}).get("labels") or None
    affinity = _spread_like(labels) or {}
    tolerations = [t for t in pod_spec.get("tolerations") or [] if not _tolerates_failure(t)]
    node_affinity = (pod_spec.get("affinity") or {}).get("nodeAffinity")
    if node_affinity:
        affinity["nodeAffinity"] = node_affinity
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": placeholder_name(scaler, index),
            "namespace": namespace,
            "labels": {HEADROOM_LABEL: scaler, "app.kubernetes.io/managed-by": "foresight"},
            "ownerReferences": [{**owner, "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "priorityClassName": priority_class_name,
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "affinity": affinity or None,
            "nodeSelector": pod_spec.get("nodeSelector") or None,
            "tolerations": tolerations or None,
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


def namespace_opted_in(namespace: dict[str, Any]) -> bool:
    """Whether a namespace object allows headroom placeholders.

    >>> namespace_opted_in({"metadata": {"labels": {"foresight.dev/headroom": "enabled"}}})
    True
    >>> namespace_opted_in({"metadata": {"name": "kube-system"}})
    False
    """
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    return labels.get(NAMESPACE_OPT_IN_LABEL) == NAMESPACE_OPT_IN_VALUE


def _tolerates_failure(toleration: dict[str, Any]) -> bool:
    """Whether a toleration would let a placeholder onto a node Foresight marked at risk."""
    key = toleration.get("key") or ""
    return not key or key.startswith(FAILURE_TAINT_PREFIX)


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
