"""What the demo observes each second, how it shows it (rich live view or plain lines), and its chart.

Everything shown is read back from the real API server and Prometheus: the PredictiveScaler's and
FailoverPolicy's status as the operator wrote it, the HPA, pods and nodes as the controllers left
them. Only "load now" comes from the trace itself (the value the feeder serves Prometheus).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table

from foresight.api.v1alpha1 import parse_time
from foresight.api.v1alpha1.failover_policy import DEFAULT_TAINT_KEY
from foresight.demo import scenario
from foresight.devcluster import nodes as kwok_nodes

GROUP, VERSION = "foresight.dev", "v1alpha1"


@dataclass(frozen=True)
class NodeView:
    ready: bool
    taints: tuple[str, ...]  # effects of Foresight's taint on it
    running_pods: int


@dataclass(frozen=True)
class Snapshot:
    """One look at the world."""

    at: datetime
    load: float
    scaler: dict[str, Any]
    hpa_min: int | None
    hpa_current: int | None
    nodes: dict[str, NodeView]
    policy: dict[str, Any]
    memory: dict[str, float] = field(default_factory=dict)

    @property
    def forecast(self) -> dict[str, Any]:
        return dict(self.scaler.get("forecast") or {})

    @property
    def running_pods(self) -> int:
        return sum(n.running_pods for n in self.nodes.values())


def _status(api: client.ApiClient, plural: str, name: str) -> dict[str, Any]:
    try:
        body: Any = client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, scenario.NAMESPACE, plural, name
        )
    except ApiException as exc:
        if exc.status == 404:
            return {}
        raise
    return dict(body.get("status") or {})


def observe(api: client.ApiClient, at: datetime, load: float, memory: dict[str, float]) -> Snapshot:
    core = client.CoreV1Api(api)
    # The client's models type every field Optional; the API server fills these in.
    pods: list[Any] = core.list_namespaced_pod(scenario.NAMESPACE, label_selector=f"app={scenario.APP}").items
    per_node = Counter(
        p.spec.node_name
        for p in pods
        if p.status.phase == "Running" and p.metadata.deletion_timestamp is None and p.spec.node_name
    )
    selector = f"{scenario.NODE_POOL_LABEL}={scenario.NODE_POOL}"
    node_objects: list[Any] = core.list_node(label_selector=selector).items
    nodes: dict[str, NodeView] = {
        n.metadata.name: NodeView(
            ready=kwok_nodes.is_ready(n),
            taints=tuple(sorted(t.effect for t in (n.spec.taints or []) if t.key == DEFAULT_TAINT_KEY)),
            running_pods=per_node.get(n.metadata.name, 0),
        )
        for n in node_objects
    }
    try:
        hpa: Any = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler(
            scenario.APP, scenario.NAMESPACE
        )
        hpa_min, hpa_current = hpa.spec.min_replicas, hpa.status.current_replicas
    except ApiException:
        hpa_min = hpa_current = None
    return Snapshot(
        at=at,
        load=load,
        scaler=_status(api, "predictivescalers", scenario.APP),
        hpa_min=hpa_min,
        hpa_current=hpa_current,
        nodes=dict(sorted(nodes.items())),
        policy=_status(api, "failoverpolicies", "workers"),
        memory=dict(memory),
    )


def _fmt(value: Any, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def render(
    snap: Snapshot, timeline: scenario.Timeline, log: list[str], elapsed_seconds: float
) -> RenderableType:
    """The live view: load and forecast, the HPA, nodes and pods, risks and actions."""
    fc = snap.forecast
    scaling = Table.grid(padding=(0, 2))
    scaling.add_column(style="bold")
    scaling.add_column()
    scaling.add_row(
        "load now", f"{snap.load:.0f} req/min  (operator saw {_fmt(snap.scaler.get('observedLoad'))})"
    )
    scaling.add_row(
        "forecast peak",
        f"p10 {_fmt(fc.get('peakP10'))}  p50 {_fmt(fc.get('peakP50'))}  p90 {_fmt(fc.get('peakP90'))}"
        f"  in [{(fc.get('windowStart') or '-')[11:19]}, {(fc.get('windowEnd') or '-')[11:19]}]",
    )
    scaling.add_row(
        "replicas",
        f"desired {_fmt(snap.scaler.get('desiredReplicas'))}  HPA floor {_fmt(snap.hpa_min)} "
        f"(was {timeline.original_floor})  running {snap.running_pods}  "
        f"model {snap.scaler.get('model', '-')}",
    )
    decision = (snap.scaler.get("lastDecision") or {}).get("reason", "waiting for the first decision")
    scaling.add_row("decision", decision)

    nodes = Table(expand=True, box=None)
    for column in ("node", "ready", "web pods", "free memory", "risk", "taint"):
        nodes.add_column(column)
    risks = {r["node"]: r for r in snap.policy.get("nodesAtRisk", [])}
    for name, view in snap.nodes.items():
        risk = risks.get(name)
        memory = snap.memory.get(name)
        nodes.add_row(
            name,
            "[green]Ready[/]" if view.ready else "[red]NotReady[/]",
            "#" * view.running_pods or "-",
            f"{memory / scenario.MIB:.0f} MiB" if memory is not None else "-",
            f"[yellow]{risk['failureProbability']:.2f} {risk.get('state', '')}[/]" if risk else "-",
            ",".join(view.taints) or "-",
        )
    actions = Table.grid()
    for line in log[-8:]:
        actions.add_row(line)
    return Group(
        Panel(scaling, title=f"PredictiveScaler demo/web  (t+{elapsed_seconds:.0f} s)", border_style="blue"),
        Panel(nodes, title="FailoverPolicy demo/workers: nodes", border_style="magenta"),
        Panel(actions, title="what happened", border_style="green"),
    )


def status_line(snap: Snapshot, elapsed_seconds: float) -> str:
    """One line for ``--no-tty``."""
    fc = snap.forecast
    pods = " ".join(f"{n}={v.running_pods}{'' if v.ready else '!'}" for n, v in snap.nodes.items())
    return (
        f"t+{elapsed_seconds:4.0f}s load {snap.load:.0f}/min  peak p10/p50/p90 "
        f"{_fmt(fc.get('peakP10'))}/{_fmt(fc.get('peakP50'))}/{_fmt(fc.get('peakP90'))}  "
        f"desired {_fmt(snap.scaler.get('desiredReplicas'))} floor {_fmt(snap.hpa_min)}  pods {pods}  "
        f"at risk {[r['node'] for r in snap.policy.get('nodesAtRisk', [])]}"
    )


def fan_chart(
    path: Path,
    snapshots: list[Snapshot],
    timeline: scenario.Timeline,
    prometheus_url: str,
    query: str,
    capacity_per_replica: float,
    context_minutes: int = 12,
) -> None:
    """Forecast band (operator's p10-p90 of the peak, at the time it was for) vs actual load; memory below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import numpy as np

    from foresight.metrics import PrometheusClient

    end = snapshots[-1].at
    prometheus = PrometheusClient(prometheus_url)
    actual = prometheus.single(query, timeline.started_at - timedelta(minutes=context_minutes), end, 15)
    times = [actual.start + timedelta(seconds=actual.step_seconds * i) for i in range(len(actual.values))]

    decisions: dict[str, dict[str, Any]] = {}
    for snap in snapshots:
        made_at = (snap.scaler.get("lastDecision") or {}).get("time")
        if made_at and snap.forecast.get("peakP90") is not None:
            decisions[made_at] = snap.forecast
    bands = sorted(
        (
            parse_time(f["windowStart"]),
            f["peakP10"],
            f["peakP50"],
            f["peakP90"],
        )
        for f in decisions.values()
    )
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    top.plot(times, actual.values, color="black", lw=1, label="actual load (Prometheus)")
    if bands:
        at, p10, p50, p90 = (list(column) for column in zip(*bands, strict=True))
        top.fill_between(at, p10, p90, step="post", color="tab:blue", alpha=0.3,
                         label="forecast peak p10-p90 (for when a pod asked then is ready)")  # fmt: skip
        top.step(at, p50, where="post", color="tab:blue", lw=1.5, label="forecast peak p50")
    floors = [(s.at, s.hpa_min * capacity_per_replica) for s in snapshots if s.hpa_min is not None]
    if floors:
        top.step(*zip(*floors, strict=True), where="post", color="tab:green", lw=2,
                 label=f"HPA floor x {capacity_per_replica:g}/min per replica")  # fmt: skip
    for moment, label, colour in (
        (timeline.floor_raised_at, "floor raised", "tab:green"),
        (timeline.surge_at, "surge", "tab:red"),
    ):
        if moment is not None:
            top.axvline(moment, color=colour, ls="--", lw=1)
            top.annotate(label, (mdates.date2num(moment), top.get_ylim()[1] * 0.95), color=colour,
                         rotation=90, va="top", ha="right", fontsize=8)  # fmt: skip
    top.set_ylabel("requests / minute")
    top.set_title(
        "Foresight demo: NASA HTTP trace (1995-08-09 from 18:06 UTC replayed now), "
        "forecast vs actual and the HPA floor",
        fontsize=10,
    )
    top.legend(loc="upper left", fontsize=8)

    run_start = timeline.started_at
    for node in snapshots[-1].memory:
        series = [(s.at, s.memory[node] / scenario.MIB) for s in snapshots if node in s.memory]
        if series:
            bottom.plot(*zip(*series, strict=True), lw=1.5, label=f"{node} free memory")
    bottom.axhline(scenario.MEMORY_THRESHOLD_BYTES / scenario.MIB, color="tab:red", ls=":", lw=1,
                   label="failure threshold")  # fmt: skip
    for moment, label, colour in (
        (timeline.tainted_at, "tainted", "tab:orange"),
        (timeline.drained_at, "drained", "tab:green"),
        (timeline.failed_at, "NotReady", "tab:red"),
    ):
        if moment is not None:
            bottom.axvline(moment, color=colour, ls="--", lw=1)
            bottom.annotate(label, (mdates.date2num(moment), bottom.get_ylim()[1] * 0.95), color=colour,
                            rotation=90, va="top", ha="right", fontsize=8)  # fmt: skip
    bottom.set_ylabel("MiB available")
    bottom.set_xlabel("wall-clock time (UTC)")
    bottom.set_xlim(run_start - timedelta(minutes=context_minutes), end + timedelta(minutes=3))
    bottom.legend(loc="center left", fontsize=8)
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    bottom.set_yscale("linear")
    bottom.set_ylim(
        0, max(np.max([v for s in snapshots for v in s.memory.values()] or [1]) / scenario.MIB * 1.1, 1)
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
