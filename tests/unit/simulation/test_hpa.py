"""The HPA replay against hand-worked cases of the upstream algorithm."""

from __future__ import annotations

import pytest

from foresight.simulation import HpaConfig, HpaController, replica_count

# capacity 100 per replica at 100 %; loads in the same unit.
REPLICA_CASES = [
    # (id, current, ready, load, target, expected)
    ("ratio 1.5 on 4 ready: ceil(1.5 * 4)", 4, 4, 300, 0.5, 6),
    ("inside tolerance (ratio 1.05): unchanged", 4, 4, 210, 0.5, 4),
    ("just outside tolerance (ratio 1.125): up", 4, 4, 225, 0.5, 5),
    ("scale down: ratio 0.25 on 8", 8, 8, 100, 0.5, 2),
    ("unready pods count as idle on scale-up", 6, 4, 400, 0.5, 8),
    ("unready pods damp a scale-up into tolerance", 6, 4, 310, 0.5, 6),
    ("unready pods ignored on scale-down", 6, 4, 100, 0.5, 2),
    ("no ready pod: no metrics, no change", 3, 0, 500, 0.5, 3),
    ("zero load scales to the floor of one", 4, 4, 0, 0.5, 0),
]


@pytest.mark.parametrize(("current", "ready", "load", "target", "expected"), [c[1:] for c in REPLICA_CASES],
                         ids=[c[0] for c in REPLICA_CASES])  # fmt: skip
def test_replica_count(current: int, ready: int, load: float, target: float, expected: int) -> None:
    assert replica_count(current, ready, load, 100, target) == expected


def test_scale_up_rate_is_max_of_double_or_four_pods_per_sync() -> None:
    hpa = HpaController(HpaConfig(target_utilization=1.0), capacity_per_replica=1)
    replicas, path = 1, []
    for t in range(0, 75, 15):
        replicas = hpa.sync(t, replicas, replicas, (100.0,), 1, 1000)
        path.append(replicas)
    assert path == [5, 10, 20, 40, 80]


def test_scale_down_waits_for_the_300s_window() -> None:
    hpa = HpaController(HpaConfig(target_utilization=1.0), capacity_per_replica=1)
    assert hpa.sync(0, 10, 10, (10.0,), 1, 100) == 10
    downs = [hpa.sync(t, 10, 10, (2.0,), 1, 100) for t in range(15, 300, 15)]
    assert set(downs) == {10}  # the recommendation of 10 at t=0 is inside (t - 300, t]
    assert hpa.sync(300, 10, 10, (2.0,), 1, 100) == 2


def test_min_and_max_replicas_clamp() -> None:
    hpa = HpaController(HpaConfig(target_utilization=1.0), capacity_per_replica=1)
    assert hpa.sync(0, 2, 2, (2.0,), 5, 10) == 5  # below minReplicas: raised before metrics
    assert hpa.sync(15, 5, 5, (500.0,), 5, 10) == 10


def test_highest_metric_wins() -> None:
    hpa = HpaController(HpaConfig(target_utilization=1.0), capacity_per_replica=1)
    assert hpa.sync(0, 4, 4, (4.0, 8.0), 1, 100) == 8


def _scan_sync(history: list[tuple[float, int]], cfg: HpaConfig, now: float, desired: int) -> tuple[int, int]:
    """Stabilization as upstream states it: the lowest/highest recommendation of each window, by a scan."""
    up = min([desired, *(v for t, v in history if t > now - cfg.scale_up_stabilization_seconds)])
    down = max([desired, *(v for t, v in history if t > now - cfg.scale_down_stabilization_seconds)])
    return up, down


@pytest.mark.parametrize("up_window", [0, 60])
def test_stabilization_windows_match_a_scan_of_every_recommendation(up_window: int) -> None:
    """The monotonic queues give what scanning all recommendations of each window gives."""
    import numpy as np

    cfg = HpaConfig(target_utilization=1.0, scale_up_stabilization_seconds=up_window, tolerance=0.0)
    hpa = HpaController(cfg, capacity_per_replica=1)
    rng = np.random.default_rng(3)
    history: list[tuple[float, int]] = []
    for k in range(400):
        now = 15.0 * k
        current = int(rng.integers(1, 40))
        load = float(rng.integers(1, 40))
        desired = replica_count(current, current, load, 1, 1.0, 0.0)
        up, down = _scan_sync(history, cfg, now, desired)
        expected = max(min(min(max(current, up), down), max(2 * current, current + 4), 100), 1)
        assert hpa.sync(now, current, current, (load,), 1, 100) == expected
        history.append((now, desired))
