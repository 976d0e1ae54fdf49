"""Headroom placeholders: how many, rounded like every other replica count, and which pods change."""

from __future__ import annotations

import numpy as np
import pytest

from foresight import planning
from foresight.planning import headroom


def test_headroom_rounds_replicas_as_the_floor_does() -> None:
    """A peak of 1800.0000001 at 120 per replica is 15 replicas for the floor; headroom must agree."""
    paths = np.full((10, 5), 1800.0000001)
    assert planning.replicas_for(1800.0000001, 120) == 15
    wanted = headroom.headroom_replicas(
        paths, capacity_per_replica=120, quantile=0.9, desired_replicas=10, max_replicas=50
    )
    assert wanted == 5


@pytest.mark.parametrize(
    ("existing", "wanted", "delete", "create"),
    [
        ([], 3, [], [0, 1, 2]),
        (["w-0", "w-1", "w-2"], 3, [], []),
        (["w-2", "w-0", "w-1"], 1, ["w-1", "w-2"], []),
        (["w-0", "w-2"], 4, [], [1, 3]),
        (["w-5"], 0, ["w-5"], []),
    ],
)
def test_placeholder_changes(existing: list[str], wanted: int, delete: list[str], create: list[int]) -> None:
    assert headroom.placeholder_changes(existing, wanted, "w-{}".format) == (delete, create)


def test_placeholder_changes_end_with_exactly_the_wanted_count_and_no_name_twice() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        existing = [f"w-{i}" for i in rng.choice(12, size=int(rng.integers(0, 8)), replace=False)]
        wanted = int(rng.integers(0, 10))
        delete, create = headroom.placeholder_changes(existing, wanted, "w-{}".format)
        kept = [n for n in existing if n not in delete]
        new = [f"w-{i}" for i in create]
        assert len(kept) + len(new) == wanted
        assert not set(new) & set(existing) and len(set(new)) == len(new)
