"""Node room ahead of surges: how many placeholder replicas to reserve beyond the lead window.

The HPA floor covers the replicas needed when a pod started now would be ready. A cluster autoscaler
needs longer than a pod to add a node, so Foresight also reserves room for the replicas forecast for
the rest of the horizon with low-priority placeholder pods: the autoscaler adds nodes for them early,
and the real pods preempt them at once when the surge arrives. :func:`placeholder_changes` turns the
wanted count into the pods to delete and create.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from foresight.planning._scaling import replicas_for

__all__ = ["headroom_replicas", "placeholder_changes"]


def headroom_replicas(
    paths: np.ndarray,
    *,
    capacity_per_replica: float,
    quantile: float,
    desired_replicas: int,
    max_replicas: int,
) -> int:
    """Placeholders to keep: replicas for the horizon's peak (at ``quantile``) beyond those asked for now.

    >>> paths = np.array([[10.0, 20.0, 80.0]] * 10)
    >>> headroom_replicas(paths, capacity_per_replica=10, quantile=0.9, desired_replicas=2, max_replicas=20)
    6
    >>> headroom_replicas(paths, capacity_per_replica=10, quantile=0.9, desired_replicas=2, max_replicas=5)
    3
    """
    peak = float(np.quantile(np.nanmax(paths, axis=1), quantile))
    if not math.isfinite(peak) or peak <= 0:
        return 0
    needed = min(max_replicas, replicas_for(peak, capacity_per_replica))
    return max(0, needed - desired_replicas)


def placeholder_changes(
    existing: Iterable[str], wanted: int, name_for: Callable[[int], str]
) -> tuple[list[str], list[int]]:
    """Which placeholders to delete and which indices to create so that ``wanted`` remain.

    The first ``wanted`` existing names (sorted) stay; new placeholders take the lowest indices whose
    names (``name_for(index)``) no existing pod has, not even one being deleted now.

    >>> name = "web-headroom-{}".format
    >>> placeholder_changes(["web-headroom-2", "web-headroom-0", "web-headroom-1"], 1, name)
    (['web-headroom-1', 'web-headroom-2'], [])
    >>> placeholder_changes(["web-headroom-1"], 3, name)
    ([], [0, 2])
    """
    names = sorted(existing)
    delete = names[wanted:]
    taken = set(names)
    create: list[int] = []
    index = 0
    for _ in range(wanted - len(names[:wanted])):
        while name_for(index) in taken:
            index += 1
        taken.add(name_for(index))
        create.append(index)
    return delete, create
