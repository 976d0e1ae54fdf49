"""A node's failure history as stored on the node: encoding, bounds, and the Ready transitions it records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from foresight.api import v1alpha1
from foresight.planning import failover as fo
from foresight.planning.failover.prior import FailurePrior

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=30)


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def node(
    ready: str | None, changed: datetime | None, created: datetime | None = LONG_AGO
) -> fo.NodeObservation:
    conditions = () if ready is None else (fo.NodeCondition("Ready", ready, changed),)  # type: ignore[arg-type]
    return fo.NodeObservation(name="n1", conditions=conditions, created=created)


def history(*failures: tuple[datetime, datetime | None]) -> fo.FailureHistory:
    return fo.FailureHistory(tuple(failures))


# ------------------------------------------------------------------------------------------- encoding


def test_round_trip_keeps_whole_seconds_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    started = datetime(2025, 1, 1, 14, 0, 30, 999_999, tzinfo=plus_two)
    recovered = started + timedelta(minutes=3)
    text = fo.encode_failure_history(history((started, recovered), (started + timedelta(hours=1), None)))
    assert json.loads(text) == [
        {"down": "2025-01-01T12:00:30Z", "up": "2025-01-01T12:03:30Z"},
        {"down": "2025-01-01T13:00:30Z"},
    ]
    decoded = fo.decode_failure_history(text)
    assert decoded.failures == (
        (started.replace(microsecond=0), recovered.replace(microsecond=0)),
        (started.replace(microsecond=0) + timedelta(hours=1), None),
    )
    assert fo.encode_failure_history(decoded) == text


def test_encoding_is_sorted_and_bounded_to_the_latest_failures() -> None:
    failures = [(at(10 * i + 5), at(10 * i)) for i in range(fo.FAILURE_HISTORY_LIMIT + 5)]
    text = fo.encode_failure_history(history(*failures))
    entries = json.loads(text)
    assert len(entries) == fo.FAILURE_HISTORY_LIMIT
    assert entries[-1] == {"down": "2025-01-01T11:55:00Z", "up": "2025-01-01T12:00:00Z"}
    assert [e["down"] for e in entries] == sorted(e["down"] for e in entries)
    # Worst case stays far below the API's 256 KiB for all annotations of an object.
    assert len(text) < 1024
    assert fo.encode_failure_history(history(*failures), limit=2).count("down") == 2


def test_decoding_keeps_only_the_latest_failures() -> None:
    entries = [{"down": f"2025-01-01T{h:02d}:00:00Z", "up": f"2025-01-01T{h:02d}:30:00Z"} for h in range(20)]
    decoded = fo.decode_failure_history(json.dumps(list(reversed(entries))))
    assert len(decoded.failures) == fo.FAILURE_HISTORY_LIMIT
    assert decoded.failures[0][0] == datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
    assert decoded.failures[-1][0] == datetime(2025, 1, 1, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ()),
        ("", ()),
        ("{not json", ()),
        ('{"down": "2025-01-01T12:00:00Z"}', ()),  # not a list
        ('[{"up": "2025-01-01T12:00:00Z"}, "x", 3, null]', ()),  # no start, not objects
        ('[{"down": "2025-01-01T12:00:00"}]', ()),  # no zone: ambiguous, dropped
        ('[{"down": "2025-01-01T12:00:00Z", "up": "soon"}]', ((NOW, None),)),  # unreadable end: still down
        (
            '[{"down": "2025-01-01T12:00:00Z", "up": "2025-01-01T11:00:00Z"}]',
            ((NOW, None),),
        ),  # up before down
        ('[{"down": "2025-01-01T12:00:00+00:00", "extra": 1}]', ((NOW, None),)),
    ],
)
def test_decoding_drops_what_it_cannot_read(
    text: str | None, expected: tuple[tuple[datetime, datetime | None], ...]
) -> None:
    assert fo.decode_failure_history(text).failures == expected


# ----------------------------------------------------------------------------------------- transitions


@pytest.mark.parametrize(
    ("before", "observed", "seen_ready", "after"),
    [
        pytest.param(history(), node("True", LONG_AGO), False, history(), id="healthy"),
        pytest.param(history(), node("False", at(3)), False, history((at(3), None)), id="fails"),
        pytest.param(history(), node("Unknown", at(3)), False, history((at(3), None)), id="lease-expired"),
        pytest.param(
            history((at(3), None)), node("Unknown", at(1)), False, history((at(3), None)), id="still-down"
        ),
        pytest.param(
            history((at(3), None)), node("True", at(1)), False, history((at(3), at(1))), id="recovers"
        ),
        pytest.param(
            history((at(30), at(20))),
            node("False", at(3)),
            False,
            history((at(30), at(20)), (at(3), None)),
            id="fails-again",
        ),
        pytest.param(
            history((at(30), at(20))),
            node("False", at(25)),
            False,
            history((at(30), at(20))),
            id="already-seen",
        ),
        pytest.param(history(), node("False", at(3), created=at(4)), False, history(), id="joining"),
        pytest.param(
            history(), node("False", at(3), created=at(4)), True, history((at(3), None)), id="seen-then-fails"
        ),
        pytest.param(
            history(), node(None, None, created=at(60)), False, history((NOW, None)), id="no-condition"
        ),
        pytest.param(history(), node(None, None, created=at(1)), False, history(), id="no-condition-yet"),
    ],
)
def test_one_look_at_the_ready_condition(
    before: fo.FailureHistory, observed: fo.NodeObservation, seen_ready: bool, after: fo.FailureHistory
) -> None:
    assert fo.update_failure_history(before, observed, NOW, seen_ready=seen_ready) == after


def test_a_restart_resumes_from_the_stored_history() -> None:
    """Each look starts from the annotation, so a new process neither loses nor repeats a failure."""
    stored = fo.encode_failure_history(fo.update_failure_history(history(), node("False", at(3)), at(2)))
    # A new process, first look: the node is still down (no second failure), then comes back.
    down = fo.update_failure_history(fo.decode_failure_history(stored), node("Unknown", at(1)), NOW)
    assert down.failures == ((at(3), None),)
    up = fo.update_failure_history(
        fo.decode_failure_history(fo.encode_failure_history(down)), node("True", NOW), NOW
    )
    assert up.failures == ((at(3), NOW),)
    assert up.not_ready_transitions == (at(3),)


def test_the_history_stays_bounded_as_failures_add_up() -> None:
    h = history()
    for i in range(3 * fo.FAILURE_HISTORY_LIMIT):
        start = LONG_AGO + timedelta(hours=i)
        h = fo.update_failure_history(h, node("False", start), start)
        h = fo.update_failure_history(h, node("True", start + timedelta(minutes=5)), start)
    assert len(h.failures) == fo.FAILURE_HISTORY_LIMIT
    assert h.failures[-1] == (LONG_AGO + timedelta(hours=29), LONG_AGO + timedelta(hours=29, minutes=5))


def test_the_stored_history_drives_the_recurrence_hazard() -> None:
    prior = FailurePrior((0.0, 1.0), (0.4, 0.0), 0.0, {"any_nonzero": 0.0, "all_zero": 0.0})
    spec = v1alpha1.FailoverPolicySpec.model_validate({})
    stored = fo.decode_failure_history('[{"down": "2025-01-01T11:40:00Z", "up": "2025-01-01T11:50:00Z"}]')
    ready = node("True", at(10))
    observed = fo.NodeObservation(
        name="n1", conditions=ready.conditions, not_ready_transitions=stored.not_ready_transitions
    )
    with_history = fo.assess_node(spec, observed, {}, stored, NOW, prior=prior)
    without = fo.assess_node(
        spec,
        fo.NodeObservation(name="n1", conditions=ready.conditions),
        {},
        fo.FailureHistory(),
        NOW,
        prior=prior,
    )
    assert without.failure_probability == 0.0
    assert with_history.failure_probability > 0.05
    assert any("last recovered 10m ago" in r for r in with_history.reasons)


def test_a_node_still_down_is_not_said_to_have_recovered() -> None:
    prior = FailurePrior((0.0, 1.0), (0.4, 0.0), 0.0, {"any_nonzero": 0.0, "all_zero": 0.0})
    spec = v1alpha1.FailoverPolicySpec.model_validate({})
    stored = fo.decode_failure_history('[{"down": "2025-01-01T11:45:00Z"}]')  # no "up": still down
    down = node("False", at(15))
    observed = fo.NodeObservation(name="n1", conditions=down.conditions)
    risk = fo.assess_node(spec, observed, {}, stored, NOW, prior=prior)
    recurrence = [r for r in risk.reasons if "LANL prior" in r]
    assert recurrence and "last recovered" not in recurrence[0]
    assert "down now for 15m" in recurrence[0] and "once back" in recurrence[0]
