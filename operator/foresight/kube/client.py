"""One Kubernetes API client per process: in-cluster credentials, else the kubeconfig.

Calls return plain dicts (the JSON the API sent), so the rest of the code never depends on the
generated model classes; ``ApiException`` is translated into a few meaningful exceptions.
:func:`patch_with_retry` is the one read-patch-write loop for objects guarded by ``resourceVersion``.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import kopf
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from foresight import logs
from foresight.api import GROUP
from foresight.api.v1alpha1 import VERSION

T = TypeVar("T")
CONFLICT_ATTEMPTS = 3
"""Writes tried per change: a conflict that repeats this often is a writer fighting us, not a race."""
CONFLICT_DELAY_SECONDS = 5.0
"""How long kopf waits before retrying a handler whose writes kept conflicting."""
log = logs.get(__name__)


class NotFound(Exception):
    """The object does not exist (any more)."""


class Conflict(Exception):
    """The object changed since it was read (HTTP 409): re-read and try again."""


class TooManyRequests(Exception):
    """The API refused for now (HTTP 429), e.g. an eviction a PodDisruptionBudget forbids."""


class Refused(Exception):
    """The API refused the request (HTTP 403 or 422): RBAC, an admission policy, or validation."""


class KeptChanging(kopf.TemporaryError):
    """Every write of a change met a conflict: it may heal, so kopf retries the handler after a delay."""


def patch_with_retry(
    read: Callable[[], T],
    patch_for: Callable[[T], dict[str, Any] | None],
    write: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    what: str,
    known: T | None = None,
    attempts: int = CONFLICT_ATTEMPTS,
) -> dict[str, Any] | None:
    """Write ``patch_for(current)`` with optimistic concurrency: on 409 read again and rebuild the patch.

    ``known`` is the object as already read, used for the first attempt. Returns what ``write`` returned,
    or ``None`` when ``patch_for`` finds nothing to change. Raises :class:`KeptChanging` when all
    ``attempts`` conflict; whatever ``read``, ``patch_for`` or ``write`` raise otherwise goes through.

    >>> node = {"metadata": {"resourceVersion": "7"}, "spec": {}}
    >>> def cordon(node):
    ...     if node["spec"].get("unschedulable"):
    ...         return None
    ...     return {"metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
    ...             "spec": {"unschedulable": True}}
    >>> patch_with_retry(lambda: node, cordon, lambda patch: patch, what="node n0")["spec"]
    {'unschedulable': True}
    >>> cordoned = {"spec": {"unschedulable": True}}
    >>> patch_with_retry(lambda: cordoned, cordon, lambda patch: patch, what="node n0") is None
    True
    """
    current = known
    for attempt in range(attempts):
        if current is None or attempt > 0:
            current = read()
        patch = patch_for(current)
        if patch is None:
            return None
        try:
            return write(patch)
        except Conflict:
            log.info("object changed while patching, retrying", object=what, attempt=attempt + 1)
    raise KeptChanging(f"{what} kept changing: {attempts} conflicting writes", delay=CONFLICT_DELAY_SECONDS)


@functools.cache
def api_client() -> client.ApiClient:
    """The shared API client (configured on first use)."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        # Read KUBECONFIG now: the client library reads it once, at import time.
        config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
    return client.ApiClient()


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        response = fn(*args, _preload_content=False, **kwargs)
    except ApiException as exc:
        if exc.status == 404:
            raise NotFound(_message(exc)) from exc
        if exc.status == 409:
            raise Conflict(_message(exc)) from exc
        if exc.status == 429:
            raise TooManyRequests(_message(exc)) from exc
        if exc.status in (403, 422):
            raise Refused(_message(exc)) from exc
        raise
    data = response.data
    return json.loads(data) if data else {}


def _message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message", exc.reason))
    except (TypeError, ValueError):
        return str(exc.reason)


def get_hpa(namespace: str, name: str) -> dict[str, Any]:
    """Read an HPA (autoscaling/v2)."""
    return _call(
        client.AutoscalingV2Api(api_client()).read_namespaced_horizontal_pod_autoscaler, name, namespace
    )


def patch_hpa(namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Merge-patch an HPA; a stale ``metadata.resourceVersion`` in the patch raises ``Conflict``."""
    api = client.AutoscalingV2Api(api_client())
    return _call(api.patch_namespaced_horizontal_pod_autoscaler, name, namespace, patch)


def create_hpa(namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Create an HPA."""
    api = client.AutoscalingV2Api(api_client())
    return _call(api.create_namespaced_horizontal_pod_autoscaler, namespace, manifest)


def get_workload(namespace: str, kind: str, name: str) -> dict[str, Any]:
    """Read a Deployment or StatefulSet."""
    api = client.AppsV1Api(api_client())
    reader = api.read_namespaced_deployment if kind == "Deployment" else api.read_namespaced_stateful_set
    return _call(reader, name, namespace)


def patch_status(plural: str, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
    """Merge-patch the status subresource of one of Foresight's custom resources."""
    api = client.CustomObjectsApi(api_client())
    return _call(
        api.patch_namespaced_custom_object_status, GROUP, VERSION, namespace, plural, name, {"status": status}
    )


def get_secret_value(namespace: str, name: str, key: str) -> str:
    """One key of a Secret, decoded (needs the chart's per-namespace secret-reader Role)."""
    import base64

    secret = _call(client.CoreV1Api(api_client()).read_namespaced_secret, name, namespace)
    encoded = (secret.get("data") or {}).get(key)
    if encoded is None:
        raise NotFound(f"key {key!r} not in Secret {namespace}/{name}")
    return base64.b64decode(encoded).decode().strip()


def list_nodes(label_selector: str = "") -> list[dict[str, Any]]:
    """Nodes matching a label selector."""
    return list(_call(client.CoreV1Api(api_client()).list_node, label_selector=label_selector)["items"])


def list_pods(field_selector: str = "", label_selector: str = "") -> list[dict[str, Any]]:
    """Pods in all namespaces matching the selectors."""
    api = client.CoreV1Api(api_client())
    return list(
        _call(api.list_pod_for_all_namespaces, field_selector=field_selector, label_selector=label_selector)[
            "items"
        ]
    )


def list_namespaces(label_selector: str = "") -> list[dict[str, Any]]:
    """Namespaces matching a label selector."""
    return list(_call(client.CoreV1Api(api_client()).list_namespace, label_selector=label_selector)["items"])


def get_namespace(name: str) -> dict[str, Any]:
    """Read a namespace."""
    return _call(client.CoreV1Api(api_client()).read_namespace, name)


def list_pdbs() -> list[dict[str, Any]]:
    """All PodDisruptionBudgets."""
    api = client.PolicyV1Api(api_client())
    return list(_call(api.list_pod_disruption_budget_for_all_namespaces)["items"])


def list_leases(namespace: str = "kube-node-lease") -> list[dict[str, Any]]:
    """Node heartbeat leases."""
    api = client.CoordinationV1Api(api_client())
    return list(_call(api.list_namespaced_lease, namespace)["items"])


def get_node(name: str) -> dict[str, Any]:
    """Read a node."""
    return _call(client.CoreV1Api(api_client()).read_node, name)


def patch_node(name: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Strategic-merge-patch a node (taints carry a resourceVersion to avoid lost updates)."""
    return _call(client.CoreV1Api(api_client()).patch_node, name, patch)


def evict(namespace: str, pod: str) -> None:
    """Evict a pod through the eviction API; ``TooManyRequests`` when a PDB forbids it now."""
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod, "namespace": namespace},
    }
    _call(client.CoreV1Api(api_client()).create_namespaced_pod_eviction, pod, namespace, body)


def create_pod(namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Create a pod (headroom placeholders)."""
    return _call(client.CoreV1Api(api_client()).create_namespaced_pod, namespace, manifest)


def delete_pod(namespace: str, name: str) -> None:
    """Delete a pod; absent is fine."""
    try:
        _call(client.CoreV1Api(api_client()).delete_namespaced_pod, name, namespace)
    except NotFound:
        pass


def custom_objects_api() -> client.CustomObjectsApi:
    """For callers that need list/get of custom resources."""
    return client.CustomObjectsApi(api_client())
