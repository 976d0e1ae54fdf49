"""``foresight bench`` and ``foresight bench-report``: replay load traces under every scaling policy.

HPA, Holt-Winters, FFT, Foresight and an oracle; no cluster needed.

``bench`` scores one trace (rich table, ``--json``, ``--plot``); ``bench_report`` runs every shared trace and
writes ``docs/benchmark.md`` with its figures. The protocol is in :mod:`foresight.simulation._bench`.
"""

from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from foresight import simulation
from foresight.api.v1alpha1 import parse_duration
from foresight.commands import train

__all__ = ["bench", "bench_report"]

console = Console(stderr=True)

SHARED_LOAD = Path("../shared/datasets/load")
DOC_TRACES = (
    "nasa_http_1995_requests_per_minute.csv",
    "alibaba2018_cluster_mean_10s.csv.gz",
    "alibaba2018_cluster_mean_30s.csv",
    "alibaba2018_cluster_mean_300s.csv",
    "azure_v2_cluster_sum_300s.csv",
    "google2019_cluster_mean_300s.csv",
    "azure_v1_vms/microsoft_avg_100_cpu_pct_5min.csv.gz",
    "azure_v1_vms/microsoft_max_100_cpu_pct_5min.csv.gz",
    "azure_v1_vms/periodic_avg_78_cpu_pct_5min.csv.gz",
    "azure_v1_vms/periodic_max_78_cpu_pct_5min.csv.gz",
)


_Ablation = Annotated[
    bool, typer.Option(help="Also replay the variants of Foresight's default (simulation.ABLATION).")
]
_FloorSweep = Annotated[
    bool, typer.Option(help="Foresight's frontier also sweeps the HPA's target under a 0.01 miss-rate floor.")
]


def _seconds(text: str) -> int:
    return int(parse_duration(text).total_seconds())


def _config(
    capacity_per_replica: float | None,
    peak_replicas: int,
    startup: str,
    policies: str,
    model: str,
    quantile: float,
    hpa_target: float,
    forecast_every: str | None,
    eval_days: float | None,
    sweep: bool,
    sweep_days: float | None,
    calibrate: bool = False,
    jobs: int = 1,
    reconcile: str = "30s",
    scrape_interval: str = "30s",
    rate_window: str = "2m",
) -> simulation.BenchConfig:
    names = tuple(p.strip() for p in policies.split(",") if p.strip())
    unknown = sorted(set(names) - set(simulation.POLICIES))
    if unknown:
        raise typer.BadParameter(f"unknown policies {unknown}; known: {', '.join(simulation.POLICIES)}")
    return simulation.BenchConfig(
        capacity_per_replica=capacity_per_replica,
        peak_replicas=peak_replicas,
        startup_seconds=_seconds(startup),
        reconcile_seconds=_seconds(reconcile),
        scrape_interval_seconds=_seconds(scrape_interval),
        rate_window_seconds=_seconds(rate_window),
        policies=names,
        model=model,
        quantile=quantile,
        hpa_target=hpa_target,
        forecast_every_seconds=_seconds(forecast_every) if forecast_every else None,
        eval_days=eval_days,
        sweep=sweep,
        sweep_days=sweep_days,
        calibrate=calibrate,
        jobs=max(1, jobs),
    )


def _table(result: simulation.BenchResult) -> Table:
    table = Table(
        title=f"{result.trace.name} ({result.trace.column}), start-up {result.config.startup_seconds} s"
    )
    columns = [
        ("under_provisioned_pct", "under-prov. %", 3),
        ("replica_hours", "replica-h", 1),
        ("over_provisioning_vs_oracle_pct", "vs oracle %", 1),
        ("scaling_actions_per_day", "actions/day", 1),
        ("surges_served_in_time", "surges in time", 0),
        ("latency_p99_ms_high_traffic", "p99 ms (high)", 0),
    ]
    table.add_column("policy")
    for _, title, _ in columns:
        table.add_column(title, justify="right")
    for name, values in result.metrics.items():
        table.add_row(name, *(f"{values.get(key, float('nan')):,.{d}f}" for key, _, d in columns))
    return table


def _seed_tables(result: simulation.BenchResult) -> list[Table]:
    """The seed paper's terms: HPA vs Foresight vs oracle at equal replica-hours and at the SLO."""
    tables = []
    columns = [
        ("latency_p50_ms_high_traffic", "p50 ms (high)", 0),
        ("latency_p99_ms_high_traffic", "p99 ms (high)", 0),
        ("peak_throughput", "peak served", 1),
        ("cpu_utilization_pct", "CPU %", 1),
        ("under_provisioned_minutes", "under-prov. min", 1),
        ("replica_hours", "replica-h", 1),
    ]
    for key, title in (("equal_replica_hours", "at equal replica-hours"), ("at_slo", "at the SLO (≤ 0.1 %)")):
        rows = result.seed_terms.get(key) or {}
        if not rows:
            continue
        table = Table(title=f"{result.trace.name}: {title}")
        table.add_column("policy")
        table.add_column("setting")
        for _, name, _ in columns:
            table.add_column(name, justify="right")
        for policy, values in rows.items():
            cells = [f"{float(values.get(k, float('nan'))):,.{d}f}" for k, _, d in columns]
            table.add_row(policy, str(values.get("setting", "")), *cells)
        tables.append(table)
    return tables


def trace_source(path: Path) -> str:
    """The source group of a trace file, as the training mix names it (else the file's own name)."""
    for name in (path.name, f"{path.parent.name}/{path.name}"):
        try:
            return train.source_of(name)
        except ValueError:
            continue
    return f"trace {path.name}"


def _forecaster(model: str, artifact: Path | None) -> tuple[Any, str]:
    if artifact is None:
        return simulation.resolve_model(model)
    from foresight.forecasting import artifacts

    loaded = artifacts.load(artifact)
    return loaded, f"{loaded.name} ({artifact})"


def _check_unseen(
    path: Path, loaded: simulation.Trace, config: simulation.BenchConfig, forecaster: Any, allow_seen: bool
) -> simulation.ModelExposure:
    """Refuse (unless ``allow_seen``) a forecaster that may have seen the scored window of the trace."""
    first, _ = simulation.scored_window(loaded, config)
    source = trace_source(path)
    exposure = simulation.model_exposure(forecaster, source, first / len(loaded), train.source_of)
    if not exposure.unseen and not allow_seen:
        raise typer.BadParameter(
            f"{exposure.note}. Benchmark a model that never saw this workload: train one without it "
            f"(foresight train --exclude {source} --out DIR) and pass --model-artifact DIR, or pass "
            "--allow-seen to run anyway with the result labelled in-sample.",
            param_hint="--model",
        )
    return exposure


def _run(
    trace: Path,
    time_column: str,
    value_column: str | None,
    config: simulation.BenchConfig,
    artifact: Path | None,
    allow_seen: bool,
) -> Any:
    loaded = simulation.read_trace(trace, time_column, value_column)
    forecaster, description = _forecaster(config.model, artifact)
    exposure = _check_unseen(trace, loaded, config, forecaster, allow_seen)
    config = dataclasses.replace(config, model=description)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console, transient=True,
    ) as bar:  # fmt: skip
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return simulation.run_benchmark(loaded, config, progress, forecaster=forecaster, exposure=exposure)


def bench(
    trace: Annotated[
        Path, typer.Option("--trace", help="CSV load trace (optionally .gz).", exists=True, dir_okay=False)
    ],
    time_column: Annotated[str, typer.Option(help="Timestamp column (ISO-8601, UTC).")] = "timestamp",
    value_column: Annotated[
        str | None, typer.Option(help="Load column; default: 'value', else the first CPU column.")
    ] = None,
    capacity_per_replica: Annotated[
        float | None,
        typer.Option(help="Load one ready replica serves; default: trace max / --peak-replicas."),
    ] = None,
    peak_replicas: Annotated[int, typer.Option(help="Replicas the busiest moment needs.")] = 20,
    startup: Annotated[
        str, typer.Option(help="Pod start-up time (request to ready), e.g. 3m or 10m.")
    ] = "3m",
    policies: Annotated[str, typer.Option(help="Comma-separated policies.")] = ",".join(simulation.POLICIES),
    model: Annotated[str, typer.Option(help="Foresight's forecaster (registry name).")] = "analog",
    model_artifact: Annotated[
        Path | None,
        typer.Option(
            help="Foresight's forecaster from an artifact folder (e.g. `foresight train --exclude`)."
        ),
    ] = None,
    allow_seen: Annotated[
        bool,
        typer.Option(help="Run a model that may have seen the scored window anyway, labelled in-sample."),
    ] = False,
    quantile: Annotated[float, typer.Option(help="Foresight's forecast quantile.")] = 0.9,
    hpa_target: Annotated[float, typer.Option(help="HPA target utilization (of capacity).")] = 0.7,
    forecast_every: Annotated[
        str | None,
        typer.Option(help="Forecast this often; default: every forecast step, as the operator does."),
    ] = None,
    reconcile: Annotated[
        str, typer.Option(help="How often Foresight decides (the operator's --tick).")
    ] = "30s",
    scrape_interval: Annotated[
        str, typer.Option(help="Metric pipeline: Prometheus scrape interval.")
    ] = "30s",
    rate_window: Annotated[str, typer.Option(help="Metric pipeline: the query's rate window.")] = "2m",
    eval_days: Annotated[
        float | None, typer.Option(help="Score only this many days after the warm-up.")
    ] = None,
    warmup: Annotated[
        str | None,
        typer.Option(
            help="History only, before the scored days (default 7 days, or 30 % of a shorter trace); "
            "e.g. 21d scores days the default run does not."
        ),
    ] = None,
    sweep: Annotated[bool, typer.Option(help="Sweep the frontier (target utilization, quantile).")] = True,
    sweep_days: Annotated[
        float | None, typer.Option(help="Sweep on the first N evaluated days only.")
    ] = None,
    calibrate: Annotated[
        bool, typer.Option(help="Foresight scales its peak by how past peaks compared with forecasts.")
    ] = False,
    jobs: Annotated[int, typer.Option(help="Processes (results do not depend on it).")] = 2,
    ablation: _Ablation = False,
    floor_sweep: _FloorSweep = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write a PNG: demand vs capacity, and the frontier.")
    ] = None,
    window: Annotated[
        str | None, typer.Option(help="Plot window: START/END (ISO) or a duration around the sharpest rise.")
    ] = None,
) -> None:
    """Replay a load trace under HPA, Holt-Winters, FFT, Foresight and an oracle; score cost and violation."""
    config = _config(
        capacity_per_replica, peak_replicas, startup, policies, model, quantile, hpa_target, forecast_every,
        eval_days, sweep, sweep_days, calibrate, jobs, reconcile, scrape_interval, rate_window,
    )  # fmt: skip
    config = dataclasses.replace(
        config,
        ablation=ablation,
        floor_sweep=floor_sweep,
        warmup_seconds=None if warmup is None else _seconds(warmup),
    )
    result = _run(trace, time_column, value_column, config, model_artifact, allow_seen)
    Console().print(_table(result))
    for table in _seed_tables(result):
        Console().print(table)
    summary = result.summary
    if "foresight" in result.metrics and "hpa" in result.frontier:
        console.print(
            f"Foresight vs HPA: under-provisioned ratio at equal replica-hours "
            f"{_number(summary['under_provisioned_ratio_vs_hpa'])} (whole frontiers: "
            f"{_number(summary['frontier_ratio_vs_hpa'])}); replica-hours at the SLO "
            f"{_number(summary['replica_hours_at_slo_vs_hpa'])} (least possible "
            f"{_number(summary['replica_hours_at_slo_least_vs_hpa'])}, HPA's excess over the oracle saved "
            f"{_number(summary['slo_excess_saved'])}); replica-hours vs oracle "
            f"{_number(summary['replica_hours_vs_oracle'])}; model unseen: {summary.get('model_unseen')}; "
            f"{summary['seconds']:.0f} s"
        )
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    if plot is not None:
        from foresight.simulation import report as _report

        _report.save_plot(result, plot, window)


def _number(value: float) -> str:
    return "–" if value != value else f"{value:.3f}"  # NaN: undefined


def _report_one(
    path: Path, config: simulation.BenchConfig, images: Path, doc_dir: Path, allow_seen: bool
) -> tuple[str, str, dict]:
    from foresight.simulation import report as _report

    started = time.monotonic()
    loaded = simulation.read_trace(path)
    forecaster, description = _forecaster(config.model, None)
    exposure = _check_unseen(path, loaded, config, forecaster, allow_seen)
    config = dataclasses.replace(config, model=description)
    result = simulation.run_benchmark(loaded, config, forecaster=forecaster, exposure=exposure)
    suffix = (
        ""
        if config.startup_seconds == simulation.BenchConfig().startup_seconds
        else f"-{config.startup_seconds}s"
    )
    image = images / f"bench-{result.trace.name}{suffix}.png"
    _report.save_plot(result, image)
    seconds = time.monotonic() - started
    relative = image.relative_to(doc_dir) if image.is_relative_to(doc_dir) else image
    return result.trace.name, _report.markdown_section(result, str(relative), seconds), result.to_json()


def bench_report(
    datasets: Annotated[Path, typer.Option(help="Folder of the shared load traces.")] = SHARED_LOAD,
    report: Annotated[Path, typer.Option(help="Markdown page to write.")] = Path("docs/benchmark.md"),
    images: Annotated[Path, typer.Option(help="Folder for the figures.")] = Path("docs/img"),
    json_dir: Annotated[Path | None, typer.Option(help="Also write one JSON per trace here.")] = None,
    model: Annotated[str, typer.Option(help="Foresight's forecaster.")] = "analog",
    startup: Annotated[
        str, typer.Option(help="Pod start-up times (request to ready), comma-separated: one run each.")
    ] = "3m,10m",
    eval_days: Annotated[float | None, typer.Option(help="Days scored per trace after the warm-up.")] = 14.0,
    sweep_days: Annotated[float | None, typer.Option(help="Days of each trace the frontier sweeps.")] = None,
    jobs: Annotated[int, typer.Option(help="Traces replayed in parallel (processes).")] = 1,
    calibrate: Annotated[
        bool, typer.Option(help="Foresight scales its peak by how past peaks compared with forecasts.")
    ] = False,
    allow_seen: Annotated[
        bool, typer.Option(help="Run a model that may have seen a scored window anyway, labelled in-sample.")
    ] = False,
    ablation: _Ablation = True,
    floor_sweep: _FloorSweep = True,
) -> None:
    """Benchmark every shared load trace and write docs/benchmark.md with its figures."""
    from foresight.simulation import report as _report  # `report` is bench_report's --report path

    configs = [
        simulation.BenchConfig(
            model=model,
            startup_seconds=_seconds(text),
            eval_days=eval_days,
            sweep_days=sweep_days,
            calibrate=calibrate,
            ablation=ablation,
            floor_sweep=floor_sweep,
        )
        for text in (t.strip() for t in startup.split(","))
        if text
    ]
    if not configs:
        raise typer.BadParameter("give at least one start-up time", param_hint="--startup")
    paths = [datasets / name for name in DOC_TRACES if (datasets / name).exists()]
    if not paths:
        raise typer.BadParameter(f"no traces under {datasets}")
    started = time.monotonic()
    doc_dir = report.parent
    runs: list[tuple[simulation.BenchConfig, list[dict], list[str]]] = []
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [
            [pool.submit(_report_one, path, config, images, doc_dir, allow_seen) for path in paths]
            for config in configs
        ]
        for config, run in zip(configs, futures, strict=True):
            results: list[dict] = []
            sections: list[str] = []
            for future in run:
                name, section, data = future.result()
                sections.append(section)
                results.append(data)
                console.print(f"[green]done[/] {name} (start-up {config.startup_seconds} s)")
                if json_dir is not None:
                    json_dir.mkdir(parents=True, exist_ok=True)
                    (json_dir / f"{name}-{config.startup_seconds}s.json").write_text(
                        json.dumps(data, indent=2) + "\n"
                    )
            runs.append((config, results, sections))
    elapsed = time.monotonic() - started
    report.parent.mkdir(parents=True, exist_ok=True)
    discussion = report.with_name(report.stem + "-discussion.md")
    notes = discussion.read_text() if discussion.exists() else ""
    (first, first_results, first_sections), *more = runs
    report.write_text(_report.page(first_results, first_sections, first, elapsed, jobs, notes, more))
    console.print(f"wrote {report} in {elapsed:.0f} s")
