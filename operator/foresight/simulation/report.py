"""Plots and Markdown for benchmark results (``foresight bench --plot``, ``docs/benchmark.md``)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foresight.planning import PeakCalibration
from foresight.simulation._bench import FRONTIER_RATIO_POINTS, BenchResult

__all__ = ["TARGETS", "busiest_window", "markdown_section", "page", "protocol_text", "save_plot"]

COLORS = {"hpa": "tab:red", "holt-winters": "tab:orange", "fft": "tab:purple", "foresight": "tab:blue"}
COLORS["oracle"] = "tab:green"

TARGETS = {
    "under_provisioned_ratio_vs_hpa": ("≤ 0.5", lambda v: v <= 0.5),
    "replica_hours_at_slo_vs_hpa": ("≤ 0.85", lambda v: v <= 0.85),
    "replica_hours_at_slo_vs_holt_winters": ("< 1", lambda v: v < 1.0),
    "replica_hours_at_slo_vs_fft": ("< 1", lambda v: v < 1.0),
}


def busiest_window(result: BenchResult, hours: float = 6.0) -> tuple[int, int]:
    """Tick range of ``hours`` around the sharpest rise in load (where policies differ most)."""
    demand = np.nan_to_num(result.workload.demand, nan=0.0)
    width = max(1, int(hours * 3600 / result.workload.tick_seconds))
    lag = max(1, 900 // result.workload.tick_seconds)
    if len(demand) <= width:
        return 0, len(demand)
    rise = demand[lag:] - demand[:-lag]
    center = int(np.argmax(rise)) + lag
    start = min(max(0, center - width // 2), len(demand) - width)
    return start, start + width


def parse_window(result: BenchResult, text: str | None) -> tuple[int, int]:
    """``START/END`` (ISO times) or a duration (``6h``) around the sharpest rise; default 6 h."""
    if not text:
        return busiest_window(result)
    if "/" in text:
        stamps = [pd.Timestamp(part) for part in text.split("/", 1)]
        begin, end = (s.tz_localize("UTC") if s.tzinfo is None else s for s in stamps)
        tick = result.workload.tick_seconds
        first = int((begin - result.workload.start).total_seconds() // tick)
        last = int((end - result.workload.start).total_seconds() // tick)
        return max(0, first), min(len(result.workload), max(first + 1, last))
    return busiest_window(result, pd.Timedelta(text).total_seconds() / 3600.0)


def save_plot(result: BenchResult, path: Path, window: str | None = None) -> None:
    """Demand vs ready capacity per policy over a window, and the cost/violation frontier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first, last = parse_window(result, window)
    workload = result.workload
    times = workload.start + pd.to_timedelta(np.arange(first, last) * workload.tick_seconds, unit="s")
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 5.2), gridspec_kw={"width_ratios": [1.6, 1]})
    left.plot(times, workload.demand[first:last], color="black", linewidth=1.2, label="demand")
    for name, run in result.runs.items():
        capacity = run.ready[first:last] * result.capacity_per_replica
        left.step(
            times,
            capacity,
            where="post",
            color=COLORS.get(name),
            linewidth=1.0,
            label=f"{name} ready capacity",
        )
    left.set_title(
        f"{result.trace.name}: demand vs ready capacity (start-up {result.config.startup_seconds} s)"
    )
    left.set_xlabel("time (UTC)")
    left.set_ylabel(f"load ({result.trace.column})")
    left.legend(fontsize=8, loc="upper left")
    left.tick_params(axis="x", labelrotation=20)
    for family, points in result.frontier.items():
        kept = sorted(
            (p for p in points if p.get("sized_by") != "unresolved"), key=lambda p: p["replica_hours"]
        )
        xs = [p["replica_hours"] for p in kept]
        ys = [p["under_provisioned_pct"] for p in kept]
        style = "*" if family == "oracle" else "o-"
        right.plot(
            xs, ys, style, color=COLORS.get(family), label=family, markersize=9 if family == "oracle" else 4
        )
        calibrated = [p for p in kept if p.get("sized_by") == "calibration"]
        if calibrated:
            cx = [p["replica_hours"] for p in calibrated]
            cy = [p["under_provisioned_pct"] for p in calibrated]
            right.plot(cx, cy, "D", color=COLORS.get(family), markersize=6, markerfacecolor="none")
    right.axhline(0.1, color="grey", linewidth=0.8, linestyle=":")
    for family, run_metrics in result.metrics.items():
        if family in ("foresight", "hpa"):
            right.plot(run_metrics["replica_hours"], run_metrics["under_provisioned_pct"], "s",
                       color=COLORS[family], markersize=9, markerfacecolor="none")  # fmt: skip
    right.set_yscale("symlog", linthresh=0.1)
    right.set_title("cost vs violation (squares: defaults; diamonds: calibrated; dotted: SLO)")
    right.set_xlabel("replica-hours")
    right.set_ylabel("under-provisioned time (%)")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _percent(share: Any) -> str:
    """A share as a whole percentage, – where undefined.

    >>> _percent(0.404), _percent(-0.02), _percent(None)
    ('40 %', '-2 %', '–')
    """
    if share is None or not math.isfinite(share):
        return "–"
    return f"{100 * share:.0f} %"


METRIC_COLUMNS: Sequence[tuple[str, str, int]] = (
    ("under_provisioned_pct", "under-prov. time %", 3),
    ("under_provisioned_minutes", "under-prov. min", 1),
    ("unserved_fraction", "unserved fraction", 5),
    ("replica_hours", "replica-hours", 1),
    ("over_provisioning_vs_oracle_pct", "vs oracle %", 1),
    ("scaling_actions_per_day", "actions/day", 1),
    ("surges", "surges", 0),
    ("surges_served_in_time", "served in time", 0),
    ("surge_median_lead_seconds", "median lead s", 0),
    ("latency_p50_ms_high_traffic", "p50 ms (high traffic)", 0),
    ("latency_p99_ms_high_traffic", "p99 ms (high traffic)", 0),
    ("cpu_utilization_pct", "CPU util. %", 1),
)

SEED_COLUMNS: Sequence[tuple[str, str, int]] = (
    ("latency_p50_ms_high_traffic", "p50 latency ms (high traffic)", 0),
    ("latency_p99_ms_high_traffic", "p99 latency ms (high traffic)", 0),
    ("peak_throughput", "peak served throughput (5 min)", 1),
    ("cpu_utilization_pct", "mean CPU util. %", 1),
    ("under_provisioned_minutes", "under-prov. min", 1),
    ("replica_hours", "replica-hours", 1),
)


def _seed_lines(data: dict[str, Any]) -> list[str]:
    """The seed paper's table: HPA vs Foresight vs oracle, at equal replica-hours and at the SLO."""
    table = data.get("seed_terms") or {}
    lines: list[str] = []
    for key, title in (("equal_replica_hours", "at equal replica-hours"), ("at_slo", "at the SLO (≤ 0.1 %)")):
        rows = table.get(key) or {}
        if not rows:
            continue
        lines += [
            "",
            f"| {title} | setting | " + " | ".join(t for _, t, _ in SEED_COLUMNS) + " |",
            "|---|---|" + "---:|" * len(SEED_COLUMNS),
        ]
        for policy, values in rows.items():
            cells = [_fmt(values.get(k), d) for k, _, d in SEED_COLUMNS]
            lines.append(f"| {policy} | {values.get('setting', '')} | " + " | ".join(cells) + " |")
    return lines


def _flags(summary: dict[str, Any]) -> list[str]:
    """Every interpolation that is not one: extrapolated comparisons, SLO crossings not bracketed."""
    notes = []
    for family in ("hpa", "holt-winters", "fft", "foresight"):
        if summary.get(f"{family}_interpolation_extrapolated"):
            notes.append(
                f"{family}'s frontier does not reach Foresight's replica-hours (its nearest end is used)"
            )
    for family, bracketed in (summary.get("replica_hours_at_slo_bracketed") or {}).items():
        if not bracketed:
            hours = (summary.get("replica_hours_at_slo") or {}).get(family)
            what = "never reached in the sweep" if hours is None else "only bounded from above"
            notes.append(f"{family}'s replica-hours at the SLO are {what}")
    return notes


def markdown_section(result: BenchResult, image: str | None, seconds: float | None = None) -> str:
    """One trace's tables (per policy, summary vs targets, seed-paper terms) and its figure."""
    data = result.to_json()
    evaluated = data["evaluated"]
    exposure = data.get("model_exposure")
    lines = [
        f"### {data['trace']} (`{data['column']}`)",
        "",
        f"Evaluated {evaluated['days']:.1f} days from {evaluated['start'][:16]}Z "
        f"at {evaluated['tick_seconds']} s "
        f"ticks (trace step {evaluated['trace_step_seconds']} s); capacity per replica "
        f"{data['capacity_per_replica']:,.4g}; Foresight model `{data.get('model', result.config.model)}`"
        + (f" ({exposure})" if exposure else "")
        + (f"; {seconds:.0f} s to compute." if seconds is not None else "."),
        "",
        "| policy | " + " | ".join(title for _, title, _ in METRIC_COLUMNS) + " |",
        "|---|" + "---:|" * len(METRIC_COLUMNS),
    ]
    for name, values in data["policies"].items():
        cells = [_fmt(values.get(key), digits) for key, _, digits in METRIC_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    summary = data["summary"]
    lines += [
        "",
        "| summary (Foresight at its default quantile) | value | target | met |",
        "|---|---:|---|---|",
    ]
    equal = "_under_provisioned_pct_at_equal_replica_hours"
    rows = [
        ("Foresight under-provisioned %", "foresight_under_provisioned_pct", None),
        ("HPA under-provisioned % at equal replica-hours", "hpa" + equal, None),
        ("Holt-Winters under-prov. % at equal replica-hours", "holt-winters" + equal, None),
        ("FFT under-prov. % at equal replica-hours", "fft" + equal, None),
        ("ratio Foresight / HPA", "under_provisioned_ratio_vs_hpa", "under_provisioned_ratio_vs_hpa"),
        ("frontier ratio Foresight / HPA (whole shared stretch)", "frontier_ratio_vs_hpa", None),
        ("replica-hours vs oracle", "replica_hours_vs_oracle", None),
        (
            "replica-hours at ≤ 0.1 % under-prov., vs HPA",
            "replica_hours_at_slo_vs_hpa",
            "replica_hours_at_slo_vs_hpa",
        ),
        ("… least any policy can reach (a bound), vs HPA", "replica_hours_at_slo_least_vs_hpa", None),
        ("… share of HPA's excess over the oracle saved", "slo_excess_saved", None),
        ("… vs Holt-Winters", "replica_hours_at_slo_vs_holt_winters", "replica_hours_at_slo_vs_holt_winters"),
        ("… vs FFT", "replica_hours_at_slo_vs_fft", "replica_hours_at_slo_vs_fft"),
    ]
    for title, key, target_key in rows:
        value = summary.get(key)
        target, met = "", ""
        if target_key is not None:
            target = TARGETS[target_key][0]
            met = "–" if value is None else ("yes" if TARGETS[target_key][1](value) else "**no**")
        lines.append(f"| {title} | {_fmt(value, 3)} | {target} | {met} |")
    notes = _flags(summary)
    if notes:
        lines += ["", "Flags: " + "; ".join(notes) + "."]
    oracle_hours = (data["policies"].get("oracle") or {}).get("replica_hours")
    stretches = summary.get("frontier_ratio_replica_hours") or {}
    if summary.get("frontier_ratio") and oracle_hours:
        parts = []
        for family, ratio in summary["frontier_ratio"].items():
            low, high = stretches.get(family) or (None, None)
            defined = ratio is not None and math.isfinite(ratio) and low is not None
            stretch = f" ({low / oracle_hours:.2f}–{high / oracle_hours:.2f}×)" if defined else ""
            parts.append(f"{family} {_fmt(ratio, 2)}{stretch}")
        ratios = ", ".join(parts)
        lines += [
            "",
            "Frontier ratio, Foresight's under-provisioned time over each policy's along the replica-hours "
            f"both reach (that stretch, in multiples of the oracle's replica-hours): {ratios}.",
        ]
    at_slo = summary.get("replica_hours_at_slo") or {}
    if at_slo:
        needs = ", ".join(f"{k} {_fmt(v, 1)}" for k, v in at_slo.items())
        lines += [
            "",
            "Replica-hours each policy needs for ≤ 0.1 % under-provisioned time (log-linear between the two "
            f"swept points around the crossing; – = not reached): {needs}. No policy, even one that knows "
            f"the load, holds it with fewer than {_fmt(summary.get('replica_hours_at_slo_least'), 1)} (each "
            "tick's need paid, the busiest 0.1 % of ticks let go, start-ups free).",
        ]
    lines += _seed_lines(data)
    if image:
        lines += ["", f"![{data['trace']}]({image})"]
    return "\n".join(lines) + "\n"


_SUMMARY_HEADER = (
    "| trace | Foresight model | unseen | under-prov. ratio vs HPA (≤ 0.5) | frontier ratio vs HPA "
    "| replica-h at SLO vs HPA (≤ 0.85) | least possible | HPA's excess saved | vs Holt-Winters (< 1) "
    "| vs FFT (< 1) | replica-h vs oracle | flags |\n"
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def single_trace_command(config: Any) -> str:
    """The ``foresight bench`` command that replays one trace as this page's run did.

    >>> from foresight.simulation import BenchConfig
    >>> single_trace_command(BenchConfig(eval_days=14.0, ablation=True, floor_sweep=True)).split(" --")[3:]
    ['eval-days 14', 'ablation', 'floor-sweep', 'json out.json', 'plot out.png']
    """
    from foresight.simulation._bench import BenchConfig

    words = ["foresight bench --trace TRACE --startup 3m"]
    if config.model != BenchConfig().model:
        words.append(f"--model {config.model}")
    if config.eval_days is not None:
        words.append(f"--eval-days {config.eval_days:g}")
    if config.sweep_days is not None:
        words.append(f"--sweep-days {config.sweep_days:g}")
    words += [
        flag
        for flag, on in (
            ("--calibrate", config.calibrate),
            ("--ablation", config.ablation),
            ("--floor-sweep", config.floor_sweep),
        )
        if on
    ]
    return " ".join([*words, "--json out.json --plot out.png"])


def page(
    results: list[dict[str, Any]],
    sections: list[str],
    config: Any,
    elapsed_seconds: float,
    jobs: int,
    discussion: str = "",
    more: Sequence[tuple[Any, list[dict[str, Any]], list[str]]] = (),
) -> str:
    """All of ``docs/benchmark.md``: protocol, summary vs targets, discussion, per-trace detail.

    ``more`` holds the runs at further start-up times (config, results, sections): each gets its own
    summary and per-trace part after the first run's.
    """
    runs = [(config, results, sections), *more]
    startups = ", ".join(f"{c.startup_seconds} s" for c, _, _ in runs)
    body = protocol_text(config, elapsed_seconds, jobs, startups)
    for run_config, run_results, _ in runs:
        body += f"\n## Summary against the targets: start-up {run_config.startup_seconds} s\n\n"
        body += _summary_table(run_results)
    ablations = [(c, r) for c, r, _ in runs if any(d.get("ablation") for d in r)]
    if ablations:
        body += "\n" + _ablation_intro(results)
        for run_config, run_results in ablations:
            body += f"\n### Ablation: start-up {run_config.startup_seconds} s\n\n" + _ablation_table(
                run_results
            )
    if discussion:
        body += "\n" + discussion.strip() + "\n"
    for run_config, _, run_sections in runs:
        body += f"\n## Per trace: start-up {run_config.startup_seconds} s\n\n" + "\n".join(run_sections)
    return body


def _ablation_intro(results: list[dict[str, Any]]) -> str:
    names = [name for data in results for name in data.get("ablation", {})]
    settings = {
        name: data["ablation"][name]["settings"] for data in results for name in data.get("ablation", {})
    }
    listed = "; ".join(f"**{name}** `{settings[name]}`" for name in dict.fromkeys(names))
    return (
        "## Ablation\n\n"
        "Foresight's default (quantile 0.9 of the sample paths, uncalibrated, over an HPA at 90 %) against "
        "variants that each change one or two things, replayed on the same scored days at one setting each: "
        f"{listed} (`safety_net_target: None` is the HPA policy's own target). Each "
        "cell: under-provisioned time % · replica-hours vs the oracle · under-provisioned time over HPA's at "
        "equal replica-hours (lower is better; – where HPA at that cost never under-provisions, * where "
        "HPA's frontier is extrapolated).\n"
    )


def _ablation_table(results: list[dict[str, Any]]) -> str:
    names = list(dict.fromkeys(name for data in results for name in data.get("ablation", {})))
    header = "| trace | default | " + " | ".join(names) + " |\n|---|" + "---:|" * (len(names) + 1) + "\n"

    def cell(row: dict[str, Any]) -> str:
        ratio = row.get("under_provisioned_ratio_vs_hpa")
        star = "*" if row.get("hpa_interpolation_extrapolated") else ""
        shown = "–" if ratio is None or ratio != ratio else f"{ratio:.2f}{star}"
        return f"{row['under_provisioned_pct']:.3f} · {row['replica_hours_vs_oracle']:.2f} · {shown}"

    rows = []
    for data in results:
        s = data["summary"]
        default = {
            "under_provisioned_pct": s.get("foresight_under_provisioned_pct", math.nan),
            "replica_hours_vs_oracle": s.get("replica_hours_vs_oracle", math.nan),
            "under_provisioned_ratio_vs_hpa": s.get("under_provisioned_ratio_vs_hpa"),
            "hpa_interpolation_extrapolated": s.get("hpa_interpolation_extrapolated"),
        }
        variants = data.get("ablation", {})
        cells = [cell(default), *(cell(variants[n]) if n in variants else "" for n in names)]
        rows.append(f"| {data['trace']} | " + " | ".join(cells) + " |")
    return header + "\n".join(rows) + "\n"


def _summary_table(results: list[dict[str, Any]]) -> str:
    rows = []
    for data in results:
        s = data["summary"]

        def cell(key: str, digits: int = 2, s: dict[str, Any] = s) -> str:
            value = s.get(key)
            if value is None or not math.isfinite(value):
                return "–"
            if key not in TARGETS:
                return f"{value:.{digits}f}"
            return f"{value:.{digits}f}" + ("" if TARGETS[key][1](value) else " ✗")

        unseen = data.get("model_unseen")
        flags = len(_flags(s))
        rows.append(
            f"| {data['trace']} | {data.get('model', '')} | {_fmt(unseen)} | "
            f"{cell('under_provisioned_ratio_vs_hpa')} | {cell('frontier_ratio_vs_hpa')} | "
            f"{cell('replica_hours_at_slo_vs_hpa')} | {cell('replica_hours_at_slo_least_vs_hpa')} | "
            f"{_percent(s.get('slo_excess_saved'))} | "
            f"{cell('replica_hours_at_slo_vs_holt_winters')} | {cell('replica_hours_at_slo_vs_fft')} | "
            f"{cell('replica_hours_vs_oracle')} | {flags or ''} |"
        )
    return (
        _SUMMARY_HEADER
        + "\n"
        + "\n".join(rows)
        + "\n\n✗ = target missed; – = undefined (e.g. HPA never under-provisions at that cost); least "
        "possible = the fewest replica-hours with which any policy, even one that knows the load, can hold "
        "the SLO, over HPA's (a bound; where it is above 0.85 the target cannot be met); HPA's excess "
        "saved = the share of HPA's replica-hours above the oracle's at the SLO that Foresight saves; flags: "
        "comparisons that are not interpolations (see the trace's section).\n"
    )


_KEEP = PeakCalibration().keep


def _floor_text(config: Any) -> str:
    if not config.floor_sweep:
        return ""
    return (
        "\n  Foresight has a second knob, the target of the HPA it floors: its frontier also holds a floor "
        f"at miss rate {config.floor_miss_rate:g} over an HPA at each of the targets swept for `hpa`, so "
        "that the family it is judged on contains plain HPA (a floor that never binds), as the user's own "
        "HPA under the operator does; a frontier is the cheapest of its policy's settings at each cost."
    )


def protocol_text(config: Any, elapsed_seconds: float, jobs: int, startups: str | None = None) -> str:
    """The page's head: how the benchmark is run, from ``config`` (a ``BenchConfig``)."""
    from foresight.simulation._bench import HPA_FAMILIES, quantile_sizing

    eval_days = "the whole trace" if config.eval_days is None else f"{config.eval_days:g} days"
    sweep = "the same days" if config.sweep_days is None else f"the first {config.sweep_days:g} of them"
    sized = ", ".join(f"{q:g} ({quantile_sizing(q, config)})" for q in config.quantiles)
    calibration = (
        "scaled by the planner's calibration (the split-conformal factor of past observed / predicted "
        "lead-window peaks, by level; see `docs/concepts.md`)"
        if config.calibrate
        else "uncalibrated (`--no-calibrate`; quantiles its paths cannot resolve excepted, see Frontier)"
    )
    policies = ", ".join(f"`{f}`" for f in HPA_FAMILIES)
    return f"""# Autoscaling benchmark

<!-- Generated by `foresight bench-report` (`make bench`); edit docs/benchmark-discussion.md or the generator,
not this file. -->

Every shared load trace (`../shared/datasets/load/`, see its README for sources) is replayed under five
policies with a pod start-up time of {startups or f"{config.startup_seconds} s"}. Regenerate with `make bench`
(`foresight bench-report --jobs {jobs}`: {elapsed_seconds / 60:.0f} min on {os.cpu_count()} cores).
One trace's section, to the digit: `{single_trace_command(config)}` (`--startup 10m` for slow
start-ups: a new node, an image pull, a warm-up).

## Protocol

* **Sizing.** Capacity per replica = trace maximum / {config.peak_replicas}: the busiest moment needs
  {config.peak_replicas} ready pods. Under-provisioned = load above ready capacity by more than 1 %; the
  oracle is sized with the same 1 %.
* **Time.** The simulator ticks every 15 s (the HPA's sync period; 5 s for the 10 s trace). A trace point is
  the load over its step and is held until the next one (never interpolated towards it, which would show
  policies the future). A pod requested at tick *t* serves from *t* + start-up; a scale-down removes starting
  pods first. The HPA syncs before Foresight decides, so a floor written at a tick is read at the HPA's next
  sync, 15 s later (a real floor waits 0–15 s for it); Foresight's planner counts that sync in its lead. The
  first 7 days (30 % of shorter traces) are history only; then {eval_days} are scored, from the same initial
  state for every policy.
* **What policies see.** No policy reads the load: every one reads the metric pipeline, a Prometheus scrape
  every {config.scrape_interval_seconds} s averaged over a {config.rate_window_seconds} s rate window
  (`rate(x[{config.rate_window_seconds // 60}m])`), as of the latest scrape, and the HPA reads that every
  15 s. Forecasters read the history grid the operator queries (one reading per forecast step, 1 min or the
  trace's step, up to the last complete step), at most 7 days of it.
  `tests/unit/simulation/test_engine.py::test_no_policy_sees_the_future` changes the trace from a time on
  and checks that no decision of any policy (the reactive HPA included) before that time changes.
* **Cadence.** Foresight decides at every reconcile ({config.reconcile_seconds} s, the operator's default) for
  a lead window as wide as `max(forecast step, reconcile)`, from a forecast made at every new history point:
  the operator forecasts every reconcile, and with its fixed seed two reconciles that see the same history
  get the same forecast. Each forecast asks for {config.forecast_horizon_seconds // 60} minutes (the
  `forecast.horizon` default). Holt-Winters forecasts at every history point too (PHPA refits every sync);
  Crane's DSP refits every {config.fft_every_seconds // 3600} hours (its `queryInterval`) and its metric reads
  the stored prediction. Forecasts are made once per origin and shared by every knob setting.
* **Models.** Foresight's default model (`{config.model}`) is untrained, so it never saw the scored trace. A
  trained model is benchmarked only if it never saw the scored window (a leave-one-source-out model from
  `foresight train --exclude SOURCE`, or one trained on data before the window); `foresight bench` refuses
  any other, or labels it in-sample with `--allow-seen`.
* **Policies.**
  * `hpa`: the upstream HPA algorithm (kubernetes/kubernetes `pkg/controller/podautoscaler`): tolerance 0.1,
    15 s sync, scale-up at most max(100 %, 4 pods) per 15 s, scale-down to the highest recommendation of the
    last 300 s, not-ready pods counted as idle on scale-up; target utilization {config.hpa_target:.0%} of
    capacity.
  * `holt-winters`: the Predictive HPA's approach
    ([jthomperoo/predictive-horizontal-pod-autoscaler](https://github.com/jthomperoo/predictive-horizontal-pod-autoscaler)):
    a Holt-Winters prediction beside the HPA's own calculation, the higher one wins (`decisionType: maximum`).
    It predicts the lead window (now + start-up, as wide as Foresight's) with the median of the repo's
    `holt-winters` forecaster, the same look-ahead Foresight gets.
  * `fft`: Crane's EffectiveHPA ([gocrane/crane](https://github.com/gocrane/crane), EHPA and DSP docs): the
    DSP/FFT forecast's maximum over `predictionWindowSeconds` ({config.fft_window_seconds} s, Crane's default)
    × margin {config.fft_margin:g} is an extra HPA metric next to the original one; the HPA takes the larger.
    The repo's `fft` forecaster (Crane-style) provides the forecast.
  * `foresight`: `foresight.planning.step` (the operator's own code) on {config.n_samples} sample paths of
    the `{config.model}` forecaster raises the HPA floor for the p{config.quantile * 100:g} peak of the lead
    window (now + 15 s HPA sync + start-up), {calibration}; a lower floor keeps what the same quantile of
    the peak until the window's end needs (a pod removed now is back only at the window), scale-down waits
    300 s and removes at most 50 % per step; an HPA at {config.safety_net_target:.0%} target stays
    underneath as the safety net.
  * `oracle`: perfect foresight, the fewest replicas that never under-provision: at each tick the most needed
    over the next start-up time (optimal; checked by brute force in the unit tests).
* **Frontier.** Each policy's knob is swept on {sweep}: target utilization
  {", ".join(f"{t:g}" for t in config.hpa_targets)} for {policies}; quantile {sized} for `foresight`. A
  quantile is sized from the sample paths only when {config.tail_samples} of them lie beyond it. Past that,
  the top order statistics of {config.n_samples} heavy-tailed draws would stand in for the tail, so a
  quantile *q* becomes a target miss rate 1 − *q* (`spec.scaling.targetMissRate`): the default quantile's
  peak times the planner's split-conformal factor that would have missed that share of its last
  {_KEEP:,} scored lead windows (a day of decisions; it resolves *q* when {config.tail_samples} of them lie
  beyond it); a quantile neither resolves is reported but left out of the frontier.{_floor_text(config)} Each
  sweep is extended (lower and higher knobs) until its crossing of 0.1 % under-provisioned time and
  Foresight's default replica-hours are bracketed by swept points; what still is not is flagged.
  Comparisons "at equal replica-hours" interpolate a frontier (dominated points dropped) log-linearly in
  under-provisioned time, which is convex in replica-hours; "replica-hours at the SLO" is where a frontier
  crosses 0.1 %, interpolated the same way. The ratio at equal replica-hours compares at Foresight's
  default setting only, so it also judges where that setting sits; the **frontier ratio** compares the
  whole frontiers: the geometric mean of Foresight's under-provisioned time over the other policy's at
  {FRONTIER_RATIO_POINTS} evenly spaced replica-hours across the stretch both sweeps reach (past a
  frontier's last point, up to its dearest swept setting, that point's value holds; time below one tick of
  the scored days counts as one tick, the least a replay measures).
* **What any policy could reach.** The oracle never under-provisions; the SLO lets a policy under-provision
  0.1 % of the time. So the **least possible** replica-hours at the SLO are a bound: each tick's replicas
  needed (with the 1 % tolerance, at least the minimum replicas), the busiest 0.1 % of ticks let go, and
  start-ups paid by no one (`foresight.simulation.least_replica_hours`). No policy, whatever it knows of the
  future, holds the SLO for less; where that bound over HPA's replica-hours at the SLO is above 0.85, the
  ≤ 0.85 target cannot be met on that trace. **HPA's excess saved** is the share of HPA's replica-hours above
  the oracle's, at the SLO, that Foresight saves (100 % would be the oracle's cost).
* **Surges.** A surge is a ramp a person would call one: within 15 minutes, the replicas needed rise by at
  least 3 (15 % of the peak) and by at least 50 % over their lowest point, and stay risen for 5 minutes.
  It runs from that lowest point to its highest load; it is served in time when no tick of it is
  under-provisioned, and its lead is how long before its peak the capacity the peak needs was ready.
* **Latency model.** Each ready replica is an M/M/4 queue (100 ms mean service) that is 80 % busy at its
  capacity. Load beyond the service rate queues as a fluid backlog carried from tick to tick and drained at
  the spare rate, so an overload costs latency until it is worked off; work that would wait beyond the 10 s
  timeout is dropped and counted at the timeout. A request waits for the backlog ahead of it, then as in the
  M/M/4 queue at the tick's utilization, capped where its mean wait equals what a full queue builds in one
  tick (`foresight.simulation.QueueModel`), so no latency figure falls when replicas are removed. "High
  traffic" = ticks at or above the trace's 90th load percentile. The seed-paper table compares HPA,
  Foresight and the oracle at equal replica-hours (the HPA replayed at the target utilization interpolated to
  Foresight's default replica-hours) and at the SLO (each policy's cheapest swept setting holding it).
"""
