"""``foresight evaluate-unseen``: DeepAR scored on workloads it never saw (leave-one-source-out).

The shipped model trained on the first 80 % of every trace, so ``foresight evaluate`` scores it
in-sample: it knows each workload. Here each source (``train.SOURCE_PREFIXES``: all Alibaba
resolutions are one source) is held out in turn. A fold model is trained on the training split
of every *other* source with the shipped model's hyperparameters and seed, then scored on the
held-out source's test split exactly as ``foresight evaluate`` scores it (same origins, columns,
horizon, lead window, sample paths and seed; ``backtest.prepare/sample/score`` and the ratio to
``naive`` on the same origins). ``analog`` and ``naive`` are scored alongside (no training:
unseen by construction), and so is the shipped model on the same origins (``deepar-in-sample``),
to show what in-sample scoring hides.

Fold artifacts are cached under ``~/.cache/foresight/unseen/<config hash>/<source>/``. The hash
covers everything that makes two fold models differ (hyperparameters, steps, torch threads, the
training mix, the bytes of the data files, the DeepAR code, torch's version), so a rerun only
scores.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import pathlib
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foresight.api.v1alpha1 import parse_duration
from foresight.commands import evaluate, train
from foresight.forecasting import backtest, datasets

if TYPE_CHECKING:
    from foresight.forecasting import BaseForecaster, deepar

__all__ = ["EVAL_TRACES", "PROTOCOL", "EvalTrace", "Fold", "evaluate_unseen", "leaks", "plan_folds"]

PROTOCOL = "leave-one-source-out"
PROTOCOL_NOTE = (
    "origins in the last 20 % of each series by time; deepar-unseen was trained on the training split "
    "of every other source and never on any file of this trace's source; deepar-in-sample is the "
    "shipped model, trained on the first 80 % of this very trace"
)
DEFAULT_CACHE = pathlib.Path.home() / ".cache" / "foresight" / "unseen"


@dataclasses.dataclass(frozen=True)
class EvalTrace:
    """A trace scored as the model card's in-sample table scores it (``name``: its JSON's stem)."""

    file: str
    name: str
    all_columns: bool = False
    origins: int = 100

    @property
    def source(self) -> str:
        return train.source_of(self.file)


# The card's in-sample table: single-series traces on their default column with 100 origins,
# the Azure V1 VM files over all their columns with 10 origins each.
EVAL_TRACES: tuple[EvalTrace, ...] = (
    EvalTrace("nasa_http_1995_requests_per_minute.csv", "nasa_http_1995_requests_per_minute"),
    EvalTrace("alibaba2018_cluster_mean_10s.csv.gz", "alibaba2018_cluster_mean_10s"),
    EvalTrace("alibaba2018_cluster_mean_30s.csv", "alibaba2018_cluster_mean_30s"),
    EvalTrace("alibaba2018_cluster_mean_300s.csv", "alibaba2018_cluster_mean_300s"),
    EvalTrace("azure_v2_cluster_sum_300s.csv", "azure_v2_cluster_sum_300s"),
    EvalTrace("google2019_cluster_mean_300s.csv", "google2019_cluster_mean_300s"),
    *(
        EvalTrace(
            f"azure_v1_vms/{stem}_cpu_pct_5min.csv.gz", f"azure_v1_{stem}", all_columns=True, origins=10
        )
        for stem in ("microsoft_avg_100", "microsoft_max_100", "periodic_avg_78", "periodic_max_78")
    ),
)


@dataclasses.dataclass(frozen=True)
class Fold:
    """Train on ``train_sources``, score on ``traces`` (all of source ``held_out``)."""

    held_out: str
    train_sources: tuple[str, ...]
    traces: tuple[EvalTrace, ...]


def plan_folds(sources: Sequence[str] = ()) -> list[Fold]:
    """One fold per source of the training mix (or per source in ``sources``), checked for leaks.

    >>> [(f.held_out, len(f.train_sources), len(f.traces)) for f in plan_folds(["alibaba", "nasa"])]
    [('nasa', 4, 1), ('alibaba', 4, 3)]
    """
    mix_sources = list(dict.fromkeys(train.source_of(entry[0]) for entry in train.TRAINING_MIX))
    unknown = sorted(set(sources) - set(mix_sources))
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; known: {', '.join(mix_sources)}")
    folds = []
    for held_out in mix_sources:
        if sources and held_out not in sources:
            continue
        kept = tuple(s for s in mix_sources if s != held_out)
        trained_files = [f for f, *_ in train.training_mix([held_out])]
        traces = tuple(t for t in EVAL_TRACES if t.source == held_out)
        problems = leaks(trained_files, traces)
        if problems:
            raise AssertionError(f"fold {held_out} would score traces it trained on: {problems}")
        folds.append(Fold(held_out, kept, traces))
    return folds


def leaks(trained_files: Sequence[str], traces: Sequence[EvalTrace]) -> list[str]:
    """Trained files that share a source with a scored trace (empty: the scores are unseen).

    >>> leaks(["nasa_http_x.csv", "google2019_y.csv"], [EvalTrace("google2019_z.csv", "z")])
    ['google2019_y.csv']
    """
    scored = {t.source for t in traces}
    return [f for f in trained_files if train.source_of(f) in scored]


def fold_config(artifact: pathlib.Path, steps: int | None) -> tuple[deepar.DeepARConfig, int]:
    """The shipped model's config (``forecaster.json``), with ``steps`` if given; and its own steps."""
    from foresight.forecasting import deepar

    meta = json.loads((artifact / "forecaster.json").read_text())
    shipped = deepar.DeepARConfig.from_json(meta["config"]["config"])
    cfg = dataclasses.replace(shipped, max_steps=steps) if steps else shipped
    return cfg, shipped.max_steps


def cache_key(cfg: deepar.DeepARConfig, data: pathlib.Path, threads: int) -> str:
    """A digest of everything that makes two fold models differ."""
    import torch

    from foresight.forecasting import deepar

    payload = {
        "deepar_config": cfg.to_json(),
        "torch_threads": threads,
        "training_mix": train.TRAINING_MIX,
        "data": {f: _file_digest(data / f) for f, *_ in train.TRAINING_MIX},
        "deepar_code": _file_digest(pathlib.Path(deepar.__file__)),
        "torch": torch.__version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _file_digest(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fold_model(
    fold: Fold, data: pathlib.Path, cfg: deepar.DeepARConfig, directory: pathlib.Path, console: Console
) -> tuple[deepar.DeepAR, bool]:
    """The fold's model from ``directory`` if cached there, else trained and saved there."""
    from foresight.forecasting import artifacts, deepar

    cached = (directory / "model.pt").exists()
    if cached:
        model = artifacts.load(directory)
        assert isinstance(model, deepar.DeepAR)
    else:
        console.print(f"[bold]fold {fold.held_out}[/]: training on {', '.join(fold.train_sources)}")
        model = train.fit_model(data, cfg, [fold.held_out], console)
        # Written next to its final place and renamed: a killed run leaves no half artifact.
        partial = directory.with_name(f"{directory.name}.partial-{os.getpid()}")
        model.save(partial)
        os.replace(partial, directory)
    trained_files = [str(d["file"]) for d in model.training_info.get("data", [])]
    problems = leaks(trained_files, fold.traces)
    if problems or model.training_info.get("excluded_sources") != [fold.held_out]:
        raise RuntimeError(f"fold {fold.held_out} ({directory}) trained on its held-out source: {problems}")
    return model, cached


def score_trace(
    trace: EvalTrace,
    data: pathlib.Path,
    models: dict[str, BaseForecaster],
    horizon: str = "30m",
    startup: str = "3m",
    window: str = "10m",
    samples: int = 100,
    seed: int = 0,
    max_series: int = 0,
) -> dict[str, Any]:
    """``foresight evaluate``'s scores of ``models`` (plus ``naive``) on one trace's test split."""

    path = data / trace.file
    columns = None
    if trace.all_columns:
        import pandas as pd

        columns = datasets.value_columns(pd.read_csv(path, nrows=2), "timestamp")
        if max_series:
            columns = columns[:max_series]
    series = datasets.read_trace(path, columns=columns)
    step = series[0].step_seconds
    horizon_steps = max(1, math.ceil(parse_duration(horizon).total_seconds() / step))
    startup_seconds, window_seconds = (parse_duration(d).total_seconds() for d in (startup, window))
    peak_steps = backtest.lead_window_steps(step, startup_seconds, window_seconds)
    horizon_steps = max(horizon_steps, peak_steps[1] + 1)  # as evaluate: reach the lead window's end
    bt = backtest.prepare(series, horizon_steps, max_origins=trace.origins)
    scored = evaluate.score_models(models, bt, horizon_steps, peak_steps, samples, seed)
    return {
        "protocol": PROTOCOL,
        "protocol_note": PROTOCOL_NOTE,
        "held_out_source": trace.source,
        "trace": f"datasets/load/{trace.file}",
        **evaluate.run_summary(bt, step, horizon_steps, startup_seconds, window_seconds, peak_steps),
        "models": scored,
        "series": [s.item_id for s in series],
        "max_series": max_series if trace.all_columns else 0,
        "samples": samples,
        "seed": seed,
    }


def evaluate_unseen(
    data: Annotated[
        pathlib.Path, typer.Option(help="Folder with the load traces (datasets/load).")
    ] = pathlib.Path("datasets/load"),
    out: Annotated[pathlib.Path, typer.Option(help="Folder for one JSON per trace.")] = pathlib.Path(
        "models/deepar-v1/eval-unseen"
    ),
    artifact: Annotated[
        pathlib.Path, typer.Option(help="The shipped model: its hyperparameters, and the in-sample scores.")
    ] = train.SHIPPED_ARTIFACT,
    cache: Annotated[pathlib.Path, typer.Option(help="Fold artifacts, under <config hash>/<source>/.")] = (
        DEFAULT_CACHE
    ),
    steps: Annotated[
        int | None, typer.Option(help="Optimizer steps per fold (default: the shipped model's).")
    ] = None,
    threads: Annotated[int, typer.Option(help="torch CPU threads for training and sampling.")] = 1,
    source: Annotated[
        list[str] | None, typer.Option(help="Only these held-out sources (repeatable; default: all).")
    ] = None,
    max_series: Annotated[
        int, typer.Option(help="Score at most this many series of a multi-series file (0 = all).")
    ] = 0,
    samples: Annotated[int, typer.Option(help="Sample paths per forecast.")] = 100,
) -> None:
    """Train one DeepAR per held-out source on all other sources; score it on the held-out traces."""
    import torch

    from foresight import forecasting
    from foresight.forecasting import artifacts

    started = time.perf_counter()
    torch.set_num_threads(threads)
    console = Console(stderr=True)
    folds = plan_folds(source or ())
    cfg, shipped_steps = fold_config(artifact, steps)
    key = cache_key(cfg, data, threads)
    command = (
        f"foresight evaluate-unseen --data DATASETS/load --out {out} --artifact {artifact} "
        f"--threads {threads}"
        + (f" --steps {steps}" if steps else "")
        + (f" --max-series {max_series}" if max_series else "")
        + (f" --samples {samples}" if samples != 100 else "")
        + "".join(f" --source {s}" for s in source or ())
    )
    shipped = artifacts.load(artifact)
    rows = []
    for fold in folds:
        directory = cache / key / fold.held_out
        directory.parent.mkdir(parents=True, exist_ok=True)
        model, cached = fold_model(fold, data, cfg, directory, console)
        info = model.training_info
        console.print(
            f"fold {fold.held_out}: {'cached' if cached else 'trained'} in {directory} "
            f"({info['wall_seconds']:.0f} s of training)"
        )
        for trace in fold.traces:
            models = {
                "deepar-unseen": model,
                "analog": forecasting.get("analog"),
                "deepar-in-sample": shipped,
            }
            result = score_trace(trace, data, models, samples=samples, max_series=max_series)
            result["fold"] = {
                "held_out_source": fold.held_out,
                "trained_on_sources": list(fold.train_sources),
                "trained_on_files": [d["file"] for d in info["data"]],
                "steps": cfg.max_steps,
                "shipped_steps": shipped_steps,
                "deepar_config": cfg.to_json(),
                "config_hash": key,
                "cache_dir": _home_relative(directory),
                "trained_at": info["trained_at"],
                "training_wall_seconds": info["wall_seconds"],
                "torch_threads": info["torch_threads"],
                "final_loss_mean_last_100": info["final_loss_mean_last_100"],
            }
            result["command"] = command
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{trace.name}.json").write_text(json.dumps(result, indent=2) + "\n")
            rows.append(result)
            console.print(f"  scored {trace.file}")
    _print_table(rows)
    console.print(f"[bold]done[/] in {(time.perf_counter() - started) / 60:.1f} min; JSON in {out}")


def _home_relative(path: pathlib.Path) -> str:
    """``~/...`` for a path under the home folder: the JSONs are committed, home folders differ."""
    home = pathlib.Path.home()
    path = path.absolute()
    return f"~/{path.relative_to(home)}" if path.is_relative_to(home) else str(path)


def _print_table(rows: list[dict[str, Any]]) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # logs and pipes: keep the table readable
    table = Table(title=f"DeepAR on workloads it never saw (protocol: {PROTOCOL})")
    for col in ("trace", "held out", "deepar unseen", "analog", "naive", "unseen/naive", "in-sample/naive"):
        table.add_column(col, justify="left" if col in ("trace", "held out") else "right")
    for r in rows:
        m = r["models"]
        table.add_row(
            pathlib.Path(r["trace"]).name,
            r["held_out_source"],
            f"{m['deepar-unseen']['crps']:.4f}",
            f"{m['analog']['crps']:.4f}",
            f"{m['naive']['crps']:.4f}",
            f"{m['deepar-unseen']['crps_vs_naive']:.3f}",
            f"{m['deepar-in-sample']['crps_vs_naive']:.3f}",
        )
    console.print(table)
