"""Steering a HorizontalPodAutoscaler's floor without ever leaving it half-changed.

Every change is one merge patch that carries both the new ``minReplicas`` and the annotation with
the values it had before Foresight touched it, guarded by ``resourceVersion`` (a concurrent writer
makes the API answer 409 and the caller re-reads). Restoring is one patch too, which puts the original
values back and removes the annotations. State lives in the HPA itself, so a restarted operator
finds it there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ORIGINAL_ANNOTATION = "foresight.dev/original"
MANAGED_BY_ANNOTATION = "foresight.dev/managed-by"
APPLIED_ANNOTATION = "foresight.dev/applied-min-replicas"


class HpaConflict(Exception):
    """Another controller owns or steers this HPA; Foresight refuses to fight it silently."""


@dataclass(frozen=True)
class HpaState:
    """What Foresight needs to know of an HPA."""

    name: str
    min_replicas: int
    max_replicas: int
    resource_version: str
    managed_by: str | None
    original_min_replicas: int | None
    original_max_replicas: int | None
    applied_min_replicas: int | None
    owner: str | None

    @classmethod
    def from_object(cls, hpa: dict[str, Any]) -> HpaState:
        """Read the relevant fields of an HPA object (a dict as the API returns it).

        >>> HpaState.from_object({"metadata": {"name": "web", "resourceVersion": "7"},
        ...                       "spec": {"maxReplicas": 10}}).min_replicas
        1
        """
        meta = hpa.get("metadata", {})
        annotations = meta.get("annotations") or {}
        original = json.loads(annotations.get(ORIGINAL_ANNOTATION, "{}") or "{}")
        applied = annotations.get(APPLIED_ANNOTATION)
        owners = [
            f"{ref.get('apiVersion')}/{ref.get('kind')} {ref.get('name')}"
            for ref in meta.get("ownerReferences") or []
            if ref.get("controller")
        ]
        return cls(
            name=meta["name"],
            min_replicas=int(hpa["spec"].get("minReplicas") or 1),
            max_replicas=int(hpa["spec"]["maxReplicas"]),
            resource_version=str(meta.get("resourceVersion", "")),
            managed_by=annotations.get(MANAGED_BY_ANNOTATION),
            original_min_replicas=original.get("minReplicas"),
            original_max_replicas=original.get("maxReplicas"),
            applied_min_replicas=int(applied) if applied is not None else None,
            owner=owners[0] if owners else None,
        )

    @property
    def baseline_min_replicas(self) -> int:
        """The floor the HPA had before Foresight (or has now, if Foresight never changed it)."""
        return self.original_min_replicas if self.original_min_replicas is not None else self.min_replicas


def check_can_steer(state: HpaState, scaler: str) -> None:
    """Raise ``HpaConflict`` when another PredictiveScaler or controller (e.g. KEDA) steers this HPA.

    ``scaler`` is ``namespace/name``. An HPA owned by a PredictiveScaler is Foresight's own.

    >>> s = HpaState("web", 2, 10, "1", "demo/other", 2, 10, 4, None)
    >>> check_can_steer(s, "demo/web")
    Traceback (most recent call last):
    ...
    foresight.kube.hpa.HpaConflict: HPA web is already steered by PredictiveScaler demo/other
    """
    if state.managed_by not in (None, scaler):
        raise HpaConflict(f"HPA {state.name} is already steered by PredictiveScaler {state.managed_by}")
    if state.owner is not None and not state.owner.startswith("foresight.dev/"):
        raise HpaConflict(f"HPA {state.name} is controlled by {state.owner}; refusing to change it")


def external_change(state: HpaState) -> str | None:
    """Describe a change of ``minReplicas`` made by someone else since Foresight last applied one.

    >>> external_change(HpaState("web", 7, 10, "1", "demo/web", 2, 10, 4, None))
    'minReplicas was changed from 4 (applied by Foresight) to 7 by another writer'
    """
    if state.managed_by is None or state.applied_min_replicas is None:
        return None
    if state.min_replicas != state.applied_min_replicas:
        return (
            f"minReplicas was changed from {state.applied_min_replicas} (applied by Foresight) "
            f"to {state.min_replicas} by another writer"
        )
    return None


def floor_patch(state: HpaState, scaler: str, floor: int, *, adopt_external: bool = False) -> dict[str, Any]:
    """One merge patch setting ``minReplicas`` and recording the original values atomically.

    With ``adopt_external`` the current (externally set) floor becomes the new original, so a
    user's deliberate change is what gets restored later.

    >>> s = HpaState("web", 2, 10, "41", None, None, None, None, None)
    >>> p = floor_patch(s, "demo/web", 6)
    >>> p["spec"], p["metadata"]["resourceVersion"], p["metadata"]["annotations"]["foresight.dev/original"]
    ({'minReplicas': 6}, '41', '{"minReplicas": 2, "maxReplicas": 10}')
    """
    original: dict[str, int | None]
    if adopt_external or state.original_min_replicas is None:
        original = {"minReplicas": state.min_replicas, "maxReplicas": state.max_replicas}
    else:
        original = {"minReplicas": state.original_min_replicas, "maxReplicas": state.original_max_replicas}
    return {
        "metadata": {
            "resourceVersion": state.resource_version,
            "annotations": {
                ORIGINAL_ANNOTATION: json.dumps(original),
                MANAGED_BY_ANNOTATION: scaler,
                APPLIED_ANNOTATION: str(floor),
            },
        },
        "spec": {"minReplicas": floor},
    }


def restore_patch(state: HpaState) -> dict[str, Any] | None:
    """One merge patch putting the original values back and removing Foresight's annotations.

    >>> restore_patch(HpaState("web", 6, 10, "9", "demo/web", 2, 10, 6, None))["spec"]
    {'minReplicas': 2, 'maxReplicas': 10}
    >>> restore_patch(HpaState("web", 2, 10, "9", None, None, None, None, None)) is None
    True
    """
    if state.managed_by is None and state.original_min_replicas is None:
        return None
    spec: dict[str, Any] = {"minReplicas": state.baseline_min_replicas}
    spec["maxReplicas"] = state.original_max_replicas or state.max_replicas
    return {
        "metadata": {
            "resourceVersion": state.resource_version,
            "annotations": {ORIGINAL_ANNOTATION: None, MANAGED_BY_ANNOTATION: None, APPLIED_ANNOTATION: None},
        },
        "spec": spec,
    }


def owned_hpa_manifest(
    *,
    name: str,
    namespace: str,
    target_kind: str,
    target_name: str,
    min_replicas: int,
    max_replicas: int,
    owner: dict[str, Any],
    cpu_utilization: int = 70,
) -> dict[str, Any]:
    """An HPA Foresight creates and owns when the scaler names none; deleted with the scaler.

    >>> m = owned_hpa_manifest(name="web", namespace="demo", target_kind="Deployment", target_name="web",
    ...     min_replicas=1, max_replicas=5, owner={"apiVersion": "foresight.dev/v1alpha1",
    ...     "kind": "PredictiveScaler", "name": "web", "uid": "u1"})
    >>> m["metadata"]["ownerReferences"][0]["controller"], m["spec"]["scaleTargetRef"]["name"]
    (True, 'web')
    """
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "foresight"},
            "ownerReferences": [{**owner, "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind, "name": target_name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": cpu_utilization},
                    },
                }
            ],
        },
    }
