"""The status patch: every field that can go back to empty is removed from the stored status.

The API server applies a status patch as a JSON merge patch (RFC 7386): keys the patch does not
name keep their old values. These tests merge the patch the controllers send into a fully
populated stored status, as the API server does, for every optional field of both kinds.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from foresight.api.v1alpha1 import (
    Accuracy,
    Condition,
    Decision,
    FailoverPolicyStatus,
    ForecastSummary,
    OriginalHpa,
    PredictiveScalerStatus,
)
from foresight.handlers._status import MESSAGE_LIMIT, condition_setter, status_patch

from ._merge import merge

NOW = datetime(2026, 1, 5, tzinfo=UTC)
FULL_SCALER = PredictiveScalerStatus(
    observed_generation=3,
    conditions=[Condition(type="Ready", status="True", reason="Applied", message="ok")],
    observed_load=12.5,
    forecast=ForecastSummary(peak_p10=1, peak_p50=2, peak_p90=3, peak_at_quantile=3, confidence="normal"),
    desired_replicas=5,
    applied_min_replicas=5,
    hpa_name="web",
    original_hpa=OriginalHpa(min_replicas=2, max_replicas=30),
    model="auto",
    accuracy=Accuracy(crps=0.1, coverage_90=0.9, under_forecast_rate=0.1, scored_forecasts=3),
    last_decision=Decision(time="2026-01-05T12:00:00Z", desired_replicas=5, floor=5, reason="why"),
)
FULL_POLICY = FailoverPolicyStatus(
    observed_generation=2,
    last_evaluation="2026-01-05T12:00:00Z",
    last_escalation_time="2026-01-05T11:00:00Z",
)


def _optional_fields(model: BaseModel) -> list[str]:
    return [
        name
        for name, field in type(model).model_fields.items()
        if not field.is_required() and field.default is None
    ]


@pytest.mark.parametrize(
    ("full", "field"),
    [(FULL_SCALER, f) for f in _optional_fields(FULL_SCALER)]
    + [(FULL_POLICY, f) for f in _optional_fields(FULL_POLICY)],
)
def test_a_field_set_back_to_empty_is_removed(full: BaseModel, field: str) -> None:
    stored = merge({}, status_patch(full))
    alias = type(full).model_fields[field].alias or field
    assert alias in stored, "the fixture must populate every optional field"
    emptied = full.model_copy(update={field: None})
    assert alias not in merge(stored, status_patch(emptied))


def test_emptied_nested_fields_are_removed_too() -> None:
    stored = merge({}, status_patch(FULL_SCALER))
    update = FULL_SCALER.model_copy(update={"forecast": ForecastSummary(peak_p50=2)})
    assert merge(stored, status_patch(update))["forecast"] == {"peakP50": 2}


def test_list_items_carry_no_nulls() -> None:
    patch = status_patch(FULL_SCALER)
    assert all(None not in condition.values() for condition in patch["conditions"])


def test_condition_messages_are_bounded() -> None:
    status = PredictiveScalerStatus()
    condition_setter(status, NOW, 1)("Ready", "False", "InvalidSpec", "x" * 100_000)
    assert len(status.conditions[0].message) == MESSAGE_LIMIT
