"""The chart's FailoverPolicy preset (``failoverPolicy`` in values.yaml) is a valid spec as it ships."""

from __future__ import annotations

from pathlib import Path

import yaml

from foresight.api.v1alpha1 import FailoverPolicySpec
from foresight.api.v1alpha1.failover_policy import DEFAULT_DISK_QUERY

VALUES = Path(__file__).resolve().parents[3] / "charts" / "foresight" / "values.yaml"


def test_the_chart_preset_is_a_valid_failover_policy_spec_reading_smartctl_exporter() -> None:
    preset = yaml.safe_load(VALUES.read_text())["failoverPolicy"]
    assert preset["create"] is False  # opt-in
    spec = FailoverPolicySpec.model_validate({k: v for k, v in preset.items() if k not in ("create", "name")})
    assert spec.mode == "dryRun"
    assert spec.disk_health is not None and spec.disk_health.query == DEFAULT_DISK_QUERY
    assert spec.disk_health.horizon == "7d" and spec.disk_health.failure_probability_threshold is None
    assert [s.query for s in spec.signals] == ["node_memory_MemAvailable_bytes"]
