"""``foresight demo``: the main job, end to end, on a local cluster in a few minutes.

Brings up its own control plane and Prometheus with NASA's HTTP log of a weekday morning replayed 60
times faster (its history backfilled the same way), installs the chart's CRDs and RBAC with helm, runs
the operator with the chart's ServiceAccount, applies ``examples/`` with the PredictiveScaler's defaults
and narrates what the controllers do while the morning surge arrives, beside what the upstream HPA alone
would have done with the same load (the benchmark's HPA replay). Pods take a real start-up time (kwok
holds their readiness). Meanwhile a node's free memory leaks: the operator taints and drains it before
it fails. Ends with both autoscalers' scores and a chart; ``--summary-json`` writes them as JSON.
"""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.live import Live

from foresight.api.v1alpha1 import parse_time
from foresight.demo import counterfactual, scenario, stack, view

__all__ = ["demo"]

POLL_SECONDS = 1.0
TAIL_SECONDS = 20.0  # keep watching after the failed node went NotReady
SETTLE_SECONDS = 120.0  # the counterfactual is replayed this far past the planned end
OPERATOR_START_SECONDS = 180.0
_LAG = timedelta(seconds=POLL_SECONDS + 1)  # a status read may predate the taint seen with it


def _default_chart() -> Path:
    from foresight.devcluster import cache_root

    return cache_root() / "demo-output" / "demo.png"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (CI, `timeout`) tears down like Ctrl-C does.
    raise KeyboardInterrupt


def demo(
    keep: Annotated[bool, typer.Option(help="Leave the cluster running; print its kubeconfig.")] = False,
    no_tty: Annotated[bool, typer.Option("--no-tty", help="Plain lines instead of the live view.")] = False,
    duration: Annotated[
        float, typer.Option(help="Longest narration in seconds (it ends earlier once everything happened).")
    ] = 600,
    chart: Annotated[Path | None, typer.Option(help="Chart PNG (default: in the cache).")] = None,
    summary_json: Annotated[Path | None, typer.Option(help="Write the outcomes as JSON.")] = None,
    tick_seconds: Annotated[float, typer.Option(help="The operator's reconcile interval.")] = 5.0,
) -> None:
    """The main job: a local cluster, a real surge, live forecasts, HPA and node actions."""
    console = Console()
    plain = no_tty or not console.is_terminal
    if plain and not console.is_terminal:
        console = Console(width=200)  # logs and pipes: one event per line
    chart = chart or _default_chart()
    signal.signal(signal.SIGTERM, _interrupt)
    run = _Run(console, plain)
    try:
        summary = run.execute(duration, chart, tick_seconds)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        run.teardown(keep)
        raise typer.Exit(130) from None
    except Exception as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        run.teardown(keep)
        raise typer.Exit(2) from exc
    run.teardown(keep)
    if summary_json is not None:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(json.dumps(summary, indent=2) + "\n")
    _print_scores(console, summary.get("scores"))
    for name, outcome in summary["outcomes"].items():
        mark = "[green]ok[/]" if outcome["ok"] else "[red]FAILED[/]"
        console.print(f"{mark}  {name}: {outcome['message']}")
    console.print(f"chart: {chart}")
    if not summary["ok"]:
        console.print("[red]the demo did not show everything it should; see the operator log above[/]")
        raise typer.Exit(1)


def _print_scores(console: Console, scores: dict[str, dict[str, float]] | None) -> None:
    if not scores:
        return
    console.print(
        "over the surge (the benchmark's metrics: under-provisioned = load above Ready capacity, "
        "p99 = its queueing model at high traffic):"
    )
    for name, label in (("foresight", "Foresight (what the cluster did)"), ("hpa", "HPA alone (replayed)")):
        s = scores[name]
        console.print(
            f"  {label:34} under-provisioned {s['under_provisioned_minutes']:5.2f} min   "
            f"replica-hours {s['replica_hours']:5.2f}   p99 {s['latency_p99_ms_high_traffic']:6.0f} ms",
            highlight=False,
        )


class _Run:
    """One demo run: its cluster, operator, memory driver, counterfactual and timeline."""

    def __init__(self, console: Console, plain: bool) -> None:
        self.console = console
        self.plain = plain
        self.info: Any = None
        self.operator: stack.OperatorProcess | None = None
        self.driver: stack.MemoryDriver | None = None
        self.log: list[str] = []
        self.timings: dict[str, float] = {}

    def note(self, text: str) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        self.log.append(f"{stamp}  {text}")
        if self.plain:
            self.console.print(f"{stamp}  {text}", highlight=False)

    def step(self, text: str) -> Any:
        """A spinner for a slow step in the terminal; a plain line otherwise."""
        if self.plain:
            self.console.print(f"... {text}", highlight=False)
        return self.console.status(text)

    def _lap(self, name: str, since: float) -> None:
        self.timings[name] = round(time.monotonic() - since, 1)

    def execute(self, duration: float, chart: Path, tick_seconds: float) -> dict[str, Any]:
        from foresight.devcluster import cache_root, cluster
        from foresight.devcluster import trace as trace_mod
        from foresight.devcluster.handle import DevCluster

        since = time.monotonic()
        with self.step("building or fetching the control plane, kwok, helm and Prometheus (first run: long)"):
            tools = cluster.ensure_tools()
        self._lap("tools_seconds", since)
        source = stack.shared_trace()
        if not source.exists():
            raise FileNotFoundError(f"the NASA trace is not at {source} (../shared/datasets/load)")
        inputs = cache_root() / "demo-input"
        trace_csv = stack.write_trace(source, inputs / "nasa-accelerated.csv")
        stages = stack.write_stages(tools.kwok_stages, inputs / "kwok-stages.yaml")

        since = time.monotonic()
        if cluster.info_path(stack.CLUSTER_NAME).exists():
            # A kept demo cluster's trace clock has moved on: start the scenario afresh.
            cluster.down(stack.CLUSTER_NAME)
        with self.step("starting etcd, kube-apiserver, controller-manager, scheduler, kwok, Prometheus"):
            self.info = cluster.up(stack.cluster_config(trace_csv, stages))
        self._lap("cluster_seconds", since)
        dev = DevCluster(self.info)
        state = Path(self.info.state_dir)
        anchor = datetime.fromisoformat(self.info.trace_anchor)
        replay = trace_mod.Replay(trace_mod.load_csv(trace_csv), scenario.NOW_AT, anchor, 1.0)
        self.load = _Load(replay)
        self.note(
            f"cluster `{stack.CLUSTER_NAME}` up at {self.info.apiserver_url}, "
            f"Prometheus {dev.prometheus_url}; NASA {scenario.NOW_AT:%Y-%m-%d %H:%M} UTC plays at "
            f"{anchor:%H:%M:%S}, {scenario.ACCELERATION}x faster"
        )

        since = time.monotonic()
        with dev.api_client() as api, self.step("installing the chart's CRDs and RBAC with helm"):
            stack.helm_install(tools.helm, api, state)
            stack.wait_crds_established(api)
            sa_kubeconfig = stack.service_account_kubeconfig(
                api, dev.kubeconfig, state / "operator.kubeconfig"
            )
            node_names = dev.create_nodes(
                scenario.NODE_COUNT, scenario.NODE_PREFIX, zones=scenario.NODE_ZONES,
                labels={scenario.NODE_POOL_LABEL: scenario.NODE_POOL},
            )  # fmt: skip
        self.note(
            f"chart installed (no Deployment); operator credentials: ServiceAccount "
            f"{stack.RELEASE_NAMESPACE}/{stack.RELEASE}; nodes {', '.join(node_names)}"
        )
        self.driver = stack.MemoryDriver(
            dev.feeder, scenario.MEMORY_SIGNAL, node_names, scenario.MEMORY_HEALTHY_BYTES
        )
        self.driver.floor_bytes = 64 * scenario.MIB
        self.driver.start()

        # The operator loads its forecasters while the workload starts.
        self.operator = stack.OperatorProcess(sa_kubeconfig, dev.prometheus_url, state, tick_seconds)
        self.operator.start()
        applied_at = datetime.now(UTC)
        initial = scenario.steady_replicas(self.load.rate(applied_at))
        self.timeline = scenario.Timeline(
            started_at=applied_at, anchor=anchor, initial_replicas=initial, workload_applied_at=applied_at
        )
        with dev.api_client() as api:
            for body in scenario.manifests(stack.REPO / "examples", initial):
                stack.apply(api, body)
                if body["kind"] == "Namespace":
                    stack.wait_default_service_account(api, scenario.NAMESPACE)
        self.note(
            f"applied examples/: Deployment ({initial} replicas, what an HPA holds for "
            f"{self.load.rate(applied_at):.0f} req/s; pods Ready {scenario.STARTUP_SECONDS} s after they "
            f"start) + HPA (floor {scenario.ORIGINAL_FLOOR}) + PDB, PredictiveScaler web (every Foresight "
            "setting at its default), FailoverPolicy workers"
        )
        planned_end = scenario.wall_time(scenario.END_AT, anchor) + timedelta(seconds=SETTLE_SECONDS)
        self.grid_start = applied_at
        demand = counterfactual.load_grid(self.load.at, applied_at, max(planned_end, applied_at))
        self.hpa_alone = counterfactual.hpa_alone(demand, applied_at, initial)
        self._lap("setup_seconds", since)
        return self._narrate(dev, duration, chart)

    def _operator_up(self, began: float) -> bool:
        """Whether the operator answers its health check; raises once it has not for too long."""
        assert self.operator is not None
        if self.operator.healthy():
            self.timings.setdefault("operator_start_seconds", round(time.monotonic() - began, 1))
            return True
        if time.monotonic() - began > OPERATOR_START_SECONDS:
            raise TimeoutError(
                f"the operator is not healthy after {OPERATOR_START_SECONDS:.0f} s; "
                f"see {self.operator.log_path}"
            )
        return False

    def _hpa_alone_now(self, at: datetime) -> tuple[int, int] | None:
        i = counterfactual.tick_of(self.grid_start, at)
        if i >= len(self.hpa_alone.ready):
            return None
        return int(self.hpa_alone.replicas[i]), int(self.hpa_alone.ready[i])

    def _narrate(self, dev: Any, duration: float, chart: Path) -> dict[str, Any]:
        from foresight.devcluster import nodes as kwok_nodes

        assert self.driver is not None
        timeline = self.timeline
        story = _Story(self, timeline)
        snapshots: list[view.Snapshot] = []
        observations: list[counterfactual.Observation] = []
        began = time.monotonic()
        last_line = -10.0
        operator_up = False
        end_of_surge = scenario.wall_time(scenario.END_AT, timeline.anchor)
        live = None if self.plain else Live(console=self.console, refresh_per_second=4, transient=False)
        if live is not None:
            live.start()
        try:
            with dev.api_client() as api:
                while time.monotonic() - began < duration:
                    if not operator_up and self._operator_up(began):
                        operator_up = True
                        assert self.operator is not None
                        self.note(f"operator running (log: {self.operator.log_path})")
                    now = datetime.now(UTC)
                    snap = view.observe(
                        api, now, (self.load.at(now), self.load.rate(now)), self.driver.values,
                        self._hpa_alone_now(now),
                    )  # fmt: skip
                    snapshots.append(snap)
                    observations.append((snap.at, snap.pods_asked, snap.ready_pods))
                    story.update(snap, api, kwok_nodes)
                    elapsed = time.monotonic() - began
                    if live is not None:
                        live.update(view.render(snap, snapshots, timeline, self.log, elapsed))
                    elif elapsed - last_line >= 10:
                        last_line = elapsed
                        self.console.print(view.status_line(snap, timeline, elapsed), highlight=False)
                    failure_over = (
                        timeline.not_ready_at is not None
                        and (now - timeline.not_ready_at).total_seconds() > TAIL_SECONDS
                    )
                    if now >= end_of_surge and failure_over:
                        break
                    time.sleep(max(0.0, POLL_SECONDS - (datetime.now(UTC) - now).total_seconds()))
        finally:
            if live is not None:
                live.stop()
        return self._finish(snapshots, observations, chart, time.monotonic() - began)

    def _finish(
        self,
        snapshots: list[view.Snapshot],
        observations: list[counterfactual.Observation],
        chart: Path,
        narration_seconds: float,
    ) -> dict[str, Any]:
        timeline = self.timeline
        start = self.grid_start
        end = snapshots[-1].at if snapshots else start
        demand = counterfactual.load_grid(self.load.at, start, end)
        rate = counterfactual.load_grid(self.load.rate, start, end)
        ticks = len(demand)
        ours = counterfactual.observed_run(observations, start, ticks)
        theirs = counterfactual.hpa_alone(demand, start, timeline.initial_replicas)
        scores = None
        first = 0
        if timeline.score_from is not None:
            first = counterfactual.tick_of(start, timeline.score_from)
            if ticks - first >= 60:
                scores = {
                    "foresight": counterfactual.score(ours, demand, start, first, ticks),
                    "hpa": counterfactual.score(theirs, demand, start, first, ticks),
                }
        with self.step("drawing the chart"):
            view.chart(
                chart, snapshots, timeline,
                view.ChartData(start, demand, rate, ours, theirs, timeline.score_from, scores),
            )  # fmt: skip
        chart_bytes = chart.stat().st_size if chart.exists() else 0
        return scenario.summary(
            timeline,
            scores,
            chart,
            chart_bytes,
            {
                "timings": {**self.timings, "narration_seconds": round(narration_seconds, 1)},
                "cluster": stack.CLUSTER_NAME,
                "operator_log": str(self.operator.log_path) if self.operator else None,
                "peak_ready_pods": max((s.ready_pods for s in snapshots), default=0),
                "peak_load_rate": round(float(np.max([s.load_rate for s in snapshots] or [0.0])), 1),
                "log": self.log,
                # What the scores are computed from, one value a second from the workload's start: anyone can
                # rescore the run (``foresight.demo.counterfactual.score``) or plot it their own way.
                "series": {
                    "start": start.isoformat(),
                    "tick_seconds": counterfactual.TICK_SECONDS,
                    "score_from_tick": None if timeline.score_from is None else first,
                    "load": np.round(demand, 3).tolist(),
                    "load_rate": np.round(rate, 3).tolist(),
                    "foresight_pods": ours.replicas.tolist(),
                    "foresight_ready": ours.ready.tolist(),
                    "hpa_alone_pods": theirs.replicas.tolist(),
                    "hpa_alone_ready": theirs.ready.tolist(),
                },
            },
        )

    def teardown(self, keep: bool) -> None:
        from foresight.devcluster import cluster

        if self.driver is not None:
            self.driver.stop()
        if self.operator is not None:
            self.operator.stop()
        if self.info is None:
            return
        if keep:
            self.console.print(
                f"cluster `{stack.CLUSTER_NAME}` left running:\n  export KUBECONFIG={self.info.kubeconfig}\n"
                f"  Prometheus {self.info.prometheus_url}\n  stop it with: foresight dev-cluster down "
                f"--name {stack.CLUSTER_NAME}"
            )
            return
        with self.console.status("stopping the demo cluster"):
            cluster.down(stack.CLUSTER_NAME)
        self.console.print(f"demo cluster stopped (logs kept in {self.info.state_dir}/logs)")


class _Load:
    """The load the feeder serves, in requests per second: now, and as a one-minute rate."""

    def __init__(self, replay: Any) -> None:
        self.replay = replay

    def at(self, wall: datetime) -> float:
        return scenario.requests_per_second(self.replay.value_at(wall))

    def rate(self, wall: datetime) -> float:
        window = scenario.RATE_WINDOW_SECONDS
        return float(np.mean([self.at(wall - timedelta(seconds=k)) for k in range(window)]))


class _Story:
    """Turns what was observed into the narrated timeline (each event once)."""

    def __init__(self, run: _Run, timeline: scenario.Timeline) -> None:
        self.run = run
        self.timeline = timeline
        self.floor: int | None = None
        self.untold: tuple[int, int, float] | None = None  # a floor change whose reason is not reported yet
        self.need_told = 0
        self.risks_told: dict[str, str] = {}
        self.taint_told = False

    def update(self, snap: view.Snapshot, api: Any, kwok_nodes: Any) -> None:
        self._scaling(snap)
        self._risks(snap)
        self._failure(snap, api, kwok_nodes)

    def _scaling(self, snap: view.Snapshot) -> None:
        t, note = self.timeline, self.run.note
        decision = snap.scaler.get("lastDecision") or {}
        fc = snap.forecast
        if t.first_decision_at is None and decision.get("time"):
            t.first_decision_at = parse_time(decision["time"])
            note(
                f"first forecast of the peak when a pod asked now is Ready: p10/p50/p90 "
                f"{fc.get('peakP10', 0):.0f}/{fc.get('peakP50', 0):.0f}/{fc.get('peakP90', 0):.0f} req/s "
                f"(load now {snap.load_rate:.0f}); desired {snap.scaler.get('desiredReplicas')}"
            )
        if snap.hpa_min is not None and snap.hpa_min != self.floor:
            if self.untold is not None:  # changed again before the status reported the decision
                note(f"HPA floor {self.untold[0]} -> {self.untold[1]} at load {self.untold[2]:.0f} req/s")
                self.untold = None
            if self.floor is not None:
                self.untold = (self.floor, snap.hpa_min, snap.load_rate)
            self.floor = snap.hpa_min
            t.floors.append((snap.at, snap.hpa_min))
        # The operator patches the HPA before its status: tell the reason of the decision that set this floor.
        if self.untold is not None and snap.scaler.get("appliedMinReplicas") == self.untold[1]:
            old, new, load = self.untold
            note(f"HPA floor {old} -> {new} at load {load:.0f} req/s: {decision.get('reason', '')[:160]}")
            self.untold = None
        need = scenario.replicas_needed(snap.load_rate)
        if t.first_decision_at is not None and need >= max(self.need_told + 2, t.initial_replicas + 1):
            self.need_told = need
            alone = f"; the HPA alone would have {snap.hpa_alone[1]}" if snap.hpa_alone else ""
            note(
                f"load {snap.load_rate:.0f} req/s needs {need} Ready pods: {snap.ready_pods} Ready"
                f" (+{snap.pods_asked - snap.ready_pods} starting){alone}"
            )

    def _risks(self, snap: view.Snapshot) -> None:
        risks = snap.risks
        for node, risk in risks.items():
            told = f"{risk.get('state')}:{risk.get('failureProbability', 0):.1f}"
            if self.risks_told.get(node) != told:
                self.risks_told[node] = told
                self.run.note(f"{node} at risk ({risk.get('state')}), {view.risk_text(risk, 3)}")
        for node in [n for n in self.risks_told if n not in risks]:
            del self.risks_told[node]
            self.run.note(f"{node} no longer at risk")

    def _failure(self, snap: view.Snapshot, api: Any, kwok_nodes: Any) -> None:
        t, note, driver = self.timeline, self.run.note, self.run.driver
        assert driver is not None
        # The leak starts once the workload's pods are placed, so the drain is over before the surge.
        if t.leaking_node is None and snap.pods_asked >= 2:
            loaded = max(snap.nodes.items(), key=lambda item: item[1].running_pods)
            if loaded[1].running_pods > 0:
                t.leaking_node, t.leak_started_at = loaded[0], snap.at
                driver.leak(loaded[0], scenario.MEMORY_START_BYTES, scenario.MEMORY_LEAK_BYTES_PER_SECOND)
                note(
                    f"{loaded[0]} starts leaking memory: {scenario.MEMORY_START_BYTES // scenario.MIB} MiB "
                    f"free, -{scenario.MEMORY_LEAK_BYTES_PER_SECOND // scenario.MIB} MiB/s; it fails at "
                    f"{scenario.MEMORY_THRESHOLD_BYTES // scenario.MIB} MiB"
                )
        node = t.leaking_node
        if node is None or node not in snap.nodes:
            return
        state = snap.nodes[node]
        if t.tainted_at is None and "NoSchedule" in state.taints:
            t.tainted_at = snap.at
        risk = snap.risks.get(node)
        evaluated = parse_time(snap.policy.get("lastEvaluation"))
        # The taint is written before the status that explains it: wait for that status.
        explained = evaluated is not None and t.tainted_at is not None and evaluated >= t.tainted_at - _LAG
        if t.tainted_at is not None and not self.taint_told and risk and explained:
            self.taint_told = True
            note(f"operator tainted {node} NoSchedule and evicts its pods: failure {view.risk_text(risk, 3)}")
        if t.tainted_at is not None and t.drained_at is None and state.running_pods == 0:
            t.drained_at = snap.at
            note(
                f"{node} drained through the eviction API (PDB respected); "
                f"{snap.ready_pods} pods Ready elsewhere"
            )
        memory = snap.memory.get(node, float("inf"))
        if t.failed_at is None and memory <= scenario.MEMORY_THRESHOLD_BYTES:
            t.failed_at = snap.at
            kwok_nodes.make_not_ready(api, node)
            lead = (
                f"it was drained {(t.failed_at - t.drained_at).total_seconds():.0f} s before"
                if t.drained_at
                else f"{state.running_pods} web pods still on it"
            )
            note(f"{node} is out of memory and fails (kwok reports it NotReady); {lead}")
        if t.failed_at is not None and t.not_ready_at is None and not state.ready:
            t.not_ready_at = snap.at
            t.pods_running_after_failure = snap.ready_pods
            note(f"{node} is NotReady; {snap.ready_pods} web pods Ready on the other nodes")
