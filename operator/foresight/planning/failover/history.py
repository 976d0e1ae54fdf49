"""A node's failure history: when its Ready condition left ``True`` and when it came back.

The recurrence hazard (:mod:`foresight.planning.failover.risk`) reads it. It is kept in an annotation on
the node, so that it outlives the operator process and any one policy, and it is updated level-based from
each look at the node's Ready condition (:func:`update_failure_history`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from foresight.planning.failover._timestamps import iso
from foresight.planning.failover.observations import NodeObservation

__all__ = [
    "FAILURE_HISTORY_ANNOTATION",
    "FAILURE_HISTORY_LIMIT",
    "NODE_STARTUP_GRACE",
    "FailureHistory",
    "decode_failure_history",
    "encode_failure_history",
    "update_failure_history",
]

# Each node's failure history lives on the node (it outlives the operator process and any one policy).
FAILURE_HISTORY_ANNOTATION = "foresight.dev/failure-history"
# Failures kept per node. The recurrence hazard needs only the latest recovery and the flap count only the
# last day, so a short tail holds everything the risk model reads while keeping the annotation small.
FAILURE_HISTORY_LIMIT = 10
# A node reports Ready=False from registration until its kubelet is up, and the node lifecycle controller
# marks a node that never reported Unknown after its grace period (40-50 s): a Ready condition that left
# True this soon after the node was created is a node joining, not a failure.
NODE_STARTUP_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class FailureHistory:
    """Past failures of one node: ``(started, recovered)``; ``recovered`` is ``None`` while still down."""

    failures: Sequence[tuple[datetime, datetime | None]] = ()

    @classmethod
    def of_times(cls, started: Iterable[datetime]) -> FailureHistory:
        """History from start times only (recovery unknown: the start stands in for it)."""
        return cls(tuple((t, t) for t in started))

    @property
    def not_ready_transitions(self) -> tuple[datetime, ...]:
        """When each failure began (the Ready condition left ``True``)."""
        return tuple(started for started, _ in self.failures)


def encode_failure_history(history: FailureHistory, limit: int = FAILURE_HISTORY_LIMIT) -> str:
    """The annotation value: the latest ``limit`` failures, oldest first, compact JSON (whole seconds, UTC).

    ``down`` is when Ready left ``True``; ``up`` when it came back, absent while the node is still down.

    >>> t = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    >>> history = FailureHistory(((t, t + timedelta(minutes=5)), (t + timedelta(hours=1), None)))
    >>> encode_failure_history(history)
    '[{"down":"2025-01-01T12:00:00Z","up":"2025-01-01T12:05:00Z"},{"down":"2025-01-01T13:00:00Z"}]'
    """
    entries = []
    for started, recovered in sorted(history.failures, key=lambda f: f[0])[-limit:] if limit > 0 else []:
        entry = {"down": _utc_seconds(started)}
        if recovered is not None:
            entry["up"] = _utc_seconds(recovered)
        entries.append(entry)
    return json.dumps(entries, separators=(",", ":"))


def decode_failure_history(text: str | None, limit: int = FAILURE_HISTORY_LIMIT) -> FailureHistory:
    """The history an annotation holds; unreadable entries are dropped (people can edit annotations).

    Only the latest ``limit`` failures are kept, oldest first; an ``up`` before its ``down`` is unknown.

    >>> decode_failure_history('[{"down":"2025-01-01T12:00:00Z"}, {"down":"yesterday"}, 7]').failures
    ((datetime.datetime(2025, 1, 1, 12, 0, tzinfo=datetime.timezone.utc), None),)
    >>> decode_failure_history("not json").failures
    ()
    """
    try:
        entries = json.loads(text) if text else []
    except ValueError:
        return FailureHistory()
    failures: list[tuple[datetime, datetime | None]] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        started = _parse_time(entry.get("down"))
        if started is None:
            continue
        recovered = _parse_time(entry.get("up"))
        failures.append((started, recovered if recovered is not None and recovered >= started else None))
    failures.sort(key=lambda f: f[0])
    return FailureHistory(tuple(failures[-limit:]) if limit > 0 else ())


def update_failure_history(
    history: FailureHistory,
    node: NodeObservation,
    now: datetime,
    *,
    seen_ready: bool = False,
    limit: int = FAILURE_HISTORY_LIMIT,
) -> FailureHistory:
    """The node's history after one look at its Ready condition.

    Level-based, so a controller that restarts (or missed a tick) resumes from the stored history: a
    node not Ready opens a failure at the Ready transition unless one is open or already covers that
    time; a Ready node closes the open failure at the transition. A Ready condition that left ``True``
    within :data:`NODE_STARTUP_GRACE` of the node's creation is a node joining, unless ``seen_ready``
    (the caller saw this node Ready before).
    """
    failures = sorted(history.failures, key=lambda f: f[0])
    ready = node.condition("Ready")
    changed = (ready.last_transition_time if ready is not None else None) or now
    still_down = bool(failures) and failures[-1][1] is None
    if node.ready:
        if still_down:
            started = failures[-1][0]
            failures[-1] = (started, max(changed, started))
    elif not still_down:
        latest = max((recovered or started for started, recovered in failures), default=None)
        joining = node.created is not None and changed - node.created < NODE_STARTUP_GRACE
        if (latest is None or changed > latest) and (seen_ready or not joining):
            failures.append((changed, None))
    return FailureHistory(tuple(failures[-limit:]) if limit > 0 else ())


def _utc_seconds(t: datetime) -> str:
    return iso(t.astimezone(UTC).replace(microsecond=0))


def _parse_time(value: object) -> datetime | None:
    """An RFC 3339 time with a zone, or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # Python 3.11 reads the "Z" itself
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
