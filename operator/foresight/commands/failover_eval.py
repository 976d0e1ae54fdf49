"""``foresight evaluate-failover``: score the node-failure risk model on real failure records.

Fits the failure prior on the first 70 % of each LANL system's record (and 70 % of Backblaze drives), then
on the rest: precision, recall and lead time of the risk model at the policy's default horizon and
threshold against a failure-rate-only baseline, a small sweep of other operating points, what SMART
precursors show on held-out drives, and the pod downtime a failure costs with and without Foresight.
``--prior-out`` writes the prior fitted on *all* records (the shipped ``models/failure-prior-v1``).
"""

from __future__ import annotations

import json
import math
import pathlib
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foresight.api import v1alpha1
from foresight.simulation import failover as sim

__all__ = ["default_datasets_dir", "evaluate_failover"]

SWEEP_HORIZONS = "1h,24h"
SWEEP_THRESHOLDS = "0.1,0.05,0.02,0.01,0.005"


def default_datasets_dir() -> pathlib.Path:
    """``<repo>/../shared/datasets/failures``, next to the repository."""
    return pathlib.Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "failures"


def evaluate_failover(
    datasets: Annotated[
        pathlib.Path | None, typer.Option(help="Folder with lanl_1996_2005/ and backblaze_2013_2016/.")
    ] = None,
    horizon: Annotated[
        str | None, typer.Option(help="Horizon (default: the FailoverPolicy default).")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Failure probability threshold (default: spec's).")
    ] = None,
    sweep_horizons: Annotated[
        str, typer.Option(help="Comma-separated horizons for the sweep.")
    ] = SWEEP_HORIZONS,
    sweep_thresholds: Annotated[
        str, typer.Option(help="Comma-separated thresholds for the sweep.")
    ] = SWEEP_THRESHOLDS,
    pods_per_node: Annotated[int, typer.Option(help="Pods on a failing node (downtime replay).")] = 20,
    startup_seconds: Annotated[float, typer.Option(help="Pod schedule-to-ready time elsewhere.")] = 30.0,
    json_out: Annotated[
        pathlib.Path | None, typer.Option("--json", help="Write all figures as JSON.")
    ] = None,
    markdown: Annotated[
        pathlib.Path | None, typer.Option(help="Write the tables as Markdown (docs).")
    ] = None,
    prior_out: Annotated[
        pathlib.Path | None, typer.Option(help="Write the prior fitted on all records to this folder.")
    ] = None,
) -> None:
    """Precision, recall and lead time of the node-failure risk model on LANL and Backblaze records."""
    console = Console()
    spec = v1alpha1.FailoverPolicySpec()
    horizon = horizon or spec.horizon
    threshold = spec.failure_probability_threshold if threshold is None else threshold
    root = datasets or default_datasets_dir()
    outages = sim.load_lanl_outages(root)
    windows = sim.split_time(outages)
    drives = sim.load_backblaze(root)
    train_prior = sim.fit_failure_prior(outages, windows, drives, period="train")

    default_rows = sim.evaluate_lanl(outages, windows, train_prior, horizon, threshold)
    sweep: list[sim.EvaluationResult] = []
    for h in _split(sweep_horizons):
        for t in (float(x) for x in _split(sweep_thresholds)):
            if (h, t) != (horizon, threshold):
                sweep.extend(
                    sim.evaluate_lanl(outages, windows, train_prior, h, t, check_with_assess_node=False)
                )
    backblaze = sim.evaluate_backblaze(drives, train_prior, horizon, threshold)
    params = sim.DowntimeParams(pods_per_node=pods_per_node, startup_seconds=startup_seconds)
    model = default_rows[0]
    downtime = {
        f"{horizon} / {threshold:g} (default)": sim.simulate_downtime(
            sim.leads_per_failure(model), model.false_alarm_episodes, params
        )
    }
    # Also replay the swept operating point that catches the most failures, to show both sides of the trade.
    best = max((r for r in sweep if r.model.startswith("risk")), key=lambda r: r.caught, default=None)
    if best is not None and best.caught > 0:
        downtime[f"{best.horizon} / {best.threshold:g}"] = sim.simulate_downtime(
            sim.leads_per_failure(best), best.false_alarm_episodes, params
        )

    prior_all = sim.fit_failure_prior(outages, windows, drives, period="all")
    recurrence = prior_all.details["lanl"]
    report: dict[str, Any] = {
        "datasets": str(root),
        "train_fraction": sim.TRAIN_FRACTION,
        "default": [r.row() for r in default_rows],
        "sweep": [r.row() for r in sweep],
        "backblaze": asdict(backblaze),
        "downtime_params": asdict(params),
        "downtime": {k: [asdict(x) for x in v] for k, v in downtime.items()},
        "prior_all_records": {"lanl": recurrence, "backblaze": prior_all.details["backblaze"]},
        "lanl_systems": sim.lanl_system_summary(outages, windows),
    }

    tables = _tables(report)
    for table in tables:
        console.print(table)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(_clean(report), indent=2) + "\n")
        console.print(f"wrote {json_out}")
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text("\n".join(_markdown(t) for t in tables))
        console.print(f"wrote {markdown}")
    if prior_out is not None:
        path = prior_all.save(prior_out)
        console.print(f"wrote {path}")


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if value != 0 and abs(value) < 10**-digits:
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


def _score_table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for col in (
        "model",
        "horizon",
        "threshold",
        "failures",
        "caught",
        "precision",
        "recall",
        "lead median (min)",
        "lead p10 (min)",
        "alarmed node-time",
        "episodes",
        "false episodes",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["model"], r["horizon"], f"{r['threshold']:g}", str(r["failures"]), str(r["caught"]),
            _fmt(r["precision"]), _fmt(r["recall"]), _fmt(r["lead_time_median_minutes"], 0),
            _fmt(r["lead_time_p10_minutes"], 0), _fmt(r["alarmed_node_time_share"], 4),
            str(r["alarm_episodes"]), str(r["false_alarm_episodes"]),
        )  # fmt: skip
    return table


def _tables(report: dict[str, Any]) -> list[Table]:
    tables = [
        _score_table(
            "LANL test period: risk model vs failure-rate baseline (default policy)", report["default"]
        )
    ]
    checked = report["default"][0]
    tables[0].caption = (
        f"assess_node re-scored {checked['checked_with_assess_node']} failures: "
        f"{checked['assess_node_disagreements']} disagreement(s) with the replay"
    )
    tables.append(_score_table("LANL test period: other operating points", report["sweep"]))

    prior = Table(title="Failure prior (all LANL records): hazard by hours since the node last recovered")
    for col in (
        "hours since recovery",
        "failures",
        "node-hours",
        "hazard /h",
        "p(fail within 15m)",
        "p(within 24h)",
    ):
        prior.add_column(col)
    lanl = report["prior_all_records"]["lanl"]
    edges = [*lanl["edges_hours"], math.inf]
    for i, hz in enumerate(lanl["hazard_per_hour"]):
        prior.add_row(
            f"{edges[i]:g}–{edges[i + 1]:g}", str(lanl["events"][i]), f"{lanl['exposure_node_hours'][i]:.3g}",
            _fmt(hz, 5), _fmt(1 - math.exp(-hz / 4), 4), _fmt(1 - math.exp(-hz * 24), 3),
        )  # fmt: skip
    hz = lanl["no_failure_hazard_per_hour"]
    prior.add_row(
        "no failure yet", str(lanl["no_failure_events"]), f"{lanl['no_failure_exposure_node_hours']:.3g}",
        _fmt(hz, 6), _fmt(1 - math.exp(-hz / 4), 6), _fmt(1 - math.exp(-hz * 24), 4),
    )  # fmt: skip
    tables.append(prior)

    systems = Table(title="LANL per system: first 24 h after a recovery vs the base rate")
    for col in ("system", "nodes", "outages", "base p(24h)", "p(24h) after recovery", "relative risk"):
        systems.add_column(col)
    for s in report["lanl_systems"]:
        systems.add_row(
            str(s["system"]), str(s["nodes"]), str(s["outages"]), _fmt(s["p_fail_within_24h_base"], 4),
            _fmt(s["p_fail_within_24h_after_recovery"], 4), _fmt(s["relative_risk_first_24h"], 1),
        )  # fmt: skip
    tables.append(systems)

    bb = report["backblaze"]
    smart = report["prior_all_records"]["backblaze"]
    drives = Table(title="Backblaze: SMART 5/187/197/198 > 0 as a drive-failure precursor")
    drives.add_column("figure")
    drives.add_column("value")
    for name, value in (
        ("hazard /h, any counter > 0 (all drives)", _fmt(smart["any_nonzero"]["hazard_per_hour"], 6)),
        ("hazard /h, all zero (all drives)", _fmt(smart["all_zero"]["hazard_per_hour"], 7)),
        ("relative risk (all/train)", f"{smart['relative_risk']:.1f} / {bb['relative_risk_train']:.1f}"),
        (f"p(drive fails within {bb['horizon']}) when flagged", _fmt(bb["p_at_default_horizon_flagged"], 6)),
        ("alarms at the default threshold", str(bb["alarms_at_threshold"])),
        ("held-out drives / failures", f"{bb['test_drives']} / {bb['test_failures']}"),
        (f"flag precision over {bb['window']} (base rate)", f"{_fmt(bb['flag_precision_window'], 4)} "
         f"({_fmt(bb['base_rate_window'], 4)})"),
        (f"flag recall within {bb['window']} before failure", _fmt(bb["flag_recall_window"])),
        ("failures flagged >= 24 h ahead", _fmt(bb["flag_recall_24h_lead"])),
        ("median lead of the flag (days)", _fmt(bb["lead_time_median_days"], 1)),
    ):  # fmt: skip
        drives.add_row(name, value)
    tables.append(drives)

    down = Table(title="Pod downtime per LANL test failure (replay of the risk model's hits and misses)")
    for col in (
        "operating point",
        "policy",
        "failures",
        "mean s/pod",
        "p95 s/pod",
        "total pod-h",
        "of which false alarms",
    ):
        down.add_column(col)
    for point, rows in report["downtime"].items():
        for r in rows:
            down.add_row(
                point, r["policy"], str(r["failures"]), _fmt(r["mean_seconds"], 1), _fmt(r["p95_seconds"], 1),
                _fmt(r["total_pod_hours"], 1), _fmt(r["false_alarm_pod_hours"], 1),
            )  # fmt: skip
    p = report["downtime_params"]
    down.caption = (
        f"{p['pods_per_node']} pods/node; default: {p['node_monitor_grace_seconds']:g}s grace + "
        f"{p['toleration_seconds']:g}s toleration + {p['schedule_seconds']:g}s schedule + "
        f"{p['startup_seconds']:g}s start-up; Foresight evicts a pod each {p['eviction_interval_seconds']:g}s"
    )
    tables.append(down)
    return tables


def _markdown(table: Table) -> str:
    """A rich table as a GitHub Markdown table (for ``docs/failover.md``)."""
    header = [str(c.header) for c in table.columns]
    cells = [[str(x) for x in c._cells] for c in table.columns]
    lines = [f"**{table.title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in zip(*cells, strict=True)]
    if table.caption:
        lines += ["", f"_{table.caption}_"]
    return "\n".join(lines) + "\n"


def _clean(value: Any) -> Any:
    """JSON without NaN/inf (not valid JSON): they become ``null``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
