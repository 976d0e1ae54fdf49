"""Node room ahead of surges: how many placeholder replicas to reserve beyond the lead window.

The HPA floor covers the replicas needed when a pod started now would be ready. A cluster autoscaler
needs longer than a pod to add a node, so Foresight also reserves room for the replicas forecast for
the rest of the horizon with low-priority placeholder pods: the autoscaler adds nodes for them early,
and the real pods preempt them at once when the surge arrives.
"""

from __future__ import annotations

import math

import numpy as np


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
    needed = min(max_replicas, math.ceil(peak / capacity_per_replica))
    return max(0, needed - desired_replicas)
