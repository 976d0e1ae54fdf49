"""The demo's scenario: the trace it replays, the manifests it applies, and kwok's pod start-up.

Pure code: manifests and kwok stages are plain dicts, and the accelerated trace is computed from the
shared one, so all of it can be unit-tested without a cluster.

**The surge.** NASA's HTTP log on Thursday 1995-08-10, from 07:00 to 15:00 UTC: the US morning, when
traffic climbs from about 15 to 65 requests per minute, as it does every weekday. The demo replays it
:data:`ACCELERATION` (60) times faster than it happened, history included, so one minute of the log
passes in one second and its requests arrive sixty times as fast: the log's requests per minute are
the demo service's requests per second, and the morning ramp takes about five minutes. Everything
else runs at its real speed: pods take :data:`STARTUP_SECONDS` to become Ready (kwok holds their
readiness), the HPA syncs every 15 s, Prometheus scrapes every second and the load metric is a
one-minute rate.

**The policy.** The PredictiveScaler carries only what describes the workload (its metric, the load
one replica serves, how long a pod takes to start, the most replicas it may have, and that its day lasts
24 minutes on the demo's clock); every Foresight setting is the API's default.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

TRACE_FILE = "nasa_http_1995_requests_per_minute.csv"
NOW_AT = datetime(1995, 8, 10, 7, 0, tzinfo=UTC)
"""Trace time placed on the cluster's clock start: four quiet hours (240 s) before the ramp.

The clock starts at the whole minute before the cluster's Prometheus does, and the demo applies its
workload once the cluster is up: 30-60 s later on an idle machine, more on a busy one. The leaking node is
drained about 70-90 s after that. The drain takes its pods' capacity away for a start-up (60 s): over
before the ramp it costs nothing, during it the load can need those pods. The quiet keeps the drain
before the ramp with a minute or two to spare.
"""
END_AT = datetime(1995, 8, 10, 15, 0, tzinfo=UTC)
"""Trace time at which the narration stops watching the load (the afternoon plateau)."""
ACCELERATION = 60
"""Trace seconds per wall-clock second, history included (an integer: one trace minute per second)."""
SEASON = f"{24 * 60 // ACCELERATION}m"
"""The log's day on the demo's clock (``forecast.season``): 24 minutes at 60 times its speed."""
NAMESPACE = "demo"  # the backfilled trace's `namespace` label: the scaler must live there (tenancy)
APP = "web"
METRIC = "foresight_demo_requests_per_minute"
QUERY = f'sum(avg_over_time({METRIC}{{namespace="demo", service="web"}}[1m])) / 60'
"""The load in requests per second: a one-minute rate of the service's requests per minute."""
RATE_WINDOW_SECONDS = 60
SCRAPE_SECONDS = 1
CAPACITY_PER_REPLICA = 5.0  # requests per second one ready replica serves at its target utilization
STARTUP_SECONDS = 60  # from asking for a pod to it serving: kwok holds readiness this long
MAX_REPLICAS = 40
ORIGINAL_FLOOR = 2  # the HPA's own minReplicas (examples/workload.yaml)
HPA_TARGET_UTILIZATION = 0.7  # examples/workload.yaml: averageUtilization 70
NODE_POOL_LABEL = "foresight.dev/pool"
NODE_POOL = "general"
NODE_PREFIX = "demo-node"
NODE_COUNT = 3
NODE_ZONES = ("zone-a", "zone-b")
MEMORY_SIGNAL = "node_memory_MemAvailable_bytes"
MIB = 2**20
MEMORY_HEALTHY_BYTES = 6144 * MIB
MEMORY_START_BYTES = 2048 * MIB  # the leaking node's free memory when the leak becomes visible
MEMORY_LEAK_BYTES_PER_SECOND = 8 * MIB  # reaches the 256 MiB threshold in under four minutes
MEMORY_THRESHOLD_BYTES = 256 * MIB  # examples/failoverpolicy.yaml; the node "fails" when it gets there
READY_EVENT_REASON = "ContainersReady"
"""Reason of the Event kwok records on a pod when its start-up is over (the API keeps it after the pod)."""


def wall_time(trace_at: datetime, anchor: datetime) -> datetime:
    """When the trace instant ``trace_at`` plays, for a cluster whose trace clock started at ``anchor``.

    >>> anchor = datetime(2030, 1, 1, tzinfo=UTC)
    >>> wall_time(NOW_AT + timedelta(hours=1), anchor).isoformat()
    '2030-01-01T00:01:00+00:00'
    """
    return anchor + (trace_at - NOW_AT) / ACCELERATION


def trace_time(wall: datetime, anchor: datetime) -> datetime:
    """The trace instant that plays at wall-clock time ``wall`` (the inverse of :func:`wall_time`)."""
    return NOW_AT + (wall - anchor) * ACCELERATION


def accelerated(
    samples: Sequence[tuple[datetime, float]], now_at: datetime = NOW_AT, acceleration: int = ACCELERATION
) -> Iterator[tuple[datetime, float]]:
    """The trace on the demo's clock: times pulled towards ``now_at`` and rates sped up alike.

    A trace point ``t`` moves to ``now_at + (t - now_at) / acceleration``; its requests per minute are
    ``acceleration`` times as many per (wall-clock) minute, since the same requests arrive that much
    faster. Nothing else changes: this is the log, played faster.

    >>> t0 = datetime(1995, 8, 10, 8, 30, tzinfo=UTC)
    >>> [(t.isoformat()[11:19], v) for t, v in accelerated([(t0 - timedelta(minutes=2), 3.0), (t0, 5.0)], t0)]
    [('08:29:58', 180.0), ('08:30:00', 300.0)]
    """
    for at, value in samples:
        yield now_at + (at - now_at) / acceleration, value * acceleration


def requests_per_second(per_minute: float) -> float:
    """The demo service's load in requests per second from its requests-per-minute gauge."""
    return per_minute / 60.0


def replicas_needed(load: float, capacity_per_replica: float = CAPACITY_PER_REPLICA) -> int:
    """Fewest ready replicas that serve ``load`` (requests per second).

    >>> replicas_needed(25.0), replicas_needed(25.1), replicas_needed(0.0)
    (5, 6, 0)
    """
    return max(0, math.ceil(load / capacity_per_replica - 1e-9))


def steady_replicas(load: float) -> int:
    """Replicas an HPA at its target utilization holds for a steady ``load``: the demo's starting point.

    >>> steady_replicas(20.0)  # 20 / (5 x 0.7) = 5.7
    6
    """
    return max(ORIGINAL_FLOOR, math.ceil(load / (CAPACITY_PER_REPLICA * HPA_TARGET_UTILIZATION) - 1e-9))


def load_examples(examples: Path) -> dict[str, dict[str, Any]]:
    """Every object in ``examples/*.yaml``, keyed by ``Kind/name``."""
    objects: dict[str, dict[str, Any]] = {}
    for path in sorted(examples.glob("*.yaml")):
        for body in yaml.safe_load_all(path.read_text()):
            if body:
                objects[f"{body['kind']}/{body['metadata']['name']}"] = body
    return objects


def scaler_spec(example: dict[str, Any]) -> dict[str, Any]:
    """The PredictiveScaler's spec: the workload's facts, and no Foresight setting (all defaults).

    The facts: its metric and the load one replica serves, how long a pod takes to start, the most
    replicas it may have, and how long its day lasts on the metric's clock (:data:`SEASON`).

    >>> spec = scaler_spec({"scaleTargetRef": {"kind": "Deployment", "name": "web"},
    ...                     "hpaRef": {"name": "web"}, "forecast": {"model": "auto", "history": "3d"},
    ...                     "scaling": {"minReplicas": 2}})
    >>> sorted(spec), sorted(spec["scaling"])
    (['forecast', 'hpaRef', 'metric', 'scaleTargetRef', 'scaling'], ['maxReplicas', 'startupSeconds'])
    >>> spec["forecast"]
    {'season': '24m'}
    """
    return {
        "scaleTargetRef": copy.deepcopy(example["scaleTargetRef"]),
        "hpaRef": copy.deepcopy(example["hpaRef"]),
        "metric": {"prometheus": {"query": QUERY}, "capacityPerReplica": CAPACITY_PER_REPLICA},
        "forecast": {"season": SEASON},
        "scaling": {"startupSeconds": STARTUP_SECONDS, "maxReplicas": MAX_REPLICAS},
    }


def manifests(examples: Path, initial_replicas: int) -> list[dict[str, Any]]:
    """The examples, in apply order, with the demo's workload: its metric, start-up time and size.

    The Deployment starts at ``initial_replicas`` (what an HPA holds for the early-morning load), the
    HPA keeps its own floor of 2 and gets the scaler's maximum, and the FailoverPolicy is the example's.
    """
    objects = {key: copy.deepcopy(body) for key, body in load_examples(examples).items()}
    scaler = objects["PredictiveScaler/web"]
    scaler["spec"] = scaler_spec(scaler["spec"])
    objects["Deployment/web"]["spec"]["replicas"] = initial_replicas
    objects["HorizontalPodAutoscaler/web"]["spec"]["maxReplicas"] = MAX_REPLICAS
    order = ["Namespace/demo", "Deployment/web", "HorizontalPodAutoscaler/web", "PodDisruptionBudget/web"]
    return [objects[key] for key in order] + [scaler, objects["FailoverPolicy/workers"]]


def pod_stages(startup_seconds: int = STARTUP_SECONDS) -> list[dict[str, Any]]:
    """kwok Stages for pods that start as real ones do: Running at once, Ready ``startup_seconds`` later.

    They replace kwok's stock ``pod-ready`` stage (which makes a pod Ready the moment it is bound). A
    pod's containers run but fail their readiness check until the start-up is over, so the HPA and the
    Deployment count it as not ready, and no Service would send it traffic. The second stage records
    an Event on the pod, which the API keeps after the pod is gone.

    >>> start, ready = pod_stages(45)
    >>> start["metadata"]["name"], ready["spec"]["delay"]["durationMilliseconds"]
    ('pod-start', 45000)
    """
    not_deleted = {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"}
    started = """\
{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  reason: ContainersNotReady
  status: "False"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  reason: ContainersNotReady
  status: "False"
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  restartCount: 0
  started: true
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) \
( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
phase: Running
startTime: {{ $now | Quote }}
"""
    ready = """\
{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: ContainersReady
containerStatuses:
{{ range $c := .status.containerStatuses }}
- image: {{ $c.image | Quote }}
  name: {{ $c.name | Quote }}
  ready: true
  restartCount: 0
  started: true
  state:
    running:
      startedAt: {{ $c.state.running.startedAt | Quote }}
{{ end }}
"""
    return [
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "Stage",
            "metadata": {"name": "pod-start"},
            "spec": {
                "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
                "selector": {
                    "matchExpressions": [not_deleted, {"key": ".status.podIP", "operator": "DoesNotExist"}]
                },
                "next": {"statusTemplate": started},
            },
        },
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "Stage",
            "metadata": {"name": "pod-ready-after-start-up"},
            "spec": {
                "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
                "selector": {
                    "matchExpressions": [
                        not_deleted,
                        {"key": ".status.podIP", "operator": "Exists"},
                        {
                            "key": '.status.conditions.[] | select( .type == "Ready" ) | .status',
                            "operator": "In",
                            "values": ["False"],
                        },
                    ]
                },
                "delay": {"durationMilliseconds": startup_seconds * 1000},
                "next": {
                    "event": {
                        "type": "Normal",
                        "reason": READY_EVENT_REASON,
                        "message": f"readiness check passed after the {startup_seconds} s start-up",
                    },
                    "statusTemplate": ready,
                },
            },
        },
    ]


_STOCK_TRANSITION = "{{ $lastTransitionTime := or .metadata.creationTimestamp $now }}\n"
_READY_FALSE = '{{ if eq .type "Ready" }}\n- lastHeartbeatTime: {{ $now | Quote }}\n'
_KEEP_READY_TRANSITION = (
    "{{ $readyTransition := $now }}\n"
    '{{ range .status.conditions }}{{ if and (eq .type "Ready") (eq .status "False") }}'
    "{{ $readyTransition = .lastTransitionTime }}{{ end }}{{ end }}\n"
)


def not_ready_from_now(template: str) -> str:
    """kwok's node-not-ready template dating Ready's ``lastTransitionTime`` at the failure, not at birth.

    The stock stage writes the node's creation time as the time Ready turned False, so a node that fails
    after minutes looks down since it joined (and the FailoverPolicy records that). Here the transition
    time is the moment the stage first applies, kept as it re-applies. Unknown templates stay as they are.
    """
    stamp = "  lastTransitionTime: {{ $lastTransitionTime | Quote }}\n"
    at = template.find(_READY_FALSE)
    if _STOCK_TRANSITION not in template or at < 0 or template.find(stamp, at) < 0:
        return template
    cut = template.find(stamp, at)
    template = (
        template[:cut]
        + stamp.replace("$lastTransitionTime", "$readyTransition")
        + template[cut + len(stamp) :]
    )
    return template.replace(_STOCK_TRANSITION, _STOCK_TRANSITION + _KEEP_READY_TRANSITION)


def stages_file(stock: str, startup_seconds: int = STARTUP_SECONDS) -> str:
    """kwok's stock stages with the pod-ready stage swapped for :func:`pod_stages` and a node-not-ready
    stage that dates the failure right (:func:`not_ready_from_now`).

    >>> stock = "metadata: {name: node-initialize}\\n---\\nmetadata: {name: pod-ready}\\n"
    >>> [d["metadata"]["name"] for d in yaml.safe_load_all(stages_file(stock))]
    ['node-initialize', 'pod-start', 'pod-ready-after-start-up']
    """
    kept = [d for d in yaml.safe_load_all(stock) if d and d["metadata"]["name"] != "pod-ready"]
    for stage in kept:
        if stage["metadata"]["name"] == "node-not-ready":
            stage["spec"]["next"]["statusTemplate"] = not_ready_from_now(
                stage["spec"]["next"]["statusTemplate"]
            )
    return yaml.safe_dump_all([*kept, *pod_stages(startup_seconds)], sort_keys=False)


@dataclass
class Timeline:
    """What the demo saw happen, in wall-clock time (filled in while it runs)."""

    started_at: datetime
    anchor: datetime
    original_floor: int = ORIGINAL_FLOOR
    initial_replicas: int = 0
    workload_applied_at: datetime | None = None
    first_decision_at: datetime | None = None
    floors: list[tuple[datetime, int]] = field(default_factory=list)
    leaking_node: str | None = None
    leak_started_at: datetime | None = None
    tainted_at: datetime | None = None
    drained_at: datetime | None = None
    failed_at: datetime | None = None
    not_ready_at: datetime | None = None
    pods_running_after_failure: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def score_from(self) -> datetime | None:
        """From when both policies are judged: once Foresight's first decision could have taken effect."""
        if self.first_decision_at is None:
            return None
        return self.first_decision_at + timedelta(seconds=STARTUP_SECONDS)


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    message: str


def outcomes(
    timeline: Timeline, scores: dict[str, dict[str, float]] | None, chart_bytes: int
) -> list[Outcome]:
    """What the run showed, from what was read back from the cluster (the integration test checks the
    same against the API and Prometheus itself).

    >>> t0 = datetime(2030, 1, 1, tzinfo=UTC)
    >>> t = Timeline(t0, t0, floors=[(t0, 2), (t0 + timedelta(seconds=60), 9)], leaking_node="n-1",
    ...              drained_at=t0 + timedelta(seconds=100), failed_at=t0 + timedelta(seconds=220))
    >>> scores = {"foresight": {"under_provisioned_minutes": 0.5}, "hpa": {"under_provisioned_minutes": 1.5}}
    >>> [(o.name, o.ok) for o in outcomes(t, scores, 50_000)]  # doctest: +NORMALIZE_WHITESPACE
    [('floor-raised', True), ('served-better-than-hpa-alone', True), ('drained-before-failure', True),
     ('chart', True)]
    """
    result = []
    highest = max((floor for _, floor in timeline.floors), default=timeline.original_floor)
    result.append(
        Outcome(
            "floor-raised",
            highest > timeline.original_floor,
            f"HPA floor {timeline.original_floor} -> up to {highest}",
        )
    )
    if scores is None:
        result.append(Outcome("served-better-than-hpa-alone", False, "the run ended before it was scored"))
    else:
        ours, theirs = (scores[k]["under_provisioned_minutes"] for k in ("foresight", "hpa"))
        result.append(
            Outcome(
                "served-better-than-hpa-alone",
                ours < theirs,
                f"under-provisioned {ours:.1f} min with Foresight, {theirs:.1f} min with the HPA alone",
            )
        )
    if timeline.drained_at is None or timeline.failed_at is None:
        missing = "drained" if timeline.drained_at is None else "out of memory"
        result.append(
            Outcome("drained-before-failure", False, f"node {timeline.leaking_node} was never {missing}")
        )
    else:
        lead = (timeline.failed_at - timeline.drained_at).total_seconds()
        result.append(
            Outcome(
                "drained-before-failure",
                lead >= 0,
                f"{timeline.leaking_node} drained {abs(lead):.0f} s {'before' if lead >= 0 else 'after'} "
                "it ran out of memory",
            )
        )
    result.append(Outcome("chart", chart_bytes > 10_000, f"chart ({chart_bytes} bytes)"))
    return result


def summary(
    timeline: Timeline,
    scores: dict[str, dict[str, float]] | None,
    chart_path: Path,
    chart_bytes: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The machine-readable summary (``--summary-json``)."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    judged = outcomes(timeline, scores, chart_bytes)
    return {
        "ok": all(o.ok for o in judged),
        "outcomes": {o.name: {"ok": o.ok, "message": o.message} for o in judged},
        "scenario": {
            "trace": TRACE_FILE,
            "trace_now_at": iso(NOW_AT),
            "trace_end_at": iso(END_AT),
            "acceleration": ACCELERATION,
            "query": QUERY,
            "capacity_per_replica": CAPACITY_PER_REPLICA,
            "startup_seconds": STARTUP_SECONDS,
            "original_floor": timeline.original_floor,
            "initial_replicas": timeline.initial_replicas,
        },
        "anchor": iso(timeline.anchor),
        "started_at": iso(timeline.started_at),
        "workload_applied_at": iso(timeline.workload_applied_at),
        "first_decision_at": iso(timeline.first_decision_at),
        "score_from": iso(timeline.score_from),
        "floors": [[iso(at), floor] for at, floor in timeline.floors],
        "scores": scores,
        "leaking_node": timeline.leaking_node,
        "leak_started_at": iso(timeline.leak_started_at),
        "tainted_at": iso(timeline.tainted_at),
        "drained_at": iso(timeline.drained_at),
        "failed_at": iso(timeline.failed_at),
        "not_ready_at": iso(timeline.not_ready_at),
        "pods_running_after_failure": timeline.pods_running_after_failure,
        "chart": {"path": str(chart_path), "bytes": chart_bytes},
        "notes": timeline.notes,
        **extra,
    }
