"""The demo's scenario: the trace window, the manifests it applies, and how its outcomes are judged.

Pure code: manifests are plain dicts built from ``examples/`` with the few values the demo changes,
and outcomes are computed from a recorded timeline, so both can be unit-tested without a cluster.

The trace window: NASA's HTTP log on 1995-08-09 is quiet from 18:04 to 18:10 UTC (6-28 requests per
minute) and then surges (46, 74, 112 at 18:11-18:13), at the time of day when the previous days
were busy. "Now" is placed at 18:06, so the operator starts during the lull and a forecaster that
learnt the daily pattern expects more load than the lull shows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

NOW_AT = datetime(1995, 8, 9, 18, 6, tzinfo=UTC)
NAMESPACE = "demo"  # the backfilled trace's `namespace` label: the scaler must live there (tenancy)
APP = "web"
CAPACITY_PER_REPLICA = 20.0  # requests/min: the original floor of 2 serves the lull (<= 40), not the surge
STARTUP_SECONDS = 120
NODE_POOL_LABEL = "foresight.dev/pool"
NODE_POOL = "general"
NODE_PREFIX = "demo-node"
NODE_ZONES = ("zone-a", "zone-b")
MEMORY_SIGNAL = "node_memory_MemAvailable_bytes"
MIB = 2**20
MEMORY_HEALTHY_BYTES = 6144 * MIB
MEMORY_START_BYTES = 2048 * MIB  # the leaking node's free memory when the leak becomes visible
MEMORY_LEAK_BYTES_PER_SECOND = 8 * MIB  # reaches the 256 MiB threshold in under four minutes
MEMORY_THRESHOLD_BYTES = 256 * MIB  # examples/failoverpolicy.yaml; the node "fails" when it gets there


def load_examples(examples: Path) -> dict[str, dict[str, Any]]:
    """Every object in ``examples/*.yaml``, keyed by ``Kind/name``."""
    objects: dict[str, dict[str, Any]] = {}
    for path in sorted(examples.glob("*.yaml")):
        for body in yaml.safe_load_all(path.read_text()):
            if body:
                objects[f"{body['kind']}/{body['metadata']['name']}"] = body
    return objects


def manifests(examples: Path) -> list[dict[str, Any]]:
    """The examples, in apply order, with the demo's sizing (see the module docstring).

    The examples are sized for the NASA morning ramp; the demo keeps their shape and changes only
    what its shorter, faster scenario needs: capacity, lead time and the failover cool-down.
    """
    objects = {key: copy.deepcopy(body) for key, body in load_examples(examples).items()}
    scaler = objects["PredictiveScaler/web"]
    scaler["spec"]["metric"]["capacityPerReplica"] = CAPACITY_PER_REPLICA
    scaler["spec"]["scaling"]["startupSeconds"] = STARTUP_SECONDS
    policy = objects["FailoverPolicy/workers"]
    # Three nodes: acting on one must leave two healthy; no cool-down needed for a single node.
    policy["spec"]["actions"].update({"cooldownSeconds": 0, "minHealthyNodes": 2})
    order = ["Namespace/demo", "Deployment/web", "HorizontalPodAutoscaler/web", "PodDisruptionBudget/web"]
    return [objects[key] for key in order] + [scaler, policy]


@dataclass
class Timeline:
    """What the demo saw happen, in wall-clock time (filled in while it runs)."""

    started_at: datetime
    original_floor: int = 2
    floor_raised_at: datetime | None = None
    raised_floor: int | None = None
    surge_at: datetime | None = None
    surge_load: float | None = None
    leaking_node: str | None = None
    leak_started_at: datetime | None = None
    tainted_at: datetime | None = None
    drained_at: datetime | None = None
    failed_at: datetime | None = None
    pods_running_after_failure: int | None = None
    chart_path: str | None = None
    chart_bytes: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    message: str
    lead_seconds: float | None = None


def surge_threshold(original_floor: int, capacity_per_replica: float = CAPACITY_PER_REPLICA) -> float:
    """Load the original HPA floor can serve: above it, the surge has arrived.

    >>> surge_threshold(2, 20.0)
    40.0
    """
    return original_floor * capacity_per_replica


def outcomes(timeline: Timeline) -> list[Outcome]:
    """Judge the run: floor raised before the surge, node drained before it failed, chart written.

    >>> t0 = datetime(2025, 1, 1, tzinfo=UTC)
    >>> from datetime import timedelta as td
    >>> t = Timeline(t0, floor_raised_at=t0 + td(seconds=30), raised_floor=3, surge_at=t0 + td(seconds=200),
    ...              surge_load=74.0, leaking_node="n-0", drained_at=t0 + td(seconds=100),
    ...              failed_at=t0 + td(seconds=220), chart_bytes=50_000)
    >>> [(o.name, o.ok, o.lead_seconds) for o in outcomes(t)]  # doctest: +NORMALIZE_WHITESPACE
    [('floor-raised-before-surge', True, 170.0), ('drained-before-failure', True, 120.0),
     ('fan-chart', True, None)]
    """
    result = []
    if timeline.floor_raised_at is None:
        result.append(Outcome("floor-raised-before-surge", False, "the HPA floor was never raised"))
    elif timeline.surge_at is None:
        result.append(Outcome("floor-raised-before-surge", False, "the surge did not arrive within the run"))
    else:
        lead = (timeline.surge_at - timeline.floor_raised_at).total_seconds()
        result.append(
            Outcome(
                "floor-raised-before-surge",
                lead > 0,
                f"HPA floor {timeline.original_floor} -> {timeline.raised_floor} "
                f"{abs(lead):.0f} s {'before' if lead > 0 else 'after'} the load reached "
                f"{timeline.surge_load:g}/min",
                lead,
            )
        )
    if timeline.drained_at is None:
        result.append(
            Outcome("drained-before-failure", False, f"node {timeline.leaking_node} was never drained")
        )
    elif timeline.failed_at is None:
        result.append(Outcome("drained-before-failure", False, "the node did not fail within the run"))
    else:
        lead = (timeline.failed_at - timeline.drained_at).total_seconds()
        result.append(
            Outcome(
                "drained-before-failure",
                lead >= 0,
                f"{timeline.leaking_node} drained {lead:.0f} s before it failed",
                lead,
            )
        )
    result.append(
        Outcome(
            "fan-chart",
            timeline.chart_bytes > 10_000,
            f"fan chart {timeline.chart_path} ({timeline.chart_bytes} bytes)",
        )
    )
    return result


def summary(timeline: Timeline, extra: dict[str, Any]) -> dict[str, Any]:
    """The machine-readable summary (``--summary-json``)."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    judged = outcomes(timeline)
    return {
        "ok": all(o.ok for o in judged),
        "outcomes": {
            o.name: {"ok": o.ok, "message": o.message, "lead_seconds": o.lead_seconds} for o in judged
        },
        "started_at": iso(timeline.started_at),
        "original_floor": timeline.original_floor,
        "raised_floor": timeline.raised_floor,
        "floor_raised_at": iso(timeline.floor_raised_at),
        "surge_at": iso(timeline.surge_at),
        "surge_load": timeline.surge_load,
        "leaking_node": timeline.leaking_node,
        "leak_started_at": iso(timeline.leak_started_at),
        "tainted_at": iso(timeline.tainted_at),
        "drained_at": iso(timeline.drained_at),
        "failed_at": iso(timeline.failed_at),
        "pods_running_after_failure": timeline.pods_running_after_failure,
        "chart": {"path": timeline.chart_path, "bytes": timeline.chart_bytes},
        "notes": timeline.notes,
        **extra,
    }
