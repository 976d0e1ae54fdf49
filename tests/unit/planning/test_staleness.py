"""Forecast confidence by history length, and the stale-floor rule while the metric source fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from foresight.planning import staleness

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hours", "expected"),
    [(0, "cold-start"), (5.99, "cold-start"), (6, "low"), (47.9, "low"), (48, "normal"), (24 * 30, "normal")],
)
def test_confidence(hours: float, expected: str) -> None:
    assert staleness.confidence(hours * 3600) == expected


@pytest.mark.parametrize(
    ("age_seconds", "keep"),
    [(0, True), (599, True), (600, True), (601, False)],
)
def test_the_last_good_floor_is_kept_up_to_the_limit_and_no_longer(age_seconds: int, keep: bool) -> None:
    rule = staleness.stale_floor(NOW - timedelta(seconds=age_seconds), NOW, 600)
    assert rule.keep is keep and rule.age_seconds == age_seconds


def test_without_a_good_decision_the_floor_is_not_kept() -> None:
    rule = staleness.stale_floor(None, NOW, 600)
    assert not rule.keep
    message = rule.message("connection refused", restored=False)
    assert message == "connection refused; no good forecast yet, HPA floor left as the HPA's own"


def test_an_expired_floor_says_how_old_it_is() -> None:
    rule = staleness.stale_floor(NOW - timedelta(minutes=11), NOW, 600)
    assert rule.message("timeout", restored=True) == (
        "timeout; no good forecast for 660s (limit 600s), original HPA floor restored"
    )
