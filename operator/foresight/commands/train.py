"""``foresight train``: reproducible training of the global DeepAR model from CSV load traces.

Reads every trace of the training mix (below), keeps only the first 80 % of each series by
time (the last 20 % is the test split used by ``foresight evaluate``), trains with a fixed
seed, and writes the artifact plus ``MODEL_CARD.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import platform
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from foresight.forecasting import datasets
from foresight.forecasting._series import Series

__all__ = ["TRAINING_MIX", "load_training_series", "train"]

# (file pattern under the data folder, columns or None for all, share of training windows,
#  flag columns to mask). Shares are per file group so that the 356 Azure VMs do not drown
# the cluster traces; every entry is a real trace described in the datasets README.
TRAINING_MIX: list[tuple[str, list[str] | None, float, list[str]]] = [
    ("nasa_http_1995_requests_per_minute.csv", ["value"], 0.20, ["server_down"]),
    ("alibaba2018_cluster_mean_10s.csv.gz", None, 0.10, []),
    ("alibaba2018_cluster_mean_30s.csv", None, 0.10, []),
    ("alibaba2018_cluster_mean_300s.csv", None, 0.10, []),
    ("azure_v2_cluster_sum_300s.csv", None, 0.10, []),
    ("google2019_cluster_mean_300s.csv", ["cpu_util", "mem_util", "assigned_mem"], 0.10, []),
    ("azure_v1_vms/microsoft_avg_100_cpu_pct_5min.csv.gz", None, 0.075, []),
    ("azure_v1_vms/microsoft_max_100_cpu_pct_5min.csv.gz", None, 0.075, []),
    ("azure_v1_vms/periodic_avg_78_cpu_pct_5min.csv.gz", None, 0.075, []),
    ("azure_v1_vms/periodic_max_78_cpu_pct_5min.csv.gz", None, 0.075, []),
]


def load_training_series(data: pathlib.Path) -> tuple[list[Series], list[float], list[dict[str, object]]]:
    """Training split (first 80 % by time) of every series in the mix, with sampling weights."""
    series: list[Series] = []
    weights: list[float] = []
    manifest: list[dict[str, object]] = []
    for pattern, columns, share, masks in TRAINING_MIX:
        path = data / pattern
        if columns is None:
            import pandas as pd

            head = pd.read_csv(path, nrows=2)
            columns = datasets.value_columns(head, "timestamp")
        full = datasets.read_trace(path, columns=columns, mask_columns=masks)
        for s in full:
            cut = datasets.split_index(len(s))
            series.append(s.head(cut))
            weights.append(share / len(full))
        manifest.append(
            {
                "file": pattern,
                "columns": len(full),
                "share": share,
                "train_steps": datasets.split_index(len(full[0])),
            }
        )
    return series, weights, manifest


def train(
    data: Annotated[
        pathlib.Path, typer.Option(help="Folder with the load traces (datasets/load).")
    ] = pathlib.Path("datasets/load"),
    out: Annotated[pathlib.Path, typer.Option(help="Artifact directory to write.")] = pathlib.Path(
        "models/deepar-v1"
    ),
    steps: Annotated[int, typer.Option(help="Optimizer steps.")] = 4_000,
    batch_size: Annotated[int, typer.Option(help="Windows per step.")] = 128,
    hidden_size: Annotated[int, typer.Option(help="LSTM hidden units.")] = 32,
    num_layers: Annotated[int, typer.Option(help="LSTM layers.")] = 1,
    context_length: Annotated[int, typer.Option(help="Steps unrolled before the forecast.")] = 96,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate (one-cycle).")] = 3e-3,
    seed: Annotated[int, typer.Option(help="Seed for weights, window sampling and dropout.")] = 0,
    threads: Annotated[
        int, typer.Option(help="torch CPU threads; 1 is fastest for this small LSTM on a busy machine.")
    ] = 1,
) -> None:
    """Train the global DeepAR forecaster on the training split of the load traces."""
    import torch

    from foresight.forecasting import deepar

    if threads:
        torch.set_num_threads(threads)
    console = Console(stderr=True)
    series, weights, manifest = load_training_series(data)
    console.print(f"[bold]training on[/] {len(series)} series from {len(manifest)} files (train split only)")
    cfg = deepar.DeepARConfig(
        context_length=context_length,
        hidden_size=hidden_size,
        num_layers=num_layers,
        batch_size=batch_size,
        max_steps=steps,
        learning_rate=learning_rate,
        seed=seed,
    )
    model = deepar.DeepAR(cfg)
    started = time.perf_counter()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("loss {task.fields[loss]:.3f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("training", total=steps, loss=float("nan"))
        ema: list[float] = []

        def report(step: int, loss: float) -> None:
            ema.append(loss if not ema else 0.98 * ema[-1] + 0.02 * loss)
            progress.update(task, completed=step + 1, loss=ema[-1])

        model.fit(series, weights=weights, progress=report)
    seconds = time.perf_counter() - started
    model.training_info.update(
        {
            "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "wall_seconds": round(seconds, 1),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "data": manifest,
            "test_fraction": datasets.TEST_FRACTION,
        }
    )
    model.save(out)
    n_params = sum(p.numel() for p in model.module.parameters())
    console.print(f"wrote {out} ({n_params} parameters) in {seconds:.0f} s")
    typer.echo(json.dumps(model.training_info, indent=2))
