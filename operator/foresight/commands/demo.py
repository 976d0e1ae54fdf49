"""``foresight demo``: the main job, end to end, on a local cluster in a few minutes.

Brings up its own control plane and Prometheus (the NASA trace backfilled up to a quiet moment just
before an afternoon surge), installs the chart's CRDs and RBAC with helm, runs the operator with the
chart's ServiceAccount, applies ``examples/`` and narrates what the controllers do: the HPA floor
rises before the surge, and a node whose free memory leaks is tainted and drained before it fails.
Writes a fan chart and, with ``--summary-json``, a machine-readable account of the outcomes.
"""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live

from foresight.demo import scenario, stack, view

__all__ = ["demo"]

POLL_SECONDS = 1.5
TAIL_SECONDS = 60.0  # keep watching after the last outcome: the view and the chart show the surge served


def _default_chart() -> Path:
    from foresight.devcluster import cache_root

    return cache_root() / "demo-output" / "fan-chart.png"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (CI, `timeout`) tears down like Ctrl-C does.
    raise KeyboardInterrupt


def demo(
    keep: Annotated[bool, typer.Option(help="Leave the cluster running; print its kubeconfig.")] = False,
    no_tty: Annotated[bool, typer.Option("--no-tty", help="Plain lines instead of the live view.")] = False,
    duration: Annotated[
        float, typer.Option(help="Longest narration in seconds (it ends earlier once everything happened).")
    ] = 480,
    chart: Annotated[Path | None, typer.Option(help="Fan chart PNG (default: in the cache).")] = None,
    summary_json: Annotated[Path | None, typer.Option(help="Write the outcomes as JSON.")] = None,
    tick_seconds: Annotated[float, typer.Option(help="The operator's reconcile interval.")] = 5.0,
) -> None:
    """The main job: a local cluster, a real trace, live forecasts, HPA and node actions."""
    console = Console()
    plain = no_tty or not console.is_terminal
    if plain and not console.is_terminal:
        console = Console(width=160)  # logs and pipes: one event per line
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
    for name, outcome in summary["outcomes"].items():
        mark = "[green]ok[/]" if outcome["ok"] else "[red]FAILED[/]"
        console.print(f"{mark}  {name}: {outcome['message']}")
    console.print(f"fan chart: {chart}")
    if not summary["ok"]:
        console.print("[red]the demo did not show everything it should; see the operator log above[/]")
        raise typer.Exit(1)


class _Run:
    """One demo run: its cluster, operator, memory driver and timeline."""

    def __init__(self, console: Console, plain: bool) -> None:
        self.console = console
        self.plain = plain
        self.began = time.monotonic()
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
        from foresight.devcluster import cluster
        from foresight.devcluster.handle import DevCluster

        since = time.monotonic()
        with self.step("building or fetching the control plane, kwok, helm and Prometheus (first run: long)"):
            tools = cluster.ensure_tools()
        self._lap("tools_seconds", since)

        since = time.monotonic()
        if cluster.info_path(stack.CLUSTER_NAME).exists():
            # A kept demo cluster's trace clock has moved on: start the scenario afresh.
            cluster.down(stack.CLUSTER_NAME)
        with self.step("starting etcd, kube-apiserver, controller-manager, scheduler, kwok, Prometheus"):
            self.info = cluster.up(stack.cluster_config(scenario.NOW_AT))
        self._lap("cluster_seconds", since)
        dev = DevCluster(self.info)
        state = Path(self.info.state_dir)
        self.note(
            f"cluster `{stack.CLUSTER_NAME}` up at {self.info.apiserver_url}, Prometheus {dev.prometheus_url}"
        )

        since = time.monotonic()
        with dev.api_client() as api, self.step("installing the chart's CRDs and RBAC with helm"):
            stack.helm_install(tools.helm, api, state)
            stack.wait_crds_established(api)
            sa_kubeconfig = stack.service_account_kubeconfig(
                api, dev.kubeconfig, state / "operator.kubeconfig"
            )
            node_names = dev.create_nodes(
                3, scenario.NODE_PREFIX, zones=scenario.NODE_ZONES,
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

        bodies = scenario.manifests(stack.REPO / "examples")
        with dev.api_client() as api:
            for body in bodies:
                stack.apply(api, body)
                if body["kind"] == "Namespace":
                    stack.wait_default_service_account(api, scenario.NAMESPACE)
        self.note(
            "applied examples/: Deployment + HPA (floor 2) + PDB, "
            "PredictiveScaler web, FailoverPolicy workers"
        )
        self._lap("setup_seconds", since)

        since = time.monotonic()
        self.operator = stack.OperatorProcess(sa_kubeconfig, dev.prometheus_url, state, tick_seconds)
        self.operator.start()
        with self.step("starting the operator and loading the forecasters"):
            deadline = time.monotonic() + 180
            while not self.operator.healthy():
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the operator is not healthy after 180 s; see {self.operator.log_path}"
                    )
                time.sleep(0.5)
        self._lap("operator_start_seconds", since)
        self.note(f"operator running (log: {self.operator.log_path})")
        return self._narrate(dev, duration, chart)

    def _narrate(self, dev: Any, duration: float, chart: Path) -> dict[str, Any]:
        from foresight.devcluster import nodes as kwok_nodes
        from foresight.devcluster import trace as trace_mod

        assert self.driver is not None
        replay = trace_mod.Replay(
            trace_mod.load_csv(Path(self.info.trace_csv)),
            datetime.fromisoformat(self.info.trace_now_at),
            datetime.fromisoformat(self.info.trace_anchor),
            self.info.trace_acceleration,
        )
        timeline = scenario.Timeline(started_at=datetime.now(UTC))
        threshold = scenario.surge_threshold(timeline.original_floor)
        snapshots: list[view.Snapshot] = []
        began = time.monotonic()
        last_line = 0.0
        done_at: float | None = None
        exhausted_noted = False
        live = None if self.plain else Live(console=self.console, refresh_per_second=4, transient=False)
        if live is not None:
            live.start()
        try:
            with dev.api_client() as api:
                while time.monotonic() - began < duration:
                    now = datetime.now(UTC)
                    load = replay.value_at(now)
                    snap = view.observe(api, now, load, self.driver.values)
                    snapshots.append(snap)
                    self._events(snap, timeline, threshold, api, kwok_nodes)
                    if timeline.failed_at and not exhausted_noted:
                        exhausted_noted = True
                    elapsed = time.monotonic() - began
                    if live is not None:
                        live.update(view.render(snap, timeline, self.log, elapsed))
                    elif elapsed - last_line >= 10:
                        last_line = elapsed
                        self.console.print(view.status_line(snap, elapsed), highlight=False)
                    finished = (
                        timeline.surge_at is not None
                        and timeline.floor_raised_at is not None
                        and timeline.pods_running_after_failure is not None
                    )
                    if finished and done_at is None:
                        done_at = time.monotonic()
                    if done_at is not None and time.monotonic() - done_at > TAIL_SECONDS:
                        break
                    time.sleep(POLL_SECONDS)
        finally:
            if live is not None:
                live.stop()
        with self.step("drawing the fan chart"):
            view.fan_chart(
                chart, snapshots, timeline, dev.prometheus_url,
                bodies_query(), scenario.CAPACITY_PER_REPLICA,
            )  # fmt: skip
        timeline.chart_path = str(chart)
        timeline.chart_bytes = chart.stat().st_size if chart.exists() else 0
        return scenario.summary(
            timeline,
            {
                "timings": {**self.timings, "narration_seconds": round(time.monotonic() - began, 1)},
                "cluster": stack.CLUSTER_NAME,
                "operator_log": str(self.operator.log_path) if self.operator else None,
                "log": self.log,
            },
        )

    def _events(
        self, snap: view.Snapshot, timeline: scenario.Timeline, threshold: float, api: Any, kwok_nodes: Any
    ) -> None:
        """Turn what was observed into the narrated timeline (each event once)."""
        assert self.driver is not None
        fc = snap.forecast
        if (
            timeline.floor_raised_at is None
            and snap.hpa_min is not None
            and snap.hpa_min > timeline.original_floor
        ):
            timeline.floor_raised_at, timeline.raised_floor = snap.at, snap.hpa_min
            self.note(
                f"HPA floor {timeline.original_floor} -> {snap.hpa_min}: load is {snap.load:.0f}/min, "
                f"forecast p90 of the peak {fc.get('peakP90')} in the lead window "
                f"({scenario.STARTUP_SECONDS} s ahead)"
            )
        if timeline.surge_at is None and snap.load > threshold:
            timeline.surge_at, timeline.surge_load = snap.at, snap.load
            ahead = (
                f"; the floor rose {(snap.at - timeline.floor_raised_at).total_seconds():.0f} s earlier"
                if timeline.floor_raised_at
                else "; the floor had not risen"
            )
            self.note(
                f"surge: {snap.load:.0f} req/min, more than the original floor of "
                f"{timeline.original_floor} serves "
                f"({threshold:.0f}){ahead}; {snap.running_pods} pods Running"
            )
        if timeline.leaking_node is None and snap.policy.get("lastEvaluation") and snap.running_pods >= 2:
            loaded = max(snap.nodes.items(), key=lambda item: item[1].running_pods)
            if loaded[1].running_pods > 0:
                timeline.leaking_node, timeline.leak_started_at = loaded[0], snap.at
                self.driver.leak(
                    loaded[0], scenario.MEMORY_START_BYTES, scenario.MEMORY_LEAK_BYTES_PER_SECOND
                )
                self.note(
                    f"{loaded[0]} starts leaking memory: "
                    f"{scenario.MEMORY_START_BYTES // scenario.MIB} MiB free, "
                    f"-{scenario.MEMORY_LEAK_BYTES_PER_SECOND // scenario.MIB} MiB/s; it fails at "
                    f"{scenario.MEMORY_THRESHOLD_BYTES // scenario.MIB} MiB"
                )
        node = timeline.leaking_node
        if node is None or node not in snap.nodes:
            return
        state = snap.nodes[node]
        if timeline.tainted_at is None and "NoSchedule" in state.taints:
            timeline.tainted_at = snap.at
            risk: dict[str, Any] = next(
                (r for r in snap.policy.get("nodesAtRisk", []) if r["node"] == node), {}
            )
            self.note(
                f"operator tainted {node} NoSchedule (failure probability {risk.get('failureProbability')}: "
                f"{'; '.join(risk.get('reasons', []))[:120]})"
            )
        if timeline.tainted_at is not None and timeline.drained_at is None and state.running_pods == 0:
            timeline.drained_at = snap.at
            self.note(
                f"{node} drained through the eviction API (PDB respected); "
                f"{snap.running_pods} pods Running elsewhere"
            )
        memory = snap.memory.get(node, float("inf"))
        if timeline.failed_at is None and memory <= scenario.MEMORY_THRESHOLD_BYTES:
            timeline.failed_at = snap.at  # the moment the node runs out of memory: its failure
            self.note(f"{node} is out of memory")
        if (
            timeline.failed_at is not None
            and timeline.drained_at is not None
            and timeline.pods_running_after_failure is None
            and "notready" not in timeline.notes
        ):
            kwok_nodes.make_not_ready(api, node)
            timeline.notes.append("notready")
            lead = (timeline.failed_at - timeline.drained_at).total_seconds()
            self.note(
                f"{node} fails (NotReady): it was drained {lead:.0f} s before it failed"
                if lead >= 0
                else f"{node} fails (NotReady): drained only {-lead:.0f} s after it ran out of memory"
            )
        if "notready" in timeline.notes and timeline.pods_running_after_failure is None and not state.ready:
            timeline.pods_running_after_failure = snap.running_pods
            self.note(f"{node} is NotReady; {snap.running_pods} web pods still Running on the other nodes")

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


def bodies_query() -> str:
    """The PredictiveScaler example's PromQL: the chart plots the same series the operator reads."""
    scaler = scenario.load_examples(stack.REPO / "examples")["PredictiveScaler/web"]
    return str(scaler["spec"]["metric"]["prometheus"]["query"])
