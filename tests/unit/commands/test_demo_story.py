"""The demo's narration of floor changes: each one told with the reason of the decision that made it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from foresight.commands.demo import _Story
from foresight.demo import scenario

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _snap(k: int, hpa_min: int, applied: int, reason: str) -> Any:
    return SimpleNamespace(
        at=T0 + timedelta(seconds=k),
        scaler={"lastDecision": {"time": T0.isoformat(), "reason": reason}, "appliedMinReplicas": applied},
        forecast={},
        hpa_min=hpa_min,
        load_rate=17.0,
        hpa_alone=None,
        ready_pods=5,
        pods_asked=5,
    )


def _told(snaps: list[Any]) -> list[str]:
    lines: list[str] = []
    run = SimpleNamespace(note=lines.append)
    timeline = scenario.Timeline(started_at=T0, anchor=T0, first_decision_at=T0, initial_replicas=5)
    story = _Story(run, timeline)  # type: ignore[arg-type]
    for snap in snaps:
        story._scaling(snap)
    return [line for line in lines if line.startswith("HPA floor")]


def test_a_floor_change_waits_for_the_status_of_its_own_decision() -> None:
    # The operator patches the HPA (11) before its status: the first snapshot still shows the decision of 10.
    told = _told(
        [
            _snap(0, 10, 10, "... → 10 replicas; HPA floor 2 → 10"),
            _snap(1, 11, 10, "... → 10 replicas; HPA floor 10 → 10"),
            _snap(2, 11, 11, "... → 11 replicas; HPA floor 10 → 11"),
        ]
    )
    assert told == ["HPA floor 10 -> 11 at load 17 req/s: ... → 11 replicas; HPA floor 10 → 11"]


def test_a_change_superseded_before_its_status_is_still_told() -> None:
    told = _told(
        [
            _snap(0, 10, 10, "HPA floor 2 → 10"),
            _snap(1, 11, 10, "HPA floor 10 → 10"),
            _snap(2, 12, 12, "HPA floor 11 → 12"),
        ]
    )
    assert told == [
        "HPA floor 10 -> 11 at load 17 req/s",
        "HPA floor 11 -> 12 at load 17 req/s: HPA floor 11 → 12",
    ]
