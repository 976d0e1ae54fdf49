"""The demo's scenario: the accelerated trace, the manifests with Foresight's defaults, kwok's stages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from foresight.api.v1alpha1 import PredictiveScalerSpec
from foresight.demo import scenario
from foresight.devcluster import trace as trace_mod

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NASA = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "load" / scenario.TRACE_FILE


def test_acceleration_keeps_the_log_and_its_request_count() -> None:
    t0 = scenario.NOW_AT
    samples = [(t0 + timedelta(minutes=m), float(10 + m)) for m in range(-3, 4)]
    fast = list(scenario.accelerated(samples))
    # One trace minute per second, on both sides of "now", and the same requests in a sixtieth of the time.
    assert [(at - t0).total_seconds() for at, _ in fast] == [-3, -2, -1, 0, 1, 2, 3]
    assert [v / scenario.ACCELERATION for _, v in fast] == [v for _, v in samples]
    assert scenario.requests_per_second(fast[3][1]) == samples[3][1]  # the log's req/min are req/s


def test_wall_and_trace_time_are_inverse() -> None:
    anchor = datetime(2030, 5, 1, 12, tzinfo=UTC)
    at = datetime(1995, 8, 10, 11, 45, tzinfo=UTC)
    assert scenario.trace_time(scenario.wall_time(at, anchor), anchor) == at
    assert scenario.wall_time(scenario.END_AT, anchor) - anchor == timedelta(minutes=8)


@pytest.mark.skipif(not NASA.exists(), reason="needs the shared NASA trace")
def test_the_window_holds_a_real_surge() -> None:
    trace = trace_mod.load_csv(NASA)

    def mean(start: datetime, minutes: int) -> float:
        values = [s.value for s in trace.samples if start <= s.at < start + timedelta(minutes=minutes)]
        return sum(values) / len(values)

    early = mean(scenario.NOW_AT, 120)
    late = mean(scenario.END_AT - timedelta(hours=1), 60)
    assert late >= 2.5 * early  # the morning ramp: more than twice the early load
    peak = max(s.value for s in trace.samples if scenario.NOW_AT <= s.at <= scenario.END_AT)
    assert scenario.replicas_needed(early) <= 5 and scenario.replicas_needed(peak) >= 15


def test_the_scaler_sets_no_foresight_knob() -> None:
    bodies = scenario.manifests(EXAMPLES, initial_replicas=6)
    scaler = next(b for b in bodies if b["kind"] == "PredictiveScaler")
    spec = PredictiveScalerSpec.model_validate(scaler["spec"])
    defaults = PredictiveScalerSpec.model_validate(
        {**scaler["spec"], "forecast": {}, "scaling": {"maxReplicas": scenario.MAX_REPLICAS}}
    )
    # The forecast's one field is a fact of the replay: its day lasts 24 minutes (1d / 60).
    assert scaler["spec"]["forecast"] == {"season": "24m"} and scenario.ACCELERATION == 60
    assert spec.forecast.model_copy(update={"season": "1d"}) == defaults.forecast
    assert spec.scaling.scale_down == defaults.scaling.scale_down
    assert spec.scaling.min_replicas == defaults.scaling.min_replicas
    # Only the workload's facts: its metric, capacity, start-up time, size and day.
    assert spec.scaling.startup_seconds == scenario.STARTUP_SECONDS
    assert spec.metric.capacity_per_replica == scenario.CAPACITY_PER_REPLICA
    assert spec.metric.prometheus.query == scenario.QUERY


def test_manifests_start_from_the_hpa_steady_state_and_keep_its_floor() -> None:
    bodies = {f"{b['kind']}/{b['metadata']['name']}": b for b in scenario.manifests(EXAMPLES, 6)}
    assert next(iter(bodies)) == "Namespace/demo"
    assert bodies["Deployment/web"]["spec"]["replicas"] == 6
    hpa = bodies["HorizontalPodAutoscaler/web"]["spec"]
    assert hpa["minReplicas"] == scenario.ORIGINAL_FLOOR and hpa["maxReplicas"] == scenario.MAX_REPLICAS
    target = hpa["metrics"][0]["resource"]["target"]["averageUtilization"]
    assert target / 100 == scenario.HPA_TARGET_UTILIZATION  # the counterfactual HPA uses the same target
    assert bodies["FailoverPolicy/workers"] == scenario.load_examples(EXAMPLES)["FailoverPolicy/workers"]


def test_pod_stages_replace_the_instant_ready_stage() -> None:
    stock = "\n---\n".join(
        yaml.safe_dump({"kind": "Stage", "metadata": {"name": n}, "spec": {}})
        for n in ("node-initialize", "pod-ready", "pod-delete")
    )
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(scenario.stages_file(stock, 45))]
    assert names == ["node-initialize", "pod-delete", "pod-start", "pod-ready-after-start-up"]
    start, ready = scenario.pod_stages(45)
    # Running at once, but not Ready: the Ready stage only matches a pod whose Ready is False.
    assert "phase: Running" in start["spec"]["next"]["statusTemplate"]
    assert 'status: "False"\n  type: Ready' in start["spec"]["next"]["statusTemplate"]
    keys = [e["key"] for e in ready["spec"]["selector"]["matchExpressions"]]
    assert '.status.conditions.[] | select( .type == "Ready" ) | .status' in keys
    assert ready["spec"]["delay"] == {"durationMilliseconds": 45_000}
    assert ready["spec"]["next"]["event"]["reason"] == scenario.READY_EVENT_REASON


STOCK_NOT_READY = """\
{{ $now := Now }}
{{ $lastTransitionTime := or .metadata.creationTimestamp $now }}
conditions:
{{ range NodeConditions }}
{{ if eq .type "Ready" }}
- lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $lastTransitionTime | Quote }}
  status: "False"
{{ else }}
- lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $lastTransitionTime | Quote }}
{{ end }}
{{ end }}
"""


def test_not_ready_is_dated_at_the_failure_not_at_the_node_creation() -> None:
    fixed = scenario.not_ready_from_now(STOCK_NOT_READY)
    ready_block, other_block = fixed.split("{{ else }}")
    assert "lastTransitionTime: {{ $readyTransition | Quote }}" in ready_block
    assert "$readyTransition" not in other_block  # other conditions keep kwok's behaviour
    # Re-applied every second, it keeps the time Ready first went False.
    assert "{{ $readyTransition = .lastTransitionTime }}" in fixed
    assert scenario.not_ready_from_now("something else") == "something else"
