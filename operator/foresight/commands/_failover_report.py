"""The ``evaluate-failover`` report: one set of tables for the console (rich) and for the docs page."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

__all__ = ["console_tables", "markdown"]

REGENERATE = (
    "foresight evaluate-failover --prior-out models/failure-prior-v1 \\\n"
    "  --json models/failure-prior-v1/evaluation.json --markdown docs/failover-eval.md"
)


@dataclass
class _Table:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    caption: str = ""

    def rich(self) -> Table:
        table = Table(title=self.title, caption=self.caption or None)
        for h in self.headers:
            table.add_column(h)
        for row in self.rows:
            table.add_row(*row)
        return table

    def markdown(self) -> str:
        lines = [
            f"**{self.title}**",
            "",
            "| " + " | ".join(self.headers) + " |",
            "|" + "---|" * len(self.headers),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.caption:
            lines += ["", f"_{self.caption}_"]
        return "\n".join(lines) + "\n"


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        if value != 0 and abs(value) < 10**-digits:
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: float, digits: int = 1) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:.{digits}f} %"


def _point(h: str, t: float) -> str:
    return f"{h} / {t:g}"


def console_tables(result: dict[str, Any]) -> list[Table]:
    """The report's tables, for the terminal."""
    return [t.rich() for t in _tables(result)]


def _tables(result: dict[str, Any]) -> list[_Table]:
    tables = [_headline(result), _operating_points(result), _lanl_scores(result)]
    if result["crossings"] is not None:
        tables += [
            _crossing_summary(result["crossings"]),
            *_reliability(result["crossings"]),
            _alarms(result),
        ]
        tables.append(_leaks(result["leaks"]))
    tables += [_prior(result), _systems(result), _backblaze(result)]
    return tables


def _headline(result: dict[str, Any]) -> _Table:
    table = _Table(
        "Pod downtime per real failure, LANL test period: Foresight vs Kubernetes' default taint-based "
        "eviction",
        [
            "operating point",
            "failures",
            "drained in time",
            "caught late (draining)",
            "missed",
            "pod-min per failure",
            "Kubernetes default",
            "change",
            "false alarms: pod-min of restarts per failure",
            "false alarms: drained node-h per failure",
            "node-time drained for nothing",
        ],
    )
    for name, label in (("default", "spec default"), ("chosen", "chosen on training")):
        point = result["points"][name]
        if name == "chosen" and (point["horizon"], point["threshold"]) == (
            result["points"]["default"]["horizon"],
            result["points"]["default"]["threshold"],
        ):
            continue
        s = point["score"]
        change = s["pod_minutes_per_failure"] / s["default_pod_minutes_per_failure"] - 1
        table.rows.append(
            [
                f"{_point(point['horizon'], point['threshold'])} ({label})",
                str(s["failures"]),
                str(s["caught_in_time"]),
                str(s["caught_draining"]),
                str(s["missed"]),
                _fmt(s["pod_minutes_per_failure"], 1),
                _fmt(s["default_pod_minutes_per_failure"], 1),
                f"{100 * change:+.1f} %",
                _fmt(s["false_restart_pod_minutes_per_failure"], 2),
                _fmt(s["false_drained_node_hours_per_failure"], 1),
                _pct(s["false_drained_share"], 2),
            ]
        )
    p = result["downtime_params"]
    r = result["rails"]
    table.caption = (
        f"{p['pods_per_node']} pods per node. Kubernetes default: {p['node_monitor_grace_seconds']:g} s "
        f"grace + {p['toleration_seconds']:g} s toleration + {p['schedule_seconds']:g} s scheduling + "
        f"{p['startup_seconds']:g} s start-up per pod. Foresight: pods evicted one per "
        f"{p['eviction_interval_seconds']:g} s once the node is NoSchedule, each down for scheduling + "
        f"start-up; rails: cooldown {r['cooldown_seconds']:g} s, maxNodesAtOnce {r['max_nodes_at_once']} "
        "per system. Pod-min per failure includes the false alarms' restarts."
    )
    return table


def _operating_points(result: dict[str, Any]) -> _Table:
    ops = result["operating_points"]
    table = _Table(
        "Operating points: chosen on the training period, scored on the test period",
        [
            "horizon / threshold",
            "train: pod-h saved",
            "train: node-time drained for nothing",
            "test: pod-min per failure",
            "test: in time / late / missed",
            "test: alarm in horizon but not draining",
            "test: drained node-h per failure",
            "test: node-time drained for nothing",
        ],
    )
    chosen = tuple(ops["chosen"])
    for tr, te in zip(ops["train"], ops["test"], strict=True):
        mark = " **(chosen)**" if (tr["horizon"], tr["threshold"]) == chosen else ""
        table.rows.append(
            [
                _point(tr["horizon"], tr["threshold"]) + mark,
                _fmt(tr["net_saved_pod_hours"], 0),
                _pct(tr["false_drained_share"], 2),
                _fmt(te["pod_minutes_per_failure"], 1),
                f"{te['caught_in_time']} / {te['caught_draining']} / {te['missed']}",
                str(te["over_credited"]),
                _fmt(te["false_drained_node_hours_per_failure"], 1),
                _pct(te["false_drained_share"], 2),
            ]
        )
    table.caption = (
        "The choice: most pod-hours saved on the training period (false-alarm restarts included) with at "
        f"most {_pct(result['max_drained_share'], 0)} of node-time drained for nothing; the spec default if "
        "none saves anything. Test figures are shown for every point, but only the training ones chose."
    )
    return table


def _lanl_scores(result: dict[str, Any]) -> _Table:
    table = _Table(
        "LANL test period: risk model vs failure-rate baseline",
        [
            "model",
            "horizon / threshold",
            "failures",
            "tainted at failure",
            "alarm within horizon before",
            "precision",
            "recall",
            "lead median (min)",
            "lead p10 (min)",
            "tainted node-time",
            "taint episodes",
            "false episodes",
        ],
    )
    checks = []
    for name in ("default", "chosen"):
        for r in result["points"][name]["lanl"]:
            row = [
                r["model"],
                _point(r["horizon"], r["threshold"]),
                str(r["failures"]),
                str(r["caught"]),
                str(r["alarm_in_horizon"]),
                _fmt(r["precision"]),
                _fmt(r["recall"]),
                _fmt(r["lead_time_median_minutes"], 0),
                _fmt(r["lead_time_p10_minutes"], 0),
                _pct(r["alarmed_node_time_share"], 2),
                str(r["alarm_episodes"]),
                str(r["false_alarm_episodes"]),
            ]
            if row not in table.rows:
                table.rows.append(row)
            if r["checked_with_assess_node"]:
                checks.append(
                    f"{_point(r['horizon'], r['threshold'])}: {r['checked_with_assess_node']} failures "
                    f"re-scored with assess_node, {r['assess_node_disagreements']} disagreement(s)"
                )
    table.caption = (
        "Tainted at failure: the node carried the taint (hysteresis: on at the threshold, off below half "
        "of it) when it failed. Alarm within horizon before: the looser count that credits any alarm in "
        "the horizon, "
        "lifted or not. " + "; ".join(dict.fromkeys(checks))
    )
    return table


def _crossing_summary(crossings: dict[str, Any]) -> _Table:
    table = _Table(
        "Forecast crossings on Azure per-VM CPU series: Brier score and calibration error",
        [
            "VMs",
            "count",
            "(origin, threshold) pairs",
            "crossing rate",
            "Brier: base rate",
            "Brier: share of paths",
            "Brier: calibrated",
            "ECE: share of paths",
            "ECE: calibrated",
        ],
    )
    for name, pop in crossings["populations"].items():
        table.rows.append(
            [
                name,
                str(pop["vms"]),
                str(pop["pairs"]),
                _fmt(pop["base_rate"], 4),
                _fmt(pop["brier_base_rate"], 4),
                _fmt(pop["brier_raw"], 4),
                _fmt(pop["brier_calibrated"], 4),
                _fmt(pop["ece_raw"], 4),
                _fmt(pop["ece_calibrated"], 4),
            ]
        )
    table.caption = (
        "Calibration: isotonic regression fitted on the training VMs only. ECE: count-weighted gap between "
        "the mean predicted p and the observed frequency over the reliability bins."
    )
    return table


def _reliability(crossings: dict[str, Any]) -> list[_Table]:
    out = []
    for name in ("held-out VMs", "periodic VMs (other population)"):
        pop = crossings["populations"][name]
        table = _Table(
            f"Reliability diagram, {name}: predicted p vs observed crossing frequency",
            [
                "p bin",
                "share of paths: pairs",
                "mean p",
                "observed",
                "calibrated: pairs",
                "mean p",
                "observed",
            ],
        )
        raw = {(r["lo"], r["hi"]): r for r in pop["reliability_raw"]}
        cal = {(r["lo"], r["hi"]): r for r in pop["reliability_calibrated"]}
        for lo, hi in sorted(raw.keys() | cal.keys()):
            cells = [f"{lo:g}–{hi:g}"]
            for side in (raw, cal):
                r = side.get((lo, hi))
                cells += (
                    [str(r["count"]), _fmt(r["mean_p"]), _fmt(r["observed"])]
                    if r is not None
                    else ["0", "–", "–"]
                )
            table.rows.append(cells)
        out.append(table)
    return out


def _alarms(result: dict[str, Any]) -> _Table:
    crossings = result["crossings"]
    table = _Table(
        "Alarms on held-out VMs: the operator's forecast vs predict_linear",
        [
            "CPU level",
            "rule",
            "alarm share",
            "precision",
            "crossings",
            "warned",
            "lead median (min)",
            "Brier",
        ],
    )
    for a in crossings["alarms"]:
        table.rows.append(
            [
                f"{a['level']:g} %",
                a["rule"],
                _pct(a["alarm_share"], 2),
                _fmt(a["precision"]),
                str(a["crossings"]),
                f"{a['warned']} ({_pct(a['recall'], 0)})",
                _fmt(a["lead_median_minutes"], 0),
                _fmt(a["brier"], 4),
            ]
        )
    table.caption = (
        f"Horizon {crossings['horizon_minutes']:g} min (the operator's "
        f"{crossings['geometry']['horizon_steps']} steps at the data's "
        f"{crossings['step_seconds'] // 60}-minute readings), origins every "
        f"{crossings['stride_steps'] * crossings['step_seconds'] // 60} min. Alarm share and precision over "
        "origins below the level; warned: crossings with the alarm on at the last origin before them; "
        "lead: from the alarm's start (or the end of the previous excursion) to the crossing. The "
        "operator's rules keep its hysteresis; predict_linear is on exactly while the expression holds."
    )
    return table


def _leaks(rows: Sequence[dict[str, Any]]) -> _Table:
    table = _Table(
        "Memory-leak ramp test (synthetic; threshold 90 %, horizon 15 min, checked every minute)",
        ["scenario", "rule", "leaks warned", "lead median (min)", "false alarms per series-day"],
    )
    for r in rows:
        leak = "leak" in r["scenario"]
        table.rows.append(
            [
                r["scenario"],
                r["rule"],
                f"{r['warned']} / {r['series']}" if leak else "–",
                _fmt(r["lead_median_minutes"], 1),
                _fmt(r["false_alarms_per_day"], 2),
            ]
        )
    table.caption = (
        "Memory use = level (40-60 %) + AR(1) noise; a leak ramps linearly to 90 % from an onset; the "
        "controls step up by 15-25 points or stay put. False alarms: alarm episodes before the onset "
        "(leaks) or anywhere (controls), per series-day."
    )
    return table


def _prior(result: dict[str, Any]) -> _Table:
    table = _Table(
        "Failure prior (all LANL records): hazard by hours since the node last recovered",
        [
            "hours since recovery",
            "failures",
            "node-hours",
            "hazard /h",
            "p(fail within 15m)",
            "p(within 24h)",
        ],
    )
    lanl = result["prior_all_records"]["lanl"]
    edges = [*lanl["edges_hours"], math.inf]
    for i, hz in enumerate(lanl["hazard_per_hour"]):
        table.rows.append(
            [
                f"{edges[i]:g}–{edges[i + 1]:g}",
                str(lanl["events"][i]),
                f"{lanl['exposure_node_hours'][i]:.3g}",
                _fmt(hz, 5),
                _fmt(1 - math.exp(-hz / 4), 4),
                _fmt(1 - math.exp(-hz * 24), 3),
            ]
        )
    hz = lanl["no_failure_hazard_per_hour"]
    table.rows.append(
        [
            "no failure yet",
            str(lanl["no_failure_events"]),
            f"{lanl['no_failure_exposure_node_hours']:.3g}",
            _fmt(hz, 6),
            _fmt(1 - math.exp(-hz / 4), 6),
            _fmt(1 - math.exp(-hz * 24), 4),
        ]
    )
    return table


def _systems(result: dict[str, Any]) -> _Table:
    table = _Table(
        "LANL per system: first 24 h after a recovery vs the base rate",
        ["system", "nodes", "outages", "base p(24h)", "p(24h) after recovery", "relative risk"],
    )
    for s in result["lanl_systems"]:
        table.rows.append(
            [
                str(s["system"]),
                str(s["nodes"]),
                str(s["outages"]),
                _fmt(s["p_fail_within_24h_base"], 4),
                _fmt(s["p_fail_within_24h_after_recovery"], 4),
                _fmt(s["relative_risk_first_24h"], 1),
            ]
        )
    return table


def _backblaze(result: dict[str, Any]) -> _Table:
    bb = result["backblaze"]
    smart = result["prior_all_records"]["backblaze"]
    table = _Table("Backblaze: the prior's flag, SMART 5/187/197/198 > 0", ["figure", "value"])
    table.rows = [
        ["hazard /h, any counter > 0 (all drives)", _fmt(smart["any_nonzero"]["hazard_per_hour"], 6)],
        ["hazard /h, all zero (all drives)", _fmt(smart["all_zero"]["hazard_per_hour"], 7)],
        ["relative risk (all/train)", f"{smart['relative_risk']:.1f} / {bb['relative_risk_train']:.1f}"],
        [f"p(drive fails within {bb['horizon']}) when flagged", _fmt(bb["p_at_default_horizon_flagged"], 6)],
        ["alarms at the default threshold", str(bb["alarms_at_threshold"])],
        ["held-out drives / failures", f"{bb['test_drives']} / {bb['test_failures']}"],
        [
            f"flag precision over {bb['window']} (base rate)",
            f"{_fmt(bb['flag_precision_window'], 4)} ({_fmt(bb['base_rate_window'], 4)})",
        ],
        [f"flag recall within {bb['window']} before failure", _fmt(bb["flag_recall_window"])],
        ["failures flagged >= 24 h ahead", _fmt(bb["flag_recall_24h_lead"])],
        ["median lead of the flag (days)", _fmt(bb["lead_time_median_days"], 1)],
    ]
    return table


def _disk_health(scored: dict[str, Any]) -> _Table:
    test = scored["test"]
    table = _Table(
        "Backblaze held-out drives: the learned disk-health model vs the flag",
        ["horizon", "rule", "alarmed drive-days", "precision (base rate)", "recall", "median lead (days)"],
        caption=(
            f"{test['drives']:,} test drives, {test['failures']:,} failures, split by serial; thresholds "
            f"chosen on validation drives. From {scored['source']}."
        ),
    )
    for horizon, figures in sorted(scored["horizons"].items(), key=lambda kv: float(kv[0])):
        for row in figures["scores"]:
            table.rows.append(
                [
                    f"{horizon} d",
                    row["rule"],
                    _pct(row["alarm_share"], 2),
                    f"{_pct(row['precision'], 2)} ({_pct(row['base_rate'], 3)})",
                    _pct(row["recall"]),
                    _fmt(row["lead_days_median"], 1),
                ]
            )
    return table


def markdown(result: dict[str, Any]) -> str:
    """``docs/failover-eval.md``: the findings in words, every table, and what the data cannot show."""
    tables = {t.title: t for t in _tables(result)}
    by_order = list(tables.values())
    default = result["points"]["default"]
    chosen = result["points"]["chosen"]
    d, c = default["score"], chosen["score"]
    k8s = d["default_pod_minutes_per_failure"]
    lines = [
        "# FailoverPolicy evaluation",
        "",
        "Generated by `foresight evaluate-failover` (see [failover.md](failover.md) for the policy). Every "
        "figure comes from public records replayed through the operator's own code: `assess_node`'s risk, "
        "the planner's taint hysteresis (taint at the threshold, lift below half of it) and its rails (one "
        "new drain per 5-minute cooldown, `maxNodesAtOnce` 1, per LANL system).",
        "",
        "## Headline: pod downtime per real failure",
        "",
        f"On the LANL test period ({d['failures']:,} node failures, the last 30 % of each of 22 systems' "
        f"records), Kubernetes' default taint-based eviction costs {k8s:.0f} pod-minutes per failure "
        f"({result['downtime_params']['pods_per_node']} pods, each down for grace + 300 s toleration + "
        "restart).",
        "",
    ]
    if (chosen["horizon"], chosen["threshold"]) == (default["horizon"], default["threshold"]):
        choice = (
            f"* **No operating point pays on the training period** within the capacity budget: the spec "
            f"default ({_point(default['horizon'], default['threshold'])}) stays."
        )
    else:
        change = c["pod_minutes_per_failure"] / k8s - 1
        choice = (
            f"* **Chosen on the training period: {_point(chosen['horizon'], chosen['threshold'])}.** On the "
            f"test period it drains {c['caught_in_time']:,} failing nodes in time, {c['caught_draining']} "
            f"late (still draining) and misses {c['missed']:,}: {c['pod_minutes_per_failure']:.1f} "
            f"pod-minutes per failure ({100 * change:+.1f} %), false-alarm restarts included "
            f"({c['false_restart_pod_minutes_per_failure']:.2f} pod-min per failure). Beside it, the "
            f"capacity it costs: {c['false_drained_node_hours_per_failure']:.1f} node-hours drained for "
            f"nothing per real failure, {_pct(c['false_drained_share'], 2)} of all node-time. The median "
            f"drain starts {_minutes(chosen['drain_lead_median_minutes'])} before the failure it catches."
        )
    lines += [
        f"* **Spec default ({_point(default['horizon'], default['threshold'])}): no failure drained** "
        f"({d['caught_in_time']} in time, {d['missed']:,} missed): from failure history alone the risk never "
        "reaches the threshold, so Foresight equals Kubernetes' default there. It needs live signals.",
        choice,
        _over_credit(result),
        "* **What this cannot show.** LANL records failure times only: the forecast, node-condition and "
        "lease causes cannot be scored against real failures, so the figures above are the recurrence "
        "prior's alone. The Azure series below check the forecast cause's probability on real crossings, "
        "not on failures.",
        "",
        by_order[0].markdown(),
    ]
    lines += [
        "## Operating points",
        "",
        "Each point is replayed on the first 70 % of each system's record (the prior fitted there too) and "
        "the choice is made from those figures alone; a unit test checks that changing the test records "
        "cannot change it.",
        "",
        tables["Operating points: chosen on the training period, scored on the test period"].markdown(),
        tables["LANL test period: risk model vs failure-rate baseline"].markdown(),
    ]
    if result["crossings"] is not None:
        lines += _crossing_section(result, tables)
    lines += [
        "## Failure prior",
        "",
        tables["Failure prior (all LANL records): hazard by hours since the node last recovered"].markdown(),
        tables["LANL per system: first 24 h after a recovery vs the base rate"].markdown(),
        "## Disk health",
        "",
        "The learned disk-health model (`models/disk-health-v1`, the `diskHealth` cause) against the flag "
        "on held-out Backblaze drives; its full evaluation, calibration included: "
        "[disk-health-eval.md](disk-health-eval.md). Below it, the prior's one-flag rule.",
        "",
        *([_disk_health(result["disk_health"]).markdown()] if "disk_health" in result else []),
        tables["Backblaze: the prior's flag, SMART 5/187/197/198 > 0"].markdown(),
        "## Limits: what the data cannot show",
        "",
        "* No public dataset pairs node-level resource metrics with failure labels. LANL has failure times "
        "only (1996–2005 HPC nodes, start = when an operator logged it), so the forecast, condition and "
        "lease causes are not scored on failures; condition weights and the lease ramp are settings and "
        "heuristics.",
        "* The Azure check uses CPU utilisation at 5-minute readings, so its horizon is 150 minutes (the "
        "operator's 30 steps); the calibration is assumed to carry over to other signals and to the default "
        "15-minute horizon, which no public trace can confirm. The leak test is synthetic by construction.",
        "* The downtime replay assumes a full node (the same pods per node) at every failure and every "
        "drain, except a node escalated as it comes back from a failure, which returns empty; it charges "
        "every drain that moved pods for nothing one restart per pod; replicas restart elsewhere without "
        "surge; StatefulSets and volumes that must detach take longer on both paths.",
        "* Missed failures are charged the default path in full, although the policy's Ready=Unknown weight "
        "would start evictions after the 40 s grace rather than after the 300 s toleration: that reaction is "
        "not credited here (nor does it take a drain slot from the rails in the replay).",
        "",
        "## Regenerate",
        "",
        "```",
        REGENERATE,
        "```",
        "",
        f"This run took {result['runtime_seconds']:.0f} s. The LANL data are courtesy of Los Alamos National "
        "Laboratory (LA-UR-05-7318); the Azure Public Dataset V1 is CC-BY (Microsoft).",
        "",
    ]
    return "\n".join(lines)


def _over_credit(result: dict[str, Any]) -> str:
    """The looser count (any alarm in the horizon before a failure) against what was draining at it."""
    chosen = result["points"]["chosen"]
    model = chosen["lanl"][0]
    s = chosen["score"]
    worst = max(result["operating_points"]["test"], key=lambda r: r["over_credited"])
    return (
        "* **Credit only for a node draining when it fails.** Crediting any alarm within the horizon "
        f"before a failure gives {model['alarm_in_horizon']:,} catches at the chosen point; counting what "
        "the operator really had draining when the node failed gives "
        f"{s['caught_in_time'] + s['caught_draining']:,} ({s['over_credited']} failures had an alarm in the "
        "horizon but no drain under way). The two differ both ways: a taint lifted before the failure, or "
        f"a drain the rails held back, is no catch (worst in the sweep: {worst['over_credited']} at "
        f"{_point(worst['horizon'], worst['threshold'])}); and the planner keeps a taint until the risk "
        "falls below half the threshold, so a node stays drained long after its alarm, which catches later "
        "failures and costs the drained node-time counted beside."
    )


def _minutes(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "–"
    if value >= 2 * 60 * 24:
        return f"{value / 60 / 24:.1f} days"
    if value >= 120:
        return f"{value / 60:.1f} h"
    return f"{value:.0f} min"


def _crossing_section(result: dict[str, Any], tables: dict[str, _Table]) -> list[str]:
    crossings = result["crossings"]
    held = crossings["populations"]["held-out VMs"]
    other = crossings["populations"]["periodic VMs (other population)"]
    geometry = crossings["geometry"]
    text = [
        "## Forecast crossings, calibrated",
        "",
        f"A `signals[]` cause reports p = the share of {geometry['samples']} sampled paths that cross the "
        f"threshold within the horizon. Checked here with the operator's forecaster ({geometry['model']}, "
        f"{geometry['horizon_steps']} steps across the horizon, {geometry['history_horizons']} horizons of "
        f"history) on the Azure V1 per-VM CPU series: {crossings['horizon_minutes']:g}-minute horizon, "
        f"{crossings['history_hours']:g} h of history, an origin every "
        f"{crossings['stride_steps'] * crossings['step_seconds'] // 60} minutes, thresholds "
        + ", ".join(f"{x:g} %" for x in crossings["thresholds"])
        + " (each origin scored against every threshold it is still below). The label is whether the VM's "
        "CPU really crossed the threshold within the horizon.",
        "",
        _miscalibration(held),
        f"* **Calibrated** by isotonic regression on the training VMs, the held-out error falls to "
        f"{held['ece_calibrated']:.4f} (Brier {held['brier_raw']:.4f} → {held['brier_calibrated']:.4f}; the "
        f"base rate alone scores {held['brier_base_rate']:.4f}); on a population it never saw (the dataset's "
        f"periodic VMs) {other['ece_raw']:.4f} → {other['ece_calibrated']:.4f} (Brier "
        f"{other['brier_raw']:.4f} → {other['brier_calibrated']:.4f}). The map "
        f"({crossings['calibration_knots']} knots) ships in `models/failure-prior-v1/prior.json`; "
        "`assess_node` applies it to every forecast cause and shows the raw share beside it. What remains "
        f"(up to {_largest_gap(held['reliability_calibrated']):.2f} in a bin on held-out VMs, "
        f"{_largest_gap(other['reliability_calibrated']):.2f} on the periodic ones, in opposite directions) "
        "is the spread between VMs, which no single map removes.",
        _versus_linear(crossings["alarms"]),
        "",
        tables["Forecast crossings on Azure per-VM CPU series: Brier score and calibration error"].markdown(),
    ]
    for title, table in tables.items():
        if title.startswith("Reliability diagram"):
            text.append(table.markdown())
    text += [
        tables["Alarms on held-out VMs: the operator's forecast vs predict_linear"].markdown(),
        "### Memory-leak ramp test",
        "",
        "What `predict_linear` is written for: memory use creeping towards the limit. Synthetic (no public "
        "trace labels leaks), at the policy's default horizon (15 minutes: 30 steps of 30 s, 2 h of "
        "history).",
        "",
        _leak_summary(result["leaks"]),
        "",
        next(t for k, t in tables.items() if k.startswith("Memory-leak ramp test")).markdown(),
    ]
    return text


def _miscalibration(pop: dict[str, Any]) -> str:
    rows = pop["reliability_raw"]
    mid = [r for r in rows if r["lo"] >= 0.1 and r["hi"] <= 0.3]
    n = sum(r["count"] for r in mid)
    said = sum(r["count"] * r["mean_p"] for r in mid) / n if n else math.nan
    seen = sum(r["count"] * r["observed"] for r in mid) / n if n else math.nan
    zero = rows[0]
    return (
        "* **The share of paths is not a probability as it stands.** On held-out VMs, shares of 0.1–0.3 "
        f"(mean {said:.2f}) were followed by a crossing {_pct(seen, 0)} of the time, and a share of "
        f"{zero['mean_p']:.0f} still by {_pct(zero['observed'], 1)} (expected calibration error "
        f"{pop['ece_raw']:.4f})."
    )


def _largest_gap(rows: Sequence[dict[str, Any]]) -> float:
    """The largest |mean p - observed| among bins holding at least 1 % of the pairs."""
    total = sum(r["count"] for r in rows)
    gaps = [abs(r["mean_p"] - r["observed"]) for r in rows if r["count"] >= 0.01 * total]
    return max(gaps, default=math.nan)


def _versus_linear(alarms: Sequence[dict[str, Any]]) -> str:
    parts = []
    for level in dict.fromkeys(a["level"] for a in alarms):
        at = [a for a in alarms if a["level"] == level]
        ours = next(a for a in at if a["rule"].startswith("Foresight"))
        linear = [a for a in at if a["rule"].startswith("predict_linear")]
        parts.append(
            f"{level:g} %: {_pct(ours['recall'], 0)} warned at precision {_two(ours['precision'])}, Brier "
            f"{ours['brier']:.4f} vs "
            + " / ".join(
                f"{_pct(a['recall'], 0)} at {_two(a['precision'])}, {a['brier']:.4f}" for a in linear
            )
        )
    return (
        "* **Against `predict_linear`** over the last 1 h / 6 h, extrapolated over the horizon as alerting "
        "rules use it (crossings after at least one horizon below the level; the operator's calibrated "
        "forecast first): " + "; ".join(parts) + "."
    )


def _two(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.2f}"


def _leak_summary(rows: Sequence[dict[str, Any]]) -> str:
    def total(rule_prefix: str, kind: str) -> tuple[int, int, float]:
        picked = [r for r in rows if r["rule"].startswith(rule_prefix) and (kind in r["scenario"])]
        return (
            sum(r["warned"] for r in picked),
            sum(r["series"] for r in picked),
            max((r["false_alarms_per_day"] for r in picked), default=math.nan),
        )

    ours = total("Foresight", "leak")
    linear1 = total("predict_linear(x[1h]", "leak")
    linear6 = total("predict_linear(x[6h]", "leak")
    shift = {r["rule"]: r["false_alarms_per_day"] for r in rows if r["scenario"].startswith("level shift")}
    shift_ours = next((v for k, v in shift.items() if k.startswith("Foresight")), math.nan)
    shift_linear = next((v for k, v in shift.items() if k.startswith("predict_linear(x[1h]")), math.nan)
    return (
        f"The calibrated forecast warns of {ours[0]} of {ours[1]} leaks before they reach 90 %, "
        f"`predict_linear(x[1h], 15m)` of {linear1[0]} and `predict_linear(x[6h], 15m)` of {linear6[0]}: a "
        "line through the last hour cannot see a slow or noisy ramp, one through six hours still averages in "
        "the flat part before the onset. Its cost: after a level shift that stays well below the threshold, "
        f"{_fmt(shift_ours, 2)} false alarm episodes per series-day against {_fmt(shift_linear, 2)} for "
        "`predict_linear(x[1h])` — Holt-Winters reads a step as the start of a trend for a while."
    )
