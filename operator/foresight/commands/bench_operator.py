"""``foresight bench-operator``: what one controller tick costs, and how fast a decision reaches the HPA.

Two measurements, printed with the figures a platform team asks about:

1. **Tick for N scalers** (default 1,000; no cluster needed): N distinct windows of a real trace go
   through the same path as the controller's reconcile — the batcher (one batched model call), then
   the planner per scaler — and the process CPU time, wall time and peak RSS are reported.
2. **Tick to HPA patched** (``--kubeconfig`` given): a single scaler against a running API server (the
   local dev cluster): from the start of a tick (history in memory, so Prometheus latency is left out)
   to the HPA patch acknowledged by the API server, repeated, with p50/p99.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import os
import pathlib
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from foresight import forecasting, planning
from foresight.api.v1alpha1 import PredictiveScalerSpec
from foresight.forecasting import datasets
from foresight.handlers.batcher import ForecastBatcher

DEFAULT_TRACE = (
    pathlib.Path(__file__).resolve().parents[3].parent
    / "shared/datasets/load/nasa_http_1995_requests_per_minute.csv"
)


# Ticks a benchmark may advance the windows by.
_MAX_SHIFT = 64


def _spec(capacity: float) -> PredictiveScalerSpec:
    return PredictiveScalerSpec.model_validate(
        {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "metric": {"prometheus": {"query": "q"}, "capacityPerReplica": capacity},
            "forecast": {"model": "analog", "horizon": "30m", "history": "3d", "step": "1m"},
            "scaling": {"maxReplicas": 200},
        }
    )


@functools.cache
def _read_trace(trace: pathlib.Path) -> forecasting.Series:
    """The trace, parsed once: the operator gets histories from Prometheus, not from CSV files."""
    return datasets.read_trace(trace)[0]


def _histories(trace: pathlib.Path, count: int, length: int, shift: int = 0) -> list[forecasting.Series]:
    """``count`` windows of the trace; ``shift`` moves every window that many steps later."""
    template = _read_trace(trace)
    ends = np.linspace(length, len(template.values) - _MAX_SHIFT, count).astype(int) + shift
    return [
        forecasting.Series(
            template.values[e - length : e],
            template.start + timedelta(seconds=template.step_seconds * int(e - length)),
            template.step_seconds,
            item_id=f"scaler-{i}",
        )
        for i, e in enumerate(ends)
    ]


async def _tick(
    batcher: ForecastBatcher, model: str, spec: PredictiveScalerSpec, histories: list[forecasting.Series]
) -> list[planning.ScalingDecision]:
    policy = planning.PlanningPolicy.from_spec(spec)
    results = await asyncio.gather(*(batcher.sample(model, s, 30, 100) for s in histories))
    decisions = []
    for series, (paths, _) in zip(histories, results, strict=True):
        last = series.start + timedelta(seconds=series.step_seconds * (len(series.values) - 1))
        sampled = planning.SampledForecast(paths, series.step_seconds, last, series.values)
        present = planning.Present(current_floor=2)
        decision, _state = planning.step(policy, sampled, present, planning.PlannerState(), last)
        decisions.append(decision)
    return decisions


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _gpu_library_rss_mb() -> float:
    """Resident memory of mapped GPU runtime libraries (the PyPI torch wheel loads CUDA's at import).

    The operator image installs the CPU-only torch wheel, which maps none of them; this figure says how
    much of the RSS above is owed to the wheel of the machine the benchmark ran on.
    """
    total_kb, gpu = 0, False
    try:
        with open("/proc/self/smaps") as smaps:
            for line in smaps:
                head = line.split(maxsplit=6)
                if len(head) >= 5 and "-" in head[0] and ":" not in head[0]:
                    path = head[5] if len(head) > 5 else ""
                    gpu = "/nvidia/" in path or "_cuda" in path or "cudnn" in path or "nccl" in path
                elif gpu and line.startswith("Rss:"):
                    total_kb += int(line.split()[1])
    except OSError:
        return 0.0
    return total_kb / 1024


def tick_benchmark(
    trace: pathlib.Path, scalers: int, model: str, history_points: int, repeats: int
) -> dict[str, Any]:
    """CPU and wall time of one tick for ``scalers`` scalers (batched forecast + planner).

    Like the controller, every tick sees each history one step longer than the tick before: the
    first tick is cold (``analog`` and ``auto`` score every series), later ones are steady state.
    """
    if repeats + 1 > _MAX_SHIFT:
        raise typer.BadParameter(f"at most {_MAX_SHIFT - 1} repeats")
    template = _histories(trace, scalers, history_points)
    capacity = float(np.nanmax(template[0].values)) / 10 or 1.0
    spec = _spec(capacity)
    batcher = ForecastBatcher(window_seconds=0.01)
    warm = [dataclasses.replace(s, item_id=f"warm-up-{i}") for i, s in enumerate(template[:10])]
    asyncio.run(_tick(batcher, model, spec, warm))  # load the model
    rss_model = _peak_rss_mb()
    cpu, wall = [], []
    for shift in range(repeats + 1):
        histories = _histories(trace, scalers, history_points, shift)
        batcher.calls = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        decisions = asyncio.run(_tick(batcher, model, spec, histories))
        cpu.append(time.process_time() - cpu0)
        wall.append(time.perf_counter() - wall0)
    return {
        "scalers": scalers,
        "model": model,
        "samples": 100,
        "horizon_steps": 30,
        "history_points": history_points,
        "model_calls_per_tick": batcher.calls,
        "cold_tick_cpu_seconds": round(cpu[0], 3),
        "cold_tick_wall_seconds": round(wall[0], 3),
        "cpu_seconds_median": round(float(np.median(cpu[1:])), 3),
        "wall_seconds_median": round(float(np.median(wall[1:])), 3),
        "cpu_seconds_max": round(float(np.max(cpu[1:])), 3),
        "rss_after_model_mb": round(rss_model, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "gpu_library_rss_mb": round(_gpu_library_rss_mb(), 1),
        "decisions": len(decisions),
    }


def patch_latency(kubeconfig: pathlib.Path, trace: pathlib.Path, model: str, repeats: int) -> dict[str, Any]:
    """Tick start to HPA patched, for one scaler, against a running API server."""
    from kubernetes import client, config

    from foresight.kube import client as kube
    from foresight.kube import hpa as hpas

    os.environ["KUBECONFIG"] = str(kubeconfig)  # the operator's own client reads it, as in a real run
    config.load_kube_config(str(kubeconfig))
    kube.api_client.cache_clear()
    api = client.ApiClient()
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": namespace}})  # type: ignore[arg-type]
    autoscaling = client.AutoscalingV2Api(api)
    autoscaling.create_namespaced_horizontal_pod_autoscaler(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1,
                "maxReplicas": 500,
            },
        },  # type: ignore[arg-type]  # the client sends plain dicts as they are
    )
    history = _histories(trace, 1, 3 * 1440)[0]
    batcher = ForecastBatcher(window_seconds=0.0)
    spec = _spec(float(np.nanmax(history.values)) / 50)
    asyncio.run(_tick(batcher, model, spec, [history]))
    latencies = []
    try:
        for i in range(repeats):
            started = time.perf_counter()
            decision = asyncio.run(_tick(batcher, model, spec, [history]))[0]
            state = hpas.HpaState.from_object(kube.get_hpa(namespace, "web"))
            floor = decision.floor + (i % 2)  # alternate, so every round really patches
            kube.patch_hpa(namespace, "web", hpas.floor_patch(state, f"{namespace}/bench", floor))
            latencies.append(time.perf_counter() - started)
    finally:
        core.delete_namespace(namespace)
    return {
        "repeats": repeats,
        "p50_seconds": round(float(np.percentile(latencies, 50)), 3),
        "p99_seconds": round(float(np.percentile(latencies, 99)), 3),
        "max_seconds": round(float(np.max(latencies)), 3),
    }


def bench_operator(
    trace: Annotated[
        pathlib.Path, typer.Option(help="CSV trace whose windows stand in for scalers' histories.")
    ] = DEFAULT_TRACE,
    scalers: Annotated[int, typer.Option(help="Scalers in one tick.")] = 1_000,
    model: Annotated[str, typer.Option(help="Forecaster, as in spec.forecast.model.")] = "analog",
    history_points: Annotated[int, typer.Option(help="History length per scaler (points).")] = 3 * 1440,
    repeats: Annotated[int, typer.Option(help="Steady-state ticks to time (after the cold one).")] = 5,
    kubeconfig: Annotated[
        pathlib.Path | None, typer.Option(help="Also time tick → HPA patched on this cluster.")
    ] = None,
    json_out: Annotated[pathlib.Path | None, typer.Option("--json", help="Write the figures here.")] = None,
) -> None:
    """Cost of one controller tick for many scalers, and tick-to-HPA-patch latency for one."""
    console = Console()
    started = datetime.now(UTC)
    result: dict[str, Any] = {
        "started": started.isoformat(),
        "tick": tick_benchmark(trace, scalers, model, history_points, repeats),
    }
    if kubeconfig is not None:
        result["patch_latency"] = patch_latency(kubeconfig, trace, model, repeats=50)
    table = Table(title="Foresight controller tick")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for section, figures in result.items():
        if isinstance(figures, dict):
            for key, value in figures.items():
                table.add_row(f"{section}.{key}", str(value))
    console.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
