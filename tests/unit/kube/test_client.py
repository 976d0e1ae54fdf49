"""The one optimistic-concurrency loop: re-read on 409, rebuild the patch, give up as a kopf retry."""

from __future__ import annotations

from typing import Any

import kopf
import pytest

from foresight.kube import client as kube


class Object:
    """One object with a resourceVersion; ``conflicts`` writers slip in before each of ours."""

    def __init__(self, conflicts: int = 0) -> None:
        self.version = 1
        self.conflicts = conflicts
        self.reads = 0
        self.writes: list[dict[str, Any]] = []

    def read(self) -> dict[str, Any]:
        self.reads += 1
        return {"resourceVersion": str(self.version)}

    def write(self, patch: dict[str, Any]) -> dict[str, Any]:
        if self.conflicts:
            self.conflicts -= 1
            self.version += 1
        if patch["resourceVersion"] != str(self.version):
            raise kube.Conflict("the object has been modified")
        self.version += 1
        self.writes.append(patch)
        return {"resourceVersion": str(self.version)}


def _guarded(current: dict[str, Any]) -> dict[str, Any]:
    return {"resourceVersion": current["resourceVersion"]}


def test_a_conflict_is_read_again_and_written_with_the_new_version() -> None:
    obj = Object(conflicts=2)
    written = kube.patch_with_retry(obj.read, _guarded, obj.write, what="node n0")
    assert written == {"resourceVersion": "4"}
    assert obj.reads == 3 and obj.writes == [{"resourceVersion": "3"}]


def test_an_object_already_read_is_used_for_the_first_attempt_only() -> None:
    obj = Object(conflicts=1)
    kube.patch_with_retry(obj.read, _guarded, obj.write, what="node n0", known={"resourceVersion": "1"})
    assert obj.reads == 1 and len(obj.writes) == 1


def test_nothing_to_change_writes_nothing() -> None:
    obj = Object()
    assert kube.patch_with_retry(obj.read, lambda current: None, obj.write, what="node n0") is None
    assert obj.writes == []


def test_conflicts_on_every_attempt_become_a_kopf_retry_with_a_delay() -> None:
    obj = Object(conflicts=10)
    with pytest.raises(kube.KeptChanging) as raised:
        kube.patch_with_retry(obj.read, _guarded, obj.write, what="HPA web", attempts=3)
    assert isinstance(raised.value, kopf.TemporaryError)
    assert raised.value.delay == kube.CONFLICT_DELAY_SECONDS
    assert "HPA web kept changing" in str(raised.value) and obj.reads == 3 and obj.writes == []


def test_other_errors_are_not_retried() -> None:
    def refuse(patch: dict[str, Any]) -> dict[str, Any]:
        raise kube.NotFound("gone")

    obj = Object()
    with pytest.raises(kube.NotFound):
        kube.patch_with_retry(obj.read, _guarded, refuse, what="node n0")
    assert obj.reads == 1
