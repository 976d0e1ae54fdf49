"""``foresight evaluate``: rolling-origin backtest of forecasters on any CSV load trace.

Scores every model on the test split (last 20 % by time) with the same origins and the same
number of sample paths, prints a table, and optionally writes JSON, a fan chart, and a
batched-inference benchmark (``--profile``).

Two references are always in view: ``naive`` (persistence with the history's own multi-step
changes) is scored even when ``--models`` leaves it out, and every model reports
``crps_vs_naive`` (its CRPS over naive's on the same origins: below 1 beats persistence).
``theta`` (statsmodels' Theta method) is an outside library's automatic model.

The planner sizes for the peak of its lead window, so that is scored too (``peak`` per model):
the maximum over ``[origin + startup, origin + startup + window]`` (``--startup``, default 3m,
the planner's default start-up time; ``--window``, default 10m: a few control intervals, the
time a floor set now has to hold while scale-down stabilization keeps it up; ``--window 1m``
scores exactly the planner's one-interval window). Reported: normalised pinball loss and
coverage of the predicted p90 and p99 peaks. The horizon is extended to reach the window's end.

The JSON's ``protocol`` says which kind of score this is. ``test-split``: origins lie in the
last 20 % of each series; a trained model (deepar) may have seen these series in training,
so its scores are optimistic for workloads it has never seen.
"""

from __future__ import annotations

import json
import math
import pathlib
import resource
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from foresight.api.v1alpha1 import parse_duration
from foresight.forecasting import backtest, datasets

if TYPE_CHECKING:
    from foresight.forecasting import BaseForecaster

__all__ = ["evaluate", "profile_inference"]

DEFAULT_MODELS = "deepar,auto,seasonal-naive,holt-winters,fft,theta,naive"
# The reference every model's CRPS is divided by; always scored.
REFERENCE_MODEL = "naive"
PROTOCOL = "test-split"
PROTOCOL_NOTE = (
    "origins in the last 20 % of each series by time; trained models (deepar) may have seen these "
    "series in training unless evaluated with leave-one-trace-out"
)


def evaluate(
    trace: Annotated[
        pathlib.Path, typer.Option(help="CSV (optionally .gz) with a time and value column(s).")
    ],
    time_column: Annotated[
        str, typer.Option(help="Timestamp column (else a step_<n>min index).")
    ] = "timestamp",
    value_column: Annotated[
        list[str] | None, typer.Option(help="Value column(s); default: value / a cpu column. Repeatable.")
    ] = None,
    all_columns: Annotated[bool, typer.Option(help="Evaluate every numeric column as a series.")] = False,
    max_series: Annotated[int, typer.Option(help="With --all-columns: at most this many (0 = all).")] = 0,
    horizon: Annotated[
        str, typer.Option(help="Forecast horizon, e.g. 30m, 1h (extended to reach the lead window's end).")
    ] = "30m",
    startup: Annotated[
        str, typer.Option(help="Lead window start after the origin: pod start-up time (peak scores).")
    ] = "3m",
    window: Annotated[
        str, typer.Option(help="Lead window length whose peak is scored (default 10m; 1m = the planner's).")
    ] = "10m",
    models: Annotated[
        str, typer.Option(help="Comma-separated registered forecasters (naive is always added).")
    ] = DEFAULT_MODELS,
    origins: Annotated[int, typer.Option(help="Rolling origins per series in the test split.")] = 100,
    samples: Annotated[int, typer.Option(help="Sample paths per forecast.")] = 100,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    json_out: Annotated[pathlib.Path | None, typer.Option("--json", help="Write the scores as JSON.")] = None,
    plot: Annotated[pathlib.Path | None, typer.Option(help="Write a fan chart (PNG).")] = None,
    profile: Annotated[
        bool, typer.Option(help="Benchmark 1,000 series x 100 samples x 30 steps with the first model.")
    ] = False,
) -> None:
    """Backtest forecasters on a trace's test split: CRPS (and vs naive), wQL, coverage, lead-window peaks."""
    from foresight import forecasting

    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # logs and pipes: keep the table readable
    columns: list[str] | None = value_column or None
    if all_columns:
        head = pd.read_csv(trace, nrows=2)
        columns = datasets.value_columns(head, time_column)
        if max_series:
            columns = columns[:max_series]
    series = datasets.read_trace(trace, time_column=time_column, columns=columns)
    step = series[0].step_seconds
    horizon_steps = max(1, math.ceil(parse_duration(horizon).total_seconds() / step))
    startup_seconds, window_seconds = (parse_duration(d).total_seconds() for d in (startup, window))
    peak_steps = backtest.lead_window_steps(step, startup_seconds, window_seconds)
    if horizon_steps <= peak_steps[1]:
        console.print(
            f"horizon {horizon} ends before the lead window ({startup} + {window}): "
            f"extended to {peak_steps[1] + 1} steps"
        )
        horizon_steps = peak_steps[1] + 1
    bt = backtest.prepare(series, horizon_steps, max_origins=origins)
    if not bt.histories:
        raise typer.BadParameter("the test split is shorter than the horizon: nothing to evaluate")
    result: dict[str, Any] = {
        "protocol": PROTOCOL,
        "protocol_note": PROTOCOL_NOTE,
        "trace": str(trace),
        **run_summary(bt, step, horizon_steps, startup_seconds, window_seconds, peak_steps),
        "models": {},
        "series": [s.item_id for s in series],
        "samples": samples,
        "seed": seed,
    }
    names = list(dict.fromkeys(m.strip() for m in models.split(",") if m.strip()))
    chosen = {name: forecasting.get(name) for name in names}
    fan: dict[str, np.ndarray] = {}
    result["models"] = score_models(chosen, bt, horizon_steps, peak_steps, samples, seed, fan, _plot_row(bt))
    _print_table(console, result)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2) + "\n")
    if plot:
        _fan_chart(plot, bt, fan, series, step, trace.name)
    if profile:
        first = next(iter(result["models"]))
        stats = profile_in_fresh_process(first, trace, time_column, series[0].item_id.split(":")[-1])
        console.print(
            f"[bold]{first}[/]: 1000 series x 100 samples x 30 steps in {stats['wall_seconds_min']:.2f} s "
            f"(median of 3: {stats['wall_seconds_median']:.2f} s) on {stats['torch_threads']} torch threads; "
            f"model load {stats['model_load_seconds']:.2f} s; "
            f"RSS after imports {stats['rss_imports_mb']:.0f} MB, "
            f"with the model {stats['rss_model_mb']:.0f} MB, peak {stats['peak_rss_mb']:.0f} MB"
        )
        result["profile"] = stats
        if json_out:
            json_out.write_text(json.dumps(result, indent=2) + "\n")


def score_models(
    models: Mapping[str, BaseForecaster],
    bt: backtest.Backtest,
    horizon_steps: int,
    peak_steps: tuple[int, int],
    samples: int,
    seed: int,
    fan: dict[str, np.ndarray] | None = None,
    fan_row: int = 0,
) -> dict[str, dict[str, Any]]:
    """Every model's scores on the same origins, timed, each with ``crps_vs_naive``.

    The reference (``naive``) is scored too when ``models`` lacks it. ``fan`` collects each model's
    paths at origin ``fan_row`` for a chart.
    """
    from foresight import forecasting

    if REFERENCE_MODEL not in models:
        models = {**models, REFERENCE_MODEL: forecasting.get(REFERENCE_MODEL)}
    scored: dict[str, dict[str, Any]] = {}
    for name, model in models.items():
        started = time.perf_counter()
        paths, used = backtest.forecast(model, bt.histories, horizon_steps, samples, seed)
        scores = backtest.score(paths, bt, peak_steps)
        scores["seconds"] = round(time.perf_counter() - started, 2)
        if name == "auto":
            picks = [m for m in used if m != name]  # histories too short to choose for name auto itself
            scores["choices"] = {c: picks.count(c) for c in sorted(set(picks))}
        scored[name] = scores
        if fan is not None:
            fan[name] = paths[fan_row]
    reference = scored[REFERENCE_MODEL]["crps"]
    for scores in scored.values():
        scores["crps_vs_naive"] = scores["crps"] / reference if reference > 0 else float("nan")
    return scored


def run_summary(
    bt: backtest.Backtest,
    step: int,
    horizon_steps: int,
    startup_seconds: float,
    window_seconds: float,
    peak_steps: tuple[int, int],
) -> dict[str, Any]:
    """The keys every score file shares: grid, horizon, origins and the lead window scored."""
    return {
        "step_seconds": step,
        "horizon_steps": horizon_steps,
        "origins": len(bt.histories),
        "lead_window": {
            "startup_seconds": startup_seconds,
            "window_seconds": window_seconds,
            "first_step": peak_steps[0],
            "last_step": peak_steps[1],
        },
    }


def _plot_row(bt: backtest.Backtest) -> int:
    # The middle origin of the first series: a typical moment, not the edge of the data.
    rows = np.flatnonzero(bt.row_series == 0)
    return int(rows[len(rows) // 2])


def _print_table(console: Console, result: dict[str, Any]) -> None:
    table = Table(
        title=f"{result['trace']}  step {result['step_seconds']} s, horizon {result['horizon_steps']} steps, "
        f"{result['origins']} origins (protocol: {result['protocol']})"
    )
    for col in (
        "model",
        "CRPS",
        "vs naive",
        "wQL 0.1",
        "wQL 0.5",
        "wQL 0.9",
        "MASE",
        "cov 80",
        "cov 90",
        "Crane err",
        "s",
    ):
        table.add_column(col, justify="left" if col == "model" else "right")
    best = min(v["crps"] for v in result["models"].values())
    for name, v in result["models"].items():
        crps = f"{v['crps']:.4f}"
        table.add_row(
            name,
            f"[bold green]{crps}[/]" if v["crps"] == best else crps,
            f"{v['crps_vs_naive']:.3f}",
            *(f"{v['wql'][q]:.4f}" for q in ("0.1", "0.5", "0.9")),
            f"{v['mase']:.3f}",
            f"{v['coverage_80']:.1%}",
            f"{v['coverage_90']:.1%}",
            f"{v['under_forecast_error']:.3f}",
            f"{v['seconds']:.1f}",
        )
    console.print(table)
    lead = result["lead_window"]
    startup_minutes, window_minutes = lead["startup_seconds"] / 60, lead["window_seconds"] / 60
    peaks = Table(
        title=f"Lead-window peak: {startup_minutes:g} min start-up + {window_minutes:g} min window "
        f"(steps {lead['first_step'] + 1}-{lead['last_step'] + 1} after the origin); "
        "coverage should be 90 % and 99 %"
    )
    for col in ("model", "peak wQL p90", "peak wQL p99", "peak cov p90", "peak cov p99"):
        peaks.add_column(col, justify="left" if col == "model" else "right")
    for name, v in result["models"].items():
        p = v["peak"]
        peaks.add_row(
            name,
            *(f"{p['wql'][q]:.4f}" for q in ("0.9", "0.99")),
            *(f"{p['coverage'][q]:.1%}" for q in ("0.9", "0.99")),
        )
    console.print(peaks)


def _fan_chart(
    path: pathlib.Path,
    bt: backtest.Backtest,
    fan: dict[str, np.ndarray],
    series: list[Any],
    step: int,
    title: str,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    row = _plot_row(bt)
    origin = int(bt.origin_index[row])
    s = series[int(bt.row_series[row])]
    horizon = bt.actual.shape[1]
    context = min(origin, 4 * horizon)
    values = s.clean()
    minutes = np.arange(-context, horizon) * step / 60.0
    fig, axes = plt.subplots(len(fan), 1, figsize=(9, 2.6 * len(fan)), sharex=True, squeeze=False)
    for ax, (name, paths) in zip(axes[:, 0], fan.items(), strict=True):
        q10, q50, q90 = np.quantile(paths, [0.1, 0.5, 0.9], axis=0)
        fut = minutes[context:]
        ax.plot(minutes, values[origin - context : origin + horizon], color="black", lw=1, label="actual")
        ax.fill_between(fut, q10, q90, color="tab:blue", alpha=0.3, label="p10-p90")
        ax.plot(fut, q50, color="tab:blue", lw=1.5, label="median")
        ax.axvline(0, color="grey", ls=":", lw=1)
        ax.set_title(name, fontsize=10, loc="left")
        ax.set_ylabel(s.item_id.split(":")[-1] if ":" in s.item_id else "value")
        ax.legend(loc="upper left", fontsize=8)
    axes[-1, 0].set_xlabel("minutes from the forecast origin")
    fig.suptitle(f"{title}: forecast from {s.start + pd.Timedelta(seconds=origin * step)}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def profile_in_fresh_process(
    name: str, trace: pathlib.Path, time_column: str, column: str
) -> dict[str, float]:
    """Run :func:`profile_inference` in a new interpreter so RSS is the model's, not the backtest's."""
    code = (
        "import json, pathlib, sys\n"
        "from foresight.commands.evaluate import profile_inference\n"
        "args = sys.argv[1:]\n"
        "print(json.dumps(profile_inference(args[0], pathlib.Path(args[1]), args[2], args[3])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code, name, str(trace), time_column, column],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def profile_inference(
    name: str, trace: pathlib.Path, time_column: str, column: str, n_series: int = 1_000
) -> dict[str, float]:
    """Wall time and RSS of one batched call: ``n_series`` x 100 samples x 30 steps.

    Histories are ``n_series`` distinct windows of the trace ending at different times.
    """
    import torch

    from foresight import forecasting

    template = datasets.read_trace(trace, time_column=time_column, columns=[column])[0]
    rss_imports = _peak_rss_mb()
    started = time.perf_counter()
    model = forecasting.get(name)
    load_seconds = time.perf_counter() - started
    rss_model = _peak_rss_mb()
    length = min(len(template) // 2, 2_000)
    ends = np.linspace(length, len(template), n_series).astype(int)
    histories = [template.head(int(e)).tail(length) for e in ends]
    model.sample(histories[:10], 30, 100, seed=0)  # warm-up: lazy imports, allocator
    timings = []
    for rep in range(3):
        started = time.perf_counter()
        model.sample(histories, 30, 100, seed=rep)
        timings.append(time.perf_counter() - started)
    return {
        "series": n_series,
        "samples": 100,
        "horizon_steps": 30,
        "step_seconds": template.step_seconds,
        "torch_threads": torch.get_num_threads(),
        "model_load_seconds": round(load_seconds, 3),
        "wall_seconds_min": round(min(timings), 3),
        "wall_seconds_median": round(float(np.median(timings)), 3),
        "rss_imports_mb": round(rss_imports, 1),
        "rss_model_mb": round(rss_model, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
