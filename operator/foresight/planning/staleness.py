"""How far a scaler's forecast can be trusted: the history behind it, and the age of the last good one.

:func:`confidence` grades a forecast by how much history it was made from. :func:`stale_floor` is the
rule for a metric source that fails: the floor the last good forecast set stays for a bounded time (a
scrape outage must not drop capacity ahead of a surge), after which the HPA gets its own floor back
(a floor nobody re-checks must not stay raised forever). Pure: the caller passes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = [
    "COLD_START_HOURS",
    "LOW_CONFIDENCE_HOURS",
    "Confidence",
    "StaleFloor",
    "confidence",
    "stale_floor",
]

Confidence = Literal["cold-start", "low", "normal"]
COLD_START_HOURS = 6.0
"""Below this much history the models have seen only a quarter of a day: little more than the recent level."""
LOW_CONFIDENCE_HOURS = 48.0
"""Below this much history a daily pattern has been seen at most once, and one day may be a one-off."""


def confidence(history_seconds: float) -> Confidence:
    """How much to trust a forecast made from ``history_seconds`` of readings.

    >>> confidence(3600), confidence(24 * 3600), confidence(7 * 24 * 3600)
    ('cold-start', 'low', 'normal')
    """
    hours = history_seconds / 3600
    return "cold-start" if hours < COLD_START_HOURS else "low" if hours < LOW_CONFIDENCE_HOURS else "normal"


@dataclass(frozen=True)
class StaleFloor:
    """What to do with the floor while the metric source fails.

    ``keep``: leave the last good floor in place; otherwise restore the HPA's original floor.
    ``age_seconds`` is the age of the last good decision (infinite when there never was one).
    """

    keep: bool
    age_seconds: float
    limit_seconds: int

    def message(self, error: str, restored: bool) -> str:
        """The Degraded condition's message, given whether a restore changed the HPA.

        >>> StaleFloor(True, 120.4, 900).message("connection refused", restored=False)
        'connection refused; keeping the last good floor (120s old, limit 900s)'
        >>> StaleFloor(False, float("inf"), 900).message("connection refused", restored=True)
        'connection refused; no good forecast yet, original HPA floor restored'
        """
        if self.keep:
            age = int(self.age_seconds)
            return f"{error}; keeping the last good floor ({age}s old, limit {self.limit_seconds}s)"
        if self.age_seconds == float("inf"):
            what = "no good forecast yet"
        else:
            what = f"no good forecast for {int(self.age_seconds)}s (limit {self.limit_seconds}s)"
        action = "original HPA floor restored" if restored else "HPA floor left as the HPA's own"
        return f"{error}; {what}, {action}"


def stale_floor(last_good: datetime | None, now: datetime, limit_seconds: float) -> StaleFloor:
    """Keep the last good decision's floor (made at ``last_good``) for at most ``limit_seconds``.

    >>> from datetime import UTC, timedelta
    >>> now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    >>> stale_floor(now - timedelta(minutes=5), now, 600).keep
    True
    >>> stale_floor(now - timedelta(minutes=11), now, 600)
    StaleFloor(keep=False, age_seconds=660.0, limit_seconds=600)
    >>> stale_floor(None, now, 600).keep
    False
    """
    age = (now - last_good).total_seconds() if last_good is not None else float("inf")
    return StaleFloor(keep=age <= limit_seconds, age_seconds=age, limit_seconds=int(limit_seconds))
