"""Plots and Markdown for benchmark results (``foresight bench --plot``, ``docs/benchmark.md``)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foresight.simulation._bench import BenchResult

__all__ = ["TARGETS", "busiest_window", "markdown_section", "save_plot"]

COLORS = {"hpa": "tab:red", "holt-winters": "tab:orange", "fft": "tab:purple", "foresight": "tab:blue"}
COLORS["oracle"] = "tab:green"

TARGETS = {
    "under_provisioned_ratio_vs_hpa": ("≤ 0.20", lambda v: v <= 0.2),
    "gap_closed": ("≥ 80 %", lambda v: v >= 0.8),
    "replica_hours_vs_oracle": ("≤ 1.15", lambda v: v <= 1.15),
    "replica_hours_at_slo_vs_hpa": ("≤ 0.85", lambda v: v <= 0.85),
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
        xs = [p["replica_hours"] for p in points]
        ys = [p["under_provisioned_pct"] for p in points]
        style = "*" if family == "oracle" else "o-"
        right.plot(
            xs, ys, style, color=COLORS.get(family), label=family, markersize=9 if family == "oracle" else 4
        )
    for family, run_metrics in result.metrics.items():
        if family in ("foresight", "hpa"):
            right.plot(run_metrics["replica_hours"], run_metrics["under_provisioned_pct"], "s",
                       color=COLORS[family], markersize=9, markerfacecolor="none")  # fmt: skip
    right.set_yscale("symlog", linthresh=0.1)
    right.set_title("cost vs violation (frontier sweep; squares: defaults)")
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


METRIC_COLUMNS: Sequence[tuple[str, str, int]] = (
    ("under_provisioned_pct", "under-prov. time %", 3),
    ("unserved_fraction", "unserved fraction", 5),
    ("deficit_replica_minutes", "deficit replica-min", 1),
    ("replica_hours", "replica-hours", 1),
    ("over_provisioning_vs_oracle_pct", "vs oracle %", 1),
    ("scaling_actions_per_day", "actions/day", 1),
    ("surges_provisioned_pct", "surges ready %", 0),
    ("surge_median_lead_seconds", "median lead s", 0),
    ("latency_mean_ms_high_traffic", "mean latency ms (high traffic)", 0),
    ("latency_p99_ms_high_traffic", "p99 latency ms (high traffic)", 0),
    ("cpu_utilization_pct", "CPU util. %", 1),
)


def markdown_section(result: BenchResult, image: str | None, seconds: float | None = None) -> str:
    """One trace's tables (per policy, summary vs targets) and its figure."""
    data = result.to_json()
    evaluated = data["evaluated"]
    lines = [
        f"### {data['trace']} (`{data['column']}`)",
        "",
        f"Evaluated {evaluated['days']:.1f} days from {evaluated['start'][:16]}Z "
        f"at {evaluated['tick_seconds']} s "
        f"ticks (trace step {evaluated['trace_step_seconds']} s); capacity per replica "
        f"{data['capacity_per_replica']:,.4g}; Foresight model `{data.get('model', result.config.model)}`"
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
        ("HPA under-provisioned % at equal replica-hours", "hpa" + equal, None),
        ("Foresight under-provisioned % (frontier run)", "foresight_under_provisioned_pct", None),
        ("ratio Foresight / HPA", "under_provisioned_ratio_vs_hpa", "under_provisioned_ratio_vs_hpa"),
        ("gap closed from HPA toward oracle", "gap_closed", "gap_closed"),
        ("replica-hours vs oracle", "replica_hours_vs_oracle", "replica_hours_vs_oracle"),
        (
            "replica-hours at ≤ 0.1 % under-prov., vs HPA",
            "replica_hours_at_slo_vs_hpa",
            "replica_hours_at_slo_vs_hpa",
        ),
        ("Holt-Winters under-prov. % at equal replica-hours", "holt-winters" + equal, None),
        ("FFT under-prov. % at equal replica-hours", "fft" + equal, None),
    ]
    for title, key, target_key in rows:
        value = summary.get(key)
        target, met = "", ""
        if target_key is not None:
            target = TARGETS[target_key][0]
            met = "–" if value is None else ("yes" if TARGETS[target_key][1](value) else "**no**")
        lines.append(f"| {title} | {_fmt(value, 3)} | {target} | {met} |")
    if summary.get("hpa_interpolation_extrapolated"):
        lines.append("")
        lines.append("HPA's frontier does not reach Foresight's replica-hours: its nearest point is used.")
    at_slo = summary.get("replica_hours_at_slo") or {}
    if at_slo:
        needs = ", ".join(f"{k} {_fmt(v, 1)}" for k, v in at_slo.items())
        lines += [
            "",
            "Replica-hours each policy needs for ≤ 0.1 % under-provisioned time (read off its frontier; "
            f"– = not reached in the sweep): {needs}.",
        ]
    if image:
        lines += ["", f"![{data['trace']}]({image})"]
    return "\n".join(lines) + "\n"


_SUMMARY_HEADER = (
    "| trace | Foresight model | under-prov. ratio vs HPA (≤ 0.2) | gap closed (≥ 80 %) "
    "| replica-h vs oracle (≤ 1.15) | replica-h at SLO vs HPA (≤ 0.85) | beats HW / FFT at equal cost |\n"
    "|---|---|---:|---:|---:|---:|---|"
)


def page(
    results: list[dict[str, Any]],
    sections: list[str],
    config: Any,
    elapsed_seconds: float,
    jobs: int,
    discussion: str = "",
) -> str:
    """All of ``docs/benchmark.md``: protocol, summary vs targets, discussion, per-trace detail."""
    eval_days = "the whole trace" if config.eval_days is None else f"{config.eval_days:g} days"
    sweep = "the same days" if config.sweep_days is None else f"the first {config.sweep_days:g} of them"
    calibration = (
        "scaled by the planner's calibration (the split-conformal factor of past observed / predicted "
        "lead-window peaks, by level; see `docs/concepts.md`)"
        if config.calibrate
        else "uncalibrated (`--no-calibrate`)"
    )
    head = f"""# Autoscaling benchmark

<!-- Generated by `foresight bench-report` (`make bench`); edit docs/benchmark-discussion.md or the generator,
not this file. -->

Every shared load trace (`../shared/datasets/load/`, see its README for sources) is replayed under five
policies with a pod start-up time of {config.startup_seconds} s. Regenerate with `make bench`
(`foresight bench-report --jobs {jobs}`: {elapsed_seconds / 60:.0f} min on {os.cpu_count()} cores); one trace:
`foresight bench --trace TRACE --json out.json --plot out.png`.

## Protocol

* **Sizing.** Capacity per replica = trace maximum / {config.peak_replicas}: the busiest moment needs
  {config.peak_replicas} ready pods. Under-provisioned = load above ready capacity by more than 1 %.
* **Time.** The simulator ticks every 15 s (the HPA's sync period; 5 s for the 10 s trace); coarser traces are
  interpolated linearly between their points. A pod requested at tick *t* serves from *t* + start-up; a
  scale-down removes starting pods first. The first 7 days (30 % of shorter traces) are history only; then
  {eval_days} are scored, from the same initial state for every policy. Forecasts are made every
  {config.forecast_every_seconds // 60} min (batched) from history strictly before their origin, at a
  1-min step (finer traces are averaged per minute), and decisions are taken every minute from the latest
  forecast.
  A test (`tests/unit/simulation/test_engine.py::test_no_policy_sees_the_future`) changes the trace after a
  time and checks that no decision before it changes.
* **Policies.**
  * `hpa`: the upstream HPA algorithm (kubernetes/kubernetes `pkg/controller/podautoscaler`): tolerance 0.1,
    15 s sync, scale-up at most max(100 %, 4 pods) per 15 s, scale-down to the highest recommendation of the
    last 300 s, not-ready pods counted as idle on scale-up; target utilization {config.hpa_target:.0%} of
    capacity. It sees the offered load (as a request-rate metric), which flatters it a little.
  * `holt-winters`: the Predictive HPA's approach
    ([jthomperoo/predictive-horizontal-pod-autoscaler](https://github.com/jthomperoo/predictive-horizontal-pod-autoscaler)):
    a Holt-Winters prediction beside the HPA's own calculation, the higher one wins (`decisionType: maximum`).
    It predicts the lead window (now + start-up, one minute wide) with the median of the repo's
    `holt-winters` forecaster, the same look-ahead Foresight gets.
  * `fft`: Crane's EffectiveHPA ([gocrane/crane](https://github.com/gocrane/crane), EHPA and DSP docs): the
    DSP/FFT forecast's maximum over `predictionWindowSeconds` ({config.fft_window_seconds} s, Crane's default)
    × margin {config.fft_margin:g} is an extra HPA metric next to the original one; the HPA takes the larger.
    The repo's `fft` forecaster (Crane-style) provides the forecast.
  * `foresight`: `foresight.planning.decide` (the operator's own code) on {config.n_samples} sample paths of
    the `{config.model}` forecaster raises the HPA floor for the p{config.quantile * 100:g} peak of the lead
    window, {calibration};
    scale-down waits 300 s and removes at most 50 % per step; an HPA at {config.safety_net_target:.0%} target
    stays underneath as the safety net.
  * `oracle`: perfect foresight, the fewest replicas that never under-provision: at each tick the most needed
    over the next start-up time (optimal; checked by brute force in the unit tests).
* **Frontier.** Each policy's knob is swept on {sweep}: target utilization
  {", ".join(f"{t:g}" for t in config.hpa_targets)} for `hpa`, `holt-winters` and `fft`; quantile
  {", ".join(f"{q:g}" for q in config.quantiles)} for `foresight`. Comparisons "at equal replica-hours"
  interpolate a frontier (dominated points dropped); "replica-hours at the SLO" is where a frontier first
  reaches ≤ 0.1 % under-provisioned time.
* **Latency model.** Each ready replica is an M/M/4 queue (100 ms mean service) that is 80 % busy at its
  capacity; requests in ticks where the load reaches full service rate wait the 10 s timeout. "High traffic"
  = ticks at or above the trace's 90th load percentile. Surges: a tick where needed replicas exceed the
  previous 30 minutes' maximum by max(2, 20 %); "ready" = capacity was in place at its first tick.

## Summary against the targets

{_SUMMARY_HEADER}
"""
    rows = []
    for data in results:
        s = data["summary"]
        fs = s.get("foresight_under_provisioned_pct")

        def beats(key: str, s: dict[str, Any] = s, fs: Any = fs) -> str:
            other = s.get(key)
            if fs is None or other is None:
                return "–"
            return "yes" if fs <= other else "no"

        def cell(key: str, digits: int = 2, s: dict[str, Any] = s) -> str:
            value = s.get(key)
            if value is None:
                return "–"
            mark = "" if TARGETS[key][1](value) else " ✗"
            return f"{value:.{digits}f}{mark}"

        gap = s.get("gap_closed")
        gap_text = "–" if gap is None else f"{gap:.0%}" + ("" if gap >= 0.8 else " ✗")
        rows.append(
            f"| {data['trace']} | {data.get('model', '')} | {cell('under_provisioned_ratio_vs_hpa')} | "
            f"{gap_text} | {cell('replica_hours_vs_oracle')} | {cell('replica_hours_at_slo_vs_hpa')} | "
            f"{beats('holt-winters_under_provisioned_pct_at_equal_replica_hours')} / "
            f"{beats('fft_under_provisioned_pct_at_equal_replica_hours')} |"
        )
    body = (
        head
        + "\n".join(rows)
        + "\n\n✗ = target missed; – = undefined (e.g. HPA never under-provisions at that cost).\n"
    )
    if discussion:
        body += "\n" + discussion.strip() + "\n"
    return body + "\n## Per trace\n\n" + "\n".join(sections)
