"""What the demo observes each second, how it shows it (rich live view or plain lines), and its chart.

Everything shown about the cluster is read back from the real API server and Prometheus: the
PredictiveScaler's and FailoverPolicy's status as the operator wrote it, the HPA, pods and nodes as the
controllers left them. The load comes from the trace (the value the feeder serves Prometheus), and "the
HPA alone" from the benchmark's HPA replay of the same load (:mod:`foresight.demo.counterfactual`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from kubernetes import client
from kubernetes.client.rest import ApiException
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from foresight import simulation
from foresight.api.v1alpha1 import parse_time
from foresight.api.v1alpha1.failover_policy import DEFAULT_TAINT_KEY
from foresight.demo import scenario
from foresight.devcluster import nodes as kwok_nodes

GROUP, VERSION = "foresight.dev", "v1alpha1"
SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class NodeView:
    ready: bool
    taints: tuple[str, ...]  # effects of Foresight's taint on it
    ready_pods: int
    starting_pods: int

    @property
    def running_pods(self) -> int:
        return self.ready_pods + self.starting_pods


@dataclass(frozen=True)
class Snapshot:
    """One look at the world."""

    at: datetime
    load: float  # requests per second offered now (the trace)
    load_rate: float  # the same over the last minute: what the PredictiveScaler's query reads
    scaler: dict[str, Any]
    hpa_min: int | None
    nodes: dict[str, NodeView]
    policy: dict[str, Any]
    memory: dict[str, float] = field(default_factory=dict)
    pods_asked: int = 0  # web pods that exist and are not being deleted
    hpa_alone: tuple[int, int] | None = None  # (asked, ready) of the simulated HPA alone, now

    @property
    def forecast(self) -> dict[str, Any]:
        return dict(self.scaler.get("forecast") or {})

    @property
    def ready_pods(self) -> int:
        return sum(n.ready_pods for n in self.nodes.values())

    @property
    def risks(self) -> dict[str, dict[str, Any]]:
        return {r["node"]: r for r in self.policy.get("nodesAtRisk") or []}


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


def pod_is_ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def observe(
    api: client.ApiClient,
    at: datetime,
    load: tuple[float, float],
    memory: dict[str, float],
    hpa_alone: tuple[int, int] | None,
) -> Snapshot:
    core = client.CoreV1Api(api)
    # The client's models type every field Optional; the API server fills these in.
    pods: list[Any] = core.list_namespaced_pod(scenario.NAMESPACE, label_selector=f"app={scenario.APP}").items
    alive = [p for p in pods if p.metadata.deletion_timestamp is None]
    placed = [p for p in alive if p.status.phase == "Running" and p.spec.node_name]
    ready = Counter(p.spec.node_name for p in placed if pod_is_ready(p))
    starting = Counter(p.spec.node_name for p in placed if not pod_is_ready(p))
    selector = f"{scenario.NODE_POOL_LABEL}={scenario.NODE_POOL}"
    node_objects: list[Any] = core.list_node(label_selector=selector).items
    nodes = {
        n.metadata.name: NodeView(
            ready=kwok_nodes.is_ready(n),
            taints=tuple(sorted(t.effect for t in (n.spec.taints or []) if t.key == DEFAULT_TAINT_KEY)),
            ready_pods=ready.get(n.metadata.name, 0),
            starting_pods=starting.get(n.metadata.name, 0),
        )
        for n in node_objects
    }
    try:
        hpa: Any = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler(
            scenario.APP, scenario.NAMESPACE
        )
        hpa_min = hpa.spec.min_replicas
    except ApiException:
        hpa_min = None
    return Snapshot(
        at=at,
        load=load[0],
        load_rate=load[1],
        scaler=_status(api, "predictivescalers", scenario.APP),
        hpa_min=hpa_min,
        nodes=dict(sorted(nodes.items())),
        policy=_status(api, "failoverpolicies", "workers"),
        memory=dict(memory),
        pods_asked=len(alive),
        hpa_alone=hpa_alone,
    )


# --- text --------------------------------------------------------------------------------------


def _fmt(value: Any, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def sparkline(values: list[float], top: float) -> str:
    """Values as bar characters on a common scale (``top`` is a full bar).

    >>> sparkline([0.0, 5.0, 10.0], 10.0)
    '▁▅█'
    """
    if top <= 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, max(0, round(v / top * (len(SPARK) - 1))))] for v in values)


def risk_text(risk: dict[str, Any], limit: int = 2) -> str:
    """A node's failure probability and its main causes, as the operator wrote them.

    >>> risk_text({"failureProbability": 0.93, "reasons": ["memory = 0.93", "Ready=False: p = 0.90"]})
    'p=0.93: memory = 0.93; Ready=False: p = 0.90'
    """
    reasons = "; ".join((risk.get("reasons") or [])[:limit]) or "no cause given"
    return f"p={risk.get('failureProbability', 0):.2f}: {reasons}"


def trace_clock(at: datetime, anchor: datetime) -> str:
    return scenario.trace_time(at, anchor).strftime("%Y-%m-%d %H:%M")


def _capacity_line(label: str, asked: int, ready: int, load: float) -> str:
    capacity = ready * scenario.CAPACITY_PER_REPLICA
    mark = "[green]serves it[/]" if load <= capacity * 1.01 else "[red]UNDER-PROVISIONED[/]"
    return f"{label}: {ready} Ready (+{max(asked - ready, 0)} starting) = {capacity:.0f} req/s  {mark}"


def render(
    snap: Snapshot,
    history: list[Snapshot],
    timeline: scenario.Timeline,
    log: list[str],
    elapsed_seconds: float,
) -> RenderableType:
    """The live view: load, forecast band, floor, pods per node, node risks and the last decision."""
    fc = snap.forecast
    need = scenario.replicas_needed(snap.load_rate)
    top = Table.grid(padding=(0, 2))
    top.add_column(style="bold", no_wrap=True)
    top.add_column()
    top.add_row(
        "trace",
        f"NASA HTTP log, {trace_clock(snap.at, timeline.anchor)} UTC, {scenario.ACCELERATION}x faster",
    )
    top.add_row(
        "load", f"{snap.load_rate:.1f} req/s over the last minute (now {snap.load:.0f}): needs {need}"
    )
    window = f"[{(fc.get('windowStart') or '-')[11:19]}, {(fc.get('windowEnd') or '-')[11:19]}]"
    top.add_row(
        "forecast",
        f"peak in {window}, when a pod asked now is Ready: p10 {_fmt(fc.get('peakP10'))}  "
        f"p50 {_fmt(fc.get('peakP50'))}  p90 {_fmt(fc.get('peakP90'))} req/s",
    )
    top.add_row(
        "floor",
        f"HPA minReplicas {_fmt(snap.hpa_min)} (its own: {timeline.original_floor}), "
        f"desired {_fmt(snap.scaler.get('desiredReplicas'))}",
    )
    top.add_row("Foresight", _capacity_line("pods", snap.pods_asked, snap.ready_pods, snap.load_rate))
    if snap.hpa_alone is not None:
        top.add_row("HPA alone", _capacity_line("simulated", *snap.hpa_alone, snap.load_rate))
    recent = history[-60:]
    scale = max(
        [s.load_rate for s in recent] + [s.ready_pods * scenario.CAPACITY_PER_REPLICA for s in recent]
    )
    top.add_row("last minute", Text(f"load  {sparkline([s.load_rate for s in recent], scale)}"))
    top.add_row(
        "", Text(f"ready {sparkline([s.ready_pods * scenario.CAPACITY_PER_REPLICA for s in recent], scale)}")
    )
    decision = (snap.scaler.get("lastDecision") or {}).get("reason", "waiting for the first decision")
    top.add_row("decision", decision)

    nodes = Table(expand=True, box=None)
    for column in ("node", "status", "web pods (■ Ready □ starting)", "free memory", "risk and why", "taint"):
        nodes.add_column(column, overflow="fold")
    risks = snap.risks
    for name, view in snap.nodes.items():
        risk = risks.get(name)
        memory = snap.memory.get(name)
        nodes.add_row(
            name,
            "[green]Ready[/]" if view.ready else "[red]NotReady[/]",
            "■" * view.ready_pods + "□" * view.starting_pods or "-",
            f"{memory / scenario.MIB:.0f} MiB" if memory is not None else "-",
            f"[yellow]{risk_text(risk)}[/]" if risk else "-",
            ",".join(view.taints) or "-",
        )
    actions = Table.grid()
    for line in log[-8:]:
        actions.add_row(line)
    return Group(
        Panel(top, title=f"PredictiveScaler demo/web  (t+{elapsed_seconds:.0f} s)", border_style="blue"),
        Panel(nodes, title="FailoverPolicy demo/workers", border_style="magenta"),
        Panel(actions, title="what happened", border_style="green"),
    )


def status_line(snap: Snapshot, timeline: scenario.Timeline, elapsed_seconds: float) -> str:
    """One line for ``--no-tty``."""
    fc = snap.forecast
    pods = " ".join(
        f"{n}={v.ready_pods}+{v.starting_pods}{'' if v.ready else '!'}" for n, v in snap.nodes.items()
    )
    alone = f" | HPA alone {snap.hpa_alone[1]} Ready" if snap.hpa_alone else ""
    risky = "; ".join(f"{node} {risk_text(r, 1)}" for node, r in snap.risks.items()) or "none"
    return (
        f"t+{elapsed_seconds:4.0f}s [{trace_clock(snap.at, timeline.anchor)[11:]}] load {snap.load_rate:.1f} "
        f"req/s  peak p10/p50/p90 {_fmt(fc.get('peakP10'))}/{_fmt(fc.get('peakP50'))}/"
        f"{_fmt(fc.get('peakP90'))}  floor {_fmt(snap.hpa_min)}  Ready {snap.ready_pods}/{snap.pods_asked} "
        f"({pods}){alone} | at risk: {risky}"
    )


# --- chart -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartData:
    """What the chart draws besides the snapshots: the load and both runs on the tick grid."""

    start: datetime
    demand: np.ndarray  # requests per second per tick
    rate: np.ndarray  # the same as a one-minute rate (what the autoscalers read)
    foresight: simulation.Run
    hpa_alone: simulation.Run
    score_from: datetime | None
    scores: dict[str, dict[str, float]] | None


def _shade_under(
    axis: Any, times: list[datetime], demand: np.ndarray, ready: np.ndarray, first: int, **style: Any
) -> None:
    """Shade the scored ticks where the load exceeds Ready capacity (the benchmark's definition)."""
    under = demand > ready * scenario.CAPACITY_PER_REPLICA * (1 + simulation.UNDER_TOLERANCE)
    under[:first] = False
    axis.fill_between(times, 0, 1, where=under, step="post", transform=axis.get_xaxis_transform(), **style)


def chart(path: Path, snapshots: list[Snapshot], timeline: scenario.Timeline, data: ChartData) -> None:
    """Load, forecast band, both runs' Ready capacity with under-provisioning shaded; node memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    n = len(data.demand)
    times = [data.start + timedelta(seconds=i) for i in range(n)]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(12, 8.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    cap = scenario.CAPACITY_PER_REPLICA
    top.plot(times, data.demand, color="0.65", lw=0.6, label="load (requests/s, each second)")
    top.plot(
        times, data.rate, color="black", lw=1.4, label="load, one-minute rate (what both autoscalers read)"
    )
    bands = sorted(
        {
            (s.scaler.get("lastDecision") or {}).get("time"): (
                parse_time(s.forecast["windowStart"]),
                s.forecast["peakP10"],
                s.forecast["peakP50"],
                s.forecast["peakP90"],
            )
            for s in snapshots
            if s.forecast.get("peakP90") is not None and s.forecast.get("windowStart")
        }.values()
    )
    if bands:
        at, p10, p50, p90 = (list(column) for column in zip(*bands, strict=True))
        top.fill_between(at, p10, p90, step="post", color="tab:blue", alpha=0.2,
                         label="forecast peak p10-p90, drawn at the time it is for")  # fmt: skip
        top.step(at, p50, where="post", color="tab:blue", lw=1, label="forecast peak p50")
    top.step(times, data.foresight.ready * cap, where="post", color="tab:green", lw=2,
             label="Foresight: Ready pods x capacity (read from the API)")  # fmt: skip
    top.step(times, data.hpa_alone.ready * cap, where="post", color="tab:orange", lw=2, ls="--",
             label="HPA alone: Ready pods x capacity (upstream HPA replay)")  # fmt: skip
    first = min(n, max(0, int((data.score_from - data.start).total_seconds()))) if data.score_from else n
    _shade_under(top, times, data.demand, data.foresight.ready, first, color="tab:green", alpha=0.3, lw=0,
                 label="under-provisioned with Foresight")  # fmt: skip
    _shade_under(top, times, data.demand, data.hpa_alone.ready, first, color="tab:orange", alpha=0.25, lw=0,
                 label="under-provisioned with the HPA alone")  # fmt: skip
    floors = [(s.at, s.hpa_min * cap) for s in snapshots if s.hpa_min is not None]
    if floors:
        top.step(*zip(*floors, strict=True), where="post", color="tab:green", lw=0.8, ls=":",
                 label="HPA floor set by Foresight x capacity")  # fmt: skip
    if data.score_from is not None and times:
        top.axvspan(times[0], data.score_from, color="0.85", alpha=0.5, lw=0)
        top.annotate("first pods starting,\nnot scored", (mdates.date2num(times[0]), 0.6), fontsize=8,
                     color="0.35", xycoords=("data", "axes fraction"))  # fmt: skip
    top.set_ylabel("requests / second")
    right = top.secondary_yaxis("right", functions=(lambda y: y / cap, lambda r: r * cap))
    right.set_ylabel(f"replicas (x {cap:g} req/s)")
    title = (
        f"Foresight demo: NASA HTTP log {scenario.NOW_AT:%Y-%m-%d} from {scenario.NOW_AT:%H:%M} UTC, "
        f"{scenario.ACCELERATION}x faster; pods start in {scenario.STARTUP_SECONDS} s"
    )
    if data.scores:
        ours, theirs = data.scores["foresight"], data.scores["hpa"]
        title += (
            f"\nunder-provisioned {ours['under_provisioned_minutes']:.1f} min vs "
            f"{theirs['under_provisioned_minutes']:.1f} min (HPA alone); replica-hours "
            f"{ours['replica_hours']:.2f} vs {theirs['replica_hours']:.2f}"
        )
    top.set_title(title, fontsize=10)
    top.legend(loc="upper left", fontsize=7, ncol=2)
    highest = max([float(np.max(data.rate, initial=0.0))] + [float(b[3]) for b in bands])
    top.set_ylim(0, max(highest, float(np.max(data.demand, initial=0.0))) * 1.35)

    # Healthy nodes have the same free memory: distinct styles keep every line visible.
    styles = [("-", 3.0), ("--", 2.0), (":", 1.5), ("-.", 1.5)]
    nodes = sorted(snapshots[-1].memory) if snapshots else []
    for k, node in enumerate(nodes):
        series = [(s.at, s.memory[node] / scenario.MIB) for s in snapshots if node in s.memory]
        if series:
            ls, lw = styles[k % len(styles)]
            label = f"{node} free memory" + (" (leaks)" if node == timeline.leaking_node else "")
            bottom.plot(*zip(*series, strict=True), ls=ls, lw=lw, label=label)
    bottom.axhline(scenario.MEMORY_THRESHOLD_BYTES / scenario.MIB, color="tab:red", ls=":", lw=1,
                   label="failure threshold")  # fmt: skip
    for moment, label, colour in (
        (timeline.tainted_at, "tainted", "tab:orange"),
        (timeline.drained_at, "drained", "tab:green"),
        (timeline.not_ready_at, "NotReady", "tab:red"),
    ):
        if moment is not None:
            bottom.axvline(moment, color=colour, ls="--", lw=1)
            bottom.annotate(label, (mdates.date2num(moment), 0.97), color=colour, rotation=90, va="top",
                            ha="right", fontsize=8, xycoords=("data", "axes fraction"))  # fmt: skip
    bottom.set_ylabel("MiB available")
    bottom.set_xlabel(f"wall-clock time (UTC); trace time runs {scenario.ACCELERATION}x faster")
    bottom.legend(loc="center left", fontsize=8)
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    bottom.set_ylim(bottom=0)
    if times:
        bottom.set_xlim(times[0], times[-1])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
