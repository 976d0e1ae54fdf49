"""``foresight evaluate-failover``: the node-failure policy on public records, and what it saves.

LANL node outages: the failure prior is fitted on the first 70 % of each system's record, the operating point
(horizon, threshold) is chosen on that same training part, and the test part is replayed with the operator's
taint hysteresis and rails: pod downtime per real failure against Kubernetes' default taint-based eviction,
split into failures drained in time, caught late (draining) and missed, with the false alarms' cost beside
it. Azure per-VM CPU series: whether the forecast cause's crossing probability means what it says, its
calibration, and ``predict_linear`` as the reference; a synthetic memory-leak ramp test. Backblaze: what the
prior's SMART flag shows. ``--markdown`` writes the whole report (``docs/failover-eval.md``); ``--prior-out``
writes the prior fitted on all records, with the crossing calibration (the shipped
``models/failure-prior-v1``).
"""

from __future__ import annotations

import json
import math
import pathlib
import time
from dataclasses import asdict, replace
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console

from foresight.api import v1alpha1
from foresight.commands import _failover_report as report
from foresight.handlers import failover_policy as policy_handler
from foresight.simulation import failover as sim

__all__ = ["default_datasets_dir", "evaluate_failover"]

SWEEP_HORIZONS = "15m,1h,6h,24h"
SWEEP_THRESHOLDS = "0.5,0.2,0.1,0.05,0.02,0.01,0.005"
# Every 6th origin (30 minutes) on the Azure VMs, every 12th on the second population: enough origins for
# the reliability table at about a minute of forecasting on two cores.
CROSSING_STRIDE = 6
TRANSFER_STRIDE = 12


def default_datasets_dir() -> pathlib.Path:
    """``<repo>/../shared/datasets/failures``, next to the repository."""
    return pathlib.Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "failures"


def signal_geometry() -> sim.SignalGeometry:
    """The controller's own signal forecast: model, steps across the horizon, history, paths."""
    return sim.SignalGeometry(
        model=policy_handler.SIGNAL_MODEL,
        horizon_steps=policy_handler.SIGNAL_HORIZON_STEPS,
        history_horizons=policy_handler.SIGNAL_HISTORY_HORIZONS,
        min_history_seconds=policy_handler.MIN_SIGNAL_HISTORY.total_seconds(),
        samples=policy_handler.SIGNAL_SAMPLES,
    )


# Written by `foresight evaluate-disk-health`; its figures are repeated in the failover report.
DISK_HEALTH_EVALUATION = pathlib.Path("models/disk-health-v1/evaluation.json")


def evaluate_failover(
    datasets: Annotated[
        pathlib.Path | None, typer.Option(help="Folder with lanl_1996_2005/ and backblaze_2013_2016/.")
    ] = None,
    load_datasets: Annotated[
        pathlib.Path | None,
        typer.Option(help="Folder with azure_v1_vms/ (default: load/ next to the failures folder)."),
    ] = None,
    horizon: Annotated[
        str | None, typer.Option(help="Horizon (default: the FailoverPolicy default).")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Failure probability threshold (default: spec's).")
    ] = None,
    sweep_horizons: Annotated[
        str, typer.Option(help="Comma-separated horizons the operating point is chosen from.")
    ] = SWEEP_HORIZONS,
    sweep_thresholds: Annotated[
        str, typer.Option(help="Comma-separated thresholds the operating point is chosen from.")
    ] = SWEEP_THRESHOLDS,
    max_drained_share: Annotated[
        float, typer.Option(help="Largest share of node-time drained for nothing a chosen point may cost.")
    ] = sim.MAX_DRAINED_SHARE,
    pods_per_node: Annotated[int, typer.Option(help="Pods on a failing node (downtime replay).")] = 20,
    startup_seconds: Annotated[float, typer.Option(help="Pod schedule-to-ready time elsewhere.")] = 30.0,
    crossings: Annotated[
        bool, typer.Option(help="Check the forecast cause on the Azure per-VM series (about a minute).")
    ] = True,
    disk_health: Annotated[
        pathlib.Path,
        typer.Option(help="The disk-health model's held-out scores (`foresight evaluate-disk-health`)."),
    ] = DISK_HEALTH_EVALUATION,
    json_out: Annotated[
        pathlib.Path | None, typer.Option("--json", help="Write all figures as JSON.")
    ] = None,
    markdown: Annotated[
        pathlib.Path | None, typer.Option(help="Write the report as Markdown (docs/failover-eval.md).")
    ] = None,
    prior_out: Annotated[
        pathlib.Path | None, typer.Option(help="Write the prior fitted on all records to this folder.")
    ] = None,
) -> None:
    """Pod downtime per real failure against Kubernetes' default, and the forecast cause's calibration."""
    started = time.perf_counter()
    console = Console()
    spec = v1alpha1.FailoverPolicySpec()
    horizon = horizon or spec.horizon
    threshold = spec.failure_probability_threshold if threshold is None else threshold
    root = datasets or default_datasets_dir()
    outages = sim.load_lanl_outages(root)
    windows = sim.split_time(outages)
    drives = sim.load_backblaze(root)
    train_prior = sim.fit_failure_prior(outages, windows, drives, period="train")
    params = sim.DowntimeParams(pods_per_node=pods_per_node, startup_seconds=startup_seconds)
    rails = sim.Rails.of(spec.actions)

    candidates = [(h, float(t)) for h in _split(sweep_horizons) for t in _split(sweep_thresholds)]
    if (horizon, threshold) not in candidates:
        candidates.insert(0, (horizon, threshold))
    chosen, train_scores = sim.choose_operating_point(
        outages,
        windows,
        train_prior,
        candidates,
        (horizon, threshold),
        params=params,
        rails=rails,
        max_drained_share=max_drained_share,
    )
    test_scores = [
        sim.score_point(outages, windows, train_prior, h, t, period="test", params=params, rails=rails)[0]
        for h, t in candidates
    ]
    points: dict[str, Any] = {}
    for name, (h, t) in (("default", (horizon, threshold)), ("chosen", chosen)):
        score, replay, policy, downtime = sim.score_point(
            outages, windows, train_prior, h, t, period="test", params=params, rails=rails
        )
        rows = sim.evaluate_lanl(outages, windows, train_prior, h, t, replay=replay)
        points[name] = {
            "horizon": h,
            "threshold": t,
            "score": score.row(),
            "downtime": [
                asdict(x) | {"pod_minutes_per_failure": x.pod_minutes_per_failure} for x in downtime
            ],
            "lanl": [r.row() for r in rows],
            "drain_lead_median_minutes": _median([x for x in policy.leads_minutes if x is not None]),
            "drains": policy.drains,
            "false_drains": policy.false_drains,
        }
    backblaze = sim.evaluate_backblaze(drives, train_prior, horizon, threshold)

    calibration: tuple[tuple[float, float], ...] = ()
    crossing_report: dict[str, Any] | None = None
    leak_rows: list[sim.LeakResult] = []
    if crossings:
        load_root = load_datasets or root.parent / "load"
        crossing_report, calibration = sim.crossing_report(
            load_root,
            signal_geometry(),
            alarm_threshold=spec.failure_probability_threshold,
            release_below=spec.untaint_probability,
            stride=CROSSING_STRIDE,
            transfer_stride=TRANSFER_STRIDE,
        )
        leak_rows = sim.leak_test(
            signal_geometry(),
            calibration,
            alarm_threshold=spec.failure_probability_threshold,
            release_below=spec.untaint_probability,
        )

    prior_all = replace(
        sim.fit_failure_prior(outages, windows, drives, period="all"), crossing_calibration=calibration
    )
    result: dict[str, Any] = {
        "datasets": str(root),
        "train_fraction": sim.TRAIN_FRACTION,
        "downtime_params": asdict(params),
        "rails": asdict(rails),
        "max_drained_share": max_drained_share,
        "points": points,
        "operating_points": {
            "chosen": list(chosen),
            "train": [s.row() for s in train_scores],
            "test": [s.row() for s in test_scores],
        },
        "backblaze": asdict(backblaze),
        "prior_all_records": {"lanl": prior_all.details["lanl"], "backblaze": prior_all.details["backblaze"]},
        "lanl_systems": sim.lanl_system_summary(outages, windows),
        "crossings": crossing_report,
        "crossing_calibration": [list(k) for k in calibration],
        "leaks": [asdict(r) for r in leak_rows],
    }
    if disk_health.exists():
        scored = json.loads(disk_health.read_text())
        result["disk_health"] = {
            "source": str(disk_health),
            "test": scored["test"],
            "horizons": {h: {"scores": f["scores"]} for h, f in scored["horizons"].items()},
        }
    result["runtime_seconds"] = round(time.perf_counter() - started, 1)

    for table in report.console_tables(result):
        console.print(table)
    console.print(f"evaluate-failover took {result['runtime_seconds']:.0f} s")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(_clean(result), indent=2) + "\n")
        console.print(f"wrote {json_out}")
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(report.markdown(result))
        console.print(f"wrote {markdown}")
    if prior_out is not None:
        path = prior_all.save(prior_out)
        console.print(f"wrote {path}")


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else math.nan


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _clean(value: Any) -> Any:
    """JSON without NaN/inf (not valid JSON): they become ``null``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
