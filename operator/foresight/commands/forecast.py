"""``foresight forecast``: one forecast, now, for a PromQL query or a CSV trace.

The same path the operator takes for a PredictiveScaler (history on a regular grid -> sample paths
from a registered forecaster -> quantiles), without a cluster: useful to pick a model, a horizon or a
``capacityPerReplica`` before writing the custom resource. Prints the quantiles per horizon step and
of the peak, and optionally writes a fan chart.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from foresight import forecasting
from foresight.api.v1alpha1 import parse_duration
from foresight.forecasting import datasets

__all__ = ["fan_chart", "forecast", "history_from_csv", "history_from_prometheus", "sample_paths"]

LEVELS = (0.1, 0.5, 0.9)


def history_from_prometheus(
    url: str, query: str, history_seconds: float, step_seconds: int, now: datetime
) -> forecasting.Series:
    """The one series ``query`` returns over the history window, as the operator reads it."""
    from foresight.metrics import PrometheusClient

    # Align to the step, as the operator does, so repeated runs see the same grid.
    end = datetime.fromtimestamp(now.timestamp() // step_seconds * step_seconds, tz=UTC)
    sampled = PrometheusClient(url).single(query, end - timedelta(seconds=history_seconds), end, step_seconds)
    finite = np.flatnonzero(np.isfinite(sampled.values))
    first = int(finite[0])  # leading gaps carry no information
    return forecasting.Series(
        values=sampled.values[first:],
        start=sampled.start + timedelta(seconds=first * step_seconds),
        step_seconds=step_seconds,
        item_id=query,
    )


def history_from_csv(path: pathlib.Path, time_column: str, value_column: str | None) -> forecasting.Series:
    """The whole trace in ``path`` (``observed=0`` rows become gaps): the forecast starts after its end."""
    columns = [value_column] if value_column else None
    return datasets.read_trace(path, time_column=time_column, columns=columns)[0]


def sample_paths(
    model_name: str, history: forecasting.Series, horizon_steps: int, samples: int, seed: int = 0
) -> tuple[np.ndarray, str]:
    """``[samples, horizon_steps]`` paths and the model that made them (``auto`` names its pick)."""
    paths, models = forecasting.get(model_name).forecast([history], horizon_steps, samples, seed)
    used = models[0] if models[0] == model_name else f"{model_name}:{models[0]}"
    return paths[0], used


def fan_chart(
    path: pathlib.Path,
    history: forecasting.Series,
    paths: np.ndarray,
    title: str,
    context_steps: int | None = None,
    ylabel: str = "load",
) -> None:
    """History (black) and the p10-p90 band with the median of ``paths`` after it (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    horizon = paths.shape[-1]
    context = min(len(history), context_steps if context_steps is not None else 4 * horizon)
    step = pd.Timedelta(seconds=history.step_seconds)
    past = history.end - step * np.arange(context, 0, -1)
    future = history.end + step * np.arange(horizon)
    q10, q50, q90 = np.quantile(paths, LEVELS, axis=0)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(past, history.values[-context:], color="black", lw=1, label="history")
    ax.fill_between(future, q10, q90, color="tab:blue", alpha=0.3, label="forecast p10-p90")
    ax.plot(future, q50, color="tab:blue", lw=1.5, label="forecast median")
    ax.axvline(history.end, color="grey", ls=":", lw=1)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _table(
    history: forecasting.Series, paths: np.ndarray, model: str, rows: int, levels: Sequence[float]
) -> Table:
    horizon = paths.shape[-1]
    quantiles = np.quantile(paths, levels, axis=0)
    peak = np.quantile(paths.max(axis=1), levels)
    table = Table(title=f"{model}: {horizon} steps of {history.step_seconds} s after {history.end}")
    table.add_column("time (UTC)")
    for level in levels:
        table.add_column(f"p{round(level * 100)}", justify="right")
    shown = sorted(set(np.linspace(0, horizon - 1, min(rows, horizon)).round().astype(int).tolist()))
    for index in shown:
        at = history.end + pd.Timedelta(seconds=history.step_seconds * index)
        table.add_row(at.strftime("%Y-%m-%d %H:%M:%S"), *(f"{q:.4g}" for q in quantiles[:, index]))
    table.add_section()
    table.add_row("[bold]peak of the horizon[/]", *(f"[bold]{q:.4g}[/]" for q in peak))
    return table


def forecast(
    prometheus_url: Annotated[str | None, typer.Option(help="Prometheus base URL (with --query).")] = None,
    query: Annotated[str | None, typer.Option(help="PromQL returning one series.")] = None,
    history: Annotated[str, typer.Option(help="History to query, e.g. 3d (Prometheus only).")] = "3d",
    step: Annotated[str, typer.Option(help="Resolution, e.g. 1m (Prometheus only).")] = "1m",
    csv: Annotated[
        pathlib.Path | None, typer.Option("--csv", help="CSV trace instead of Prometheus.")
    ] = None,
    time_column: Annotated[str, typer.Option(help="CSV timestamp column.")] = "timestamp",
    value_column: Annotated[str | None, typer.Option(help="CSV value column (default: value).")] = None,
    model: Annotated[str, typer.Option(help="auto, deepar, seasonal-naive, holt-winters, fft.")] = "auto",
    horizon: Annotated[str, typer.Option(help="How far ahead, e.g. 30m.")] = "30m",
    season: Annotated[
        str, typer.Option(help="The workload's day on the series' clock (spec.forecast.season), e.g. 24m.")
    ] = "1d",
    samples: Annotated[int, typer.Option(help="Sample paths.")] = 100,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    rows: Annotated[int, typer.Option(help="Horizon steps shown in the table.")] = 10,
    plot: Annotated[pathlib.Path | None, typer.Option(help="Write a fan chart (PNG).")] = None,
) -> None:
    """Forecast a PromQL query (or a CSV trace) once: quantiles per step and of the peak."""
    console = Console()
    if (csv is None) == (query is None):
        raise typer.BadParameter("give either --query (with --prometheus-url) or --csv")
    if model not in forecasting.names():
        raise typer.BadParameter(f"unknown model {model!r}; known: {', '.join(forecasting.names())}")
    if csv is not None:
        series = history_from_csv(csv, time_column, value_column)
        source = str(csv)
    else:
        if prometheus_url is None:
            raise typer.BadParameter("--query needs --prometheus-url")
        from foresight.metrics import MetricSourceError

        try:
            series = history_from_prometheus(
                prometheus_url,
                str(query),
                parse_duration(history).total_seconds(),
                int(parse_duration(step).total_seconds()),
                datetime.now(UTC),
            )
        except MetricSourceError as exc:
            console.print(f"[red]{exc.reason}:[/] {exc}")
            raise typer.Exit(1) from exc
        source = str(query)
    season_seconds = int(parse_duration(season).total_seconds())
    if season_seconds < 2 * series.step_seconds:
        raise typer.BadParameter("must cover at least two steps of the series", param_hint="--season")
    series = dataclasses.replace(series, season_seconds=season_seconds)
    horizon_steps = max(1, math.ceil(parse_duration(horizon).total_seconds() / series.step_seconds))
    with console.status(f"forecasting with {model} ({series.observed_count} observed points)"):
        paths, used = sample_paths(model, series, horizon_steps, samples, seed)
    if not np.isfinite(paths).any():
        console.print("[red]no forecast:[/] the history holds no observed value")
        raise typer.Exit(1)
    console.print(_table(series, paths, used, rows, LEVELS))
    if plot is not None:
        fan_chart(plot, series, paths, f"{source}: {used}, {samples} sample paths")
        console.print(f"fan chart: {plot}")
