"""Status helpers shared by the controllers: conditions, timestamps, validation messages, the tick loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import kopf
from pydantic import BaseModel, ValidationError

from foresight import logs
from foresight.api.v1alpha1 import Condition, set_condition
from foresight.kube import client as kube

ConditionStatus = Literal["True", "False", "Unknown"]
MESSAGE_LIMIT = 1024
"""Longest condition message written: status is for people, and an echo of input must stay bounded."""
SetCondition = Callable[[str, ConditionStatus, str, str], None]
log = logs.get(__name__)


class NotReady(kopf.PermanentError):
    """What a pass cannot get past by retrying it: an invalid spec, a missing target, a refused URL.

    Reported as ``Ready=False`` with ``reason``; the next tick looks again, since the spec or the
    cluster may have changed by then.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _WithConditions(Protocol):
    conditions: list[Condition]


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC, as Kubernetes writes times.

    >>> iso(datetime(2026, 1, 5, 12, 0, 7, 123, tzinfo=UTC))
    '2026-01-05T12:00:07Z'
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition_setter(status: _WithConditions, now: datetime, generation: int | None) -> SetCondition:
    """A function that sets one condition on ``status``, stamped with ``now`` and the generation seen."""

    def set_(type_: str, state: ConditionStatus, reason: str, message: str) -> None:
        status.conditions = set_condition(
            status.conditions,
            Condition(
                type=type_,
                status=state,
                reason=reason,
                message=message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 3] + "...",
                last_transition_time=iso(now),
                observed_generation=generation,
            ),
        )

    return set_


def status_patch(status: BaseModel) -> dict[str, Any]:
    """The merge patch that makes the stored status equal ``status``: empty fields are sent as null.

    A merge patch leaves out keys it does not name, so dropping ``None`` fields would keep their old
    values forever (a floor still shown after dryRun restored the HPA). Inside lists, which a merge
    patch replaces whole, empty fields are simply left out.

    >>> from foresight.api.v1alpha1 import PredictiveScalerStatus
    >>> patch = status_patch(PredictiveScalerStatus(desired_replicas=3))
    >>> patch["desiredReplicas"], patch["appliedMinReplicas"], patch["conditions"]
    (3, None, [])
    """
    return {
        key: _without_none(value) if isinstance(value, list) else value
        for key, value in status.model_dump(by_alias=True, exclude_none=False).items()
    }


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def describe(error: ValidationError) -> str:
    """Every problem of a spec, with its field path in the wire (camelCase) spelling."""
    problems: list[dict[str, Any]] = list(error.errors())  # type: ignore[arg-type]
    return "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in problems)


async def every_tick(
    stopped: kopf.DaemonStopped,
    tick_seconds: float,
    plural: str,
    namespace: str,
    name: str,
    evaluate: Callable[[datetime], Awaitable[BaseModel]],
) -> None:
    """The daemons' loop: evaluate, write the status, wait a tick; until deleted or stopped.

    One bad tick must not end the loop: the next one starts again from what the API says.
    """
    while not stopped:
        try:
            status = await evaluate(datetime.now(UTC))
            await asyncio.to_thread(
                kube.patch_status,
                plural,
                namespace,
                name,
                status_patch(status),
            )
        except kube.NotFound:
            return  # deleted between ticks
        except Exception:
            log.exception("reconcile failed", resource=f"{plural}/{namespace}/{name}")
        await stopped.wait(tick_seconds)
