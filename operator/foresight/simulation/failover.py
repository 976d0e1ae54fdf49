"""Failover on real failure records: fit the failure prior, score the risk model, replay pod downtime.

Data (see ``datasets/README.md``):

* LANL LA-UR-05-7318 (1996-2005): node outages of 22 HPC systems. Start/fix time per node, no resource
  metrics: the only predictor it can test is the failure history (recurrence) part of the risk model.
  We acknowledge Los Alamos National Laboratory for providing these data.
* Backblaze drive stats 2013-2016 (start-stop format over power-on hours): SMART counters before failure,
  per *drive*, not per node.

The risk model is scored with the real :func:`foresight.planning.failover.assess_node` (and checked
against a vectorized replay of the same prior over every node-minute of the test period), fitted on the
first part of each system's record and tested on the rest. Everything is deterministic given the data and
the seed.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foresight.api import v1alpha1
from foresight.planning import failover as planning
from foresight.planning._failure_prior import SMART_PRECURSORS, FailurePrior

__all__ = [
    "BackblazeResult",
    "DowntimeParams",
    "DowntimeResult",
    "EvaluationResult",
    "evaluate_backblaze",
    "evaluate_lanl",
    "fit_backblaze_hazards",
    "fit_failure_prior",
    "fit_recurrence_hazards",
    "lanl_system_summary",
    "leads_per_failure",
    "load_backblaze",
    "load_lanl_outages",
    "simulate_downtime",
    "split_time",
]

LANL_FILE = "lanl_1996_2005/LA-UR-05-7318-failure-data-1996-2005.csv.xz"
BACKBLAZE_FILES = (
    "backblaze_2013_2016/hds_backblaze_start_stop_part1.csv.gz",
    "backblaze_2013_2016/hds_backblaze_start_stop_part2.csv.gz",
)
# Bins of "hours since the node last recovered": fine where the hazard changes fast (right after a
# repair), coarse where it is flat. The last bin is open-ended.
RECURRENCE_EDGES_HOURS: tuple[float, ...] = (0.0, 1.0, 6.0, 24.0, 72.0, 168.0, 720.0)
# Share of each system's record used to fit; the rest is the test period.
TRAIN_FRACTION = 0.7
_CAUSES = ("Facilities", "Hardware", "Human Error", "Network", "Undetermined", "Software")


# --------------------------------------------------------------------------------------------------------
# LANL


def load_lanl_outages(datasets_dir: Path) -> pd.DataFrame:
    """Node outages ``system, node, nodes_in_system, start, fix, cause``, overlapping records merged.

    Records without a node number (system 17) are dropped: they cannot be attributed to a node. Records of
    one node that overlap in time describe one outage (the node cannot fail while down).
    """
    raw = pd.read_csv(datasets_dir / LANL_FILE)
    raw = raw[raw["nodenumz"].notna() & raw["nodes"].notna()].copy()
    raw["start"] = pd.to_datetime(raw["Prob Started"], format="%m/%d/%Y %H:%M")
    raw["fix"] = pd.to_datetime(raw["Prob Fixed"], format="%m/%d/%Y %H:%M")
    raw["fix"] = raw[["start", "fix"]].max(axis=1)
    raw["cause"] = raw[list(_CAUSES)].notna().idxmax(axis=1).where(raw[list(_CAUSES)].notna().any(axis=1), "")
    raw = raw.sort_values(["System", "nodenumz", "start", "fix"])
    rows = []
    for (system, node), group in raw.groupby(["System", "nodenumz"], sort=True):
        nodes = int(group["nodes"].iloc[0])
        cur: list[Any] | None = None
        for start, fix, cause in zip(group["start"], group["fix"], group["cause"], strict=True):
            if cur is not None and start <= cur[4]:
                cur[4] = max(cur[4], fix)
                continue
            if cur is not None:
                rows.append(tuple(cur))
            cur = [int(system), int(node), nodes, start, fix, cause]
        if cur is not None:
            rows.append(tuple(cur))
    out = pd.DataFrame(rows, columns=["system", "node", "nodes_in_system", "start", "fix", "cause"])
    return out.reset_index(drop=True)


def split_time(outages: pd.DataFrame, train_fraction: float = TRAIN_FRACTION) -> pd.DataFrame:
    """Per system: record window ``begin .. end`` (first to last failure) and the train/test split time."""
    windows = outages.groupby("system").agg(
        begin=("start", "min"),
        end=("start", "max"),
        nodes=("nodes_in_system", "max"),
        failing_nodes=("node", "nunique"),
    )
    windows["nodes"] = windows[["nodes", "failing_nodes"]].max(axis=1)
    windows["split"] = windows["begin"] + (windows["end"] - windows["begin"]) * train_fraction
    return windows


def _hours(delta: pd.Series | pd.Timedelta) -> Any:
    return delta / pd.Timedelta(hours=1)


def _gaps(outages: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """Up-time intervals per node: ``recovered`` (previous fix, NaT before the first) to the next start.

    ``failed`` says whether the interval ends in a failure (else it is censored at the system's end).
    """
    o = outages.sort_values(["system", "node", "start"]).copy()
    by_node = o.groupby(["system", "node"])
    o["recovered"] = by_node["fix"].shift()
    o["failed"] = True
    o = o.rename(columns={"start": "until"})
    last = by_node.tail(1).copy()
    last["recovered"] = last["fix"]
    last["until"] = last["system"].map(windows["end"])
    last["failed"] = False
    cols = ["system", "node", "recovered", "until", "failed"]
    gaps = pd.concat([o[cols], last[cols]], ignore_index=True)
    gaps = gaps[gaps["recovered"].isna() | (gaps["until"] > gaps["recovered"])]
    return gaps.reset_index(drop=True)


def fit_recurrence_hazards(
    outages: pd.DataFrame,
    windows: pd.DataFrame,
    period: str = "all",
    edges: Sequence[float] = RECURRENCE_EDGES_HOURS,
) -> dict[str, Any]:
    """Failures per node-hour by hours since the last recovery, pooled over systems.

    ``period``: ``all``, ``train`` (each system's begin .. split) or ``test`` (split .. end). Exposure is
    up-time only (repair time is not at risk). A node's time before its first recorded failure, and nodes
    that never failed, form the ``no_failure`` state.
    """
    lo_col, hi_col = {"all": ("begin", "end"), "train": ("begin", "split"), "test": ("split", "end")}[period]
    w0 = _hours(windows[lo_col] - pd.Timestamp(0))
    w1 = _hours(windows[hi_col] - pd.Timestamp(0))
    gaps = _gaps(outages, windows)
    g0 = gaps["system"].map(w0).to_numpy()
    g1 = gaps["system"].map(w1).to_numpy()
    until = _hours(gaps["until"] - pd.Timestamp(0)).to_numpy()
    failed = gaps["failed"].to_numpy() & (until >= g0) & (until < g1)
    after = gaps["recovered"].notna().to_numpy()
    rec = np.where(after, _hours(gaps["recovered"].fillna(pd.Timestamp(0)) - pd.Timestamp(0)).to_numpy(), 0.0)
    # Elapsed range inside the period: [max(0, w0 - rec), min(until, w1) - rec).
    e_lo = np.maximum(g0 - rec, 0.0)
    e_hi = np.minimum(until, g1) - rec
    e_fail = until - rec
    edges_arr = np.asarray(edges, dtype=float)
    uppers = np.append(edges_arr[1:], np.inf)
    events = np.zeros(len(edges_arr))
    exposure = np.zeros(len(edges_arr))
    for i, (lo, hi) in enumerate(zip(edges_arr, uppers, strict=True)):
        exposure[i] = np.clip(np.minimum(e_hi, hi) - np.maximum(e_lo, lo), 0, None)[after].sum()
        events[i] = (failed & after & (e_fail >= lo) & (e_fail < hi)).sum()
    # The no-failure state: before the first failure, plus nodes that never failed in the record.
    first = ~after
    none_exposure = np.where(first, np.clip(np.minimum(until, g1) - g0, 0, None), 0.0).sum()
    never = (windows["nodes"] - windows["failing_nodes"]).clip(lower=0)
    none_exposure += float((never * (w1 - w0)).sum())
    none_events = float((failed & first).sum())
    hazards = np.divide(events, exposure, out=np.zeros_like(events), where=exposure > 0)
    return {
        "edges_hours": [float(x) for x in edges_arr],
        "events": [int(x) for x in events],
        "exposure_node_hours": [float(x) for x in exposure],
        "hazard_per_hour": [float(x) for x in hazards],
        "no_failure_events": int(none_events),
        "no_failure_exposure_node_hours": float(none_exposure),
        "no_failure_hazard_per_hour": none_events / none_exposure if none_exposure > 0 else 0.0,
        "base_rate_per_node_hour": float(events.sum() + none_events) / float(exposure.sum() + none_exposure),
    }


def lanl_system_summary(outages: pd.DataFrame, windows: pd.DataFrame) -> list[dict[str, Any]]:
    """Per system: base failure rate and the hazard in the first 24 h after a recovery (recurrence)."""
    out = []
    for system in windows.index:
        sub_o = outages[outages["system"] == system]
        sub_w = windows.loc[[system]]
        fit = fit_recurrence_hazards(sub_o, sub_w, "all", edges=(0.0, 24.0))
        base = fit["base_rate_per_node_hour"]
        early = fit["hazard_per_hour"][0]
        out.append(
            {
                "system": int(system),
                "nodes": int(sub_w["nodes"].iloc[0]),
                "outages": len(sub_o),
                "base_rate_per_node_hour": base,
                "hazard_first_24h_per_hour": early,
                "relative_risk_first_24h": early / base if base > 0 else math.nan,
                "p_fail_within_24h_after_recovery": 1 - math.exp(-early * 24),
                "p_fail_within_24h_base": 1 - math.exp(-base * 24),
            }
        )
    return out


# --------------------------------------------------------------------------------------------------------
# Backblaze


def load_backblaze(datasets_dir: Path) -> pd.DataFrame:
    """Start-stop rows: one per drive and interval of power-on hours with constant SMART values."""
    cols = ["serial_number", "model", "tstart", "tstop", "fails", *[f"smart_{k}" for k in SMART_PRECURSORS]]
    frames = [pd.read_csv(datasets_dir / f, usecols=cols) for f in BACKBLAZE_FILES]
    drives = pd.concat(frames, ignore_index=True)
    counters = drives[[f"smart_{k}" for k in SMART_PRECURSORS]].fillna(0)
    # Missing counters count as zero: a drive that does not report 187/198 shows no precursor there.
    drives["flag"] = (counters > 0).any(axis=1)
    drives["hours"] = drives["tstop"] - drives["tstart"]
    drives["test"] = drives["serial_number"].map(_test_drive)
    return drives


def _test_drive(serial: str) -> bool:
    # A stable hash split (30 % test) keeps all rows of a drive on one side, independent of row order.
    return int(hashlib.sha256(serial.encode()).hexdigest()[:8], 16) % 10 < 3


def fit_backblaze_hazards(drives: pd.DataFrame) -> dict[str, Any]:
    """Failures per drive power-on hour with any SMART precursor above zero vs all zero."""
    out: dict[str, Any] = {}
    for name, mask in (("any_nonzero", drives["flag"]), ("all_zero", ~drives["flag"])):
        hours = float(drives.loc[mask, "hours"].sum())
        fails = float(drives.loc[mask, "fails"].sum())
        out[name] = {"failures": int(fails), "drive_hours": hours, "hazard_per_hour": fails / hours}
    for k in SMART_PRECURSORS:
        col = drives[f"smart_{k}"].fillna(0) > 0
        rates = [float(drives.loc[m, "fails"].sum() / drives.loc[m, "hours"].sum()) for m in (col, ~col)]
        out[f"smart_{k}"] = {"hazard_nonzero": rates[0], "hazard_zero": rates[1]}
    out["relative_risk"] = out["any_nonzero"]["hazard_per_hour"] / out["all_zero"]["hazard_per_hour"]
    out["drives"] = int(drives["serial_number"].nunique())
    out["failures"] = int(drives["fails"].sum())
    return out


def fit_failure_prior(
    outages: pd.DataFrame, windows: pd.DataFrame, drives: pd.DataFrame, period: str = "all"
) -> FailurePrior:
    """The prior :func:`assess_node` uses: LANL recurrence hazards + Backblaze SMART hazards."""
    lanl = fit_recurrence_hazards(outages, windows, period)
    smart = fit_backblaze_hazards(drives if period == "all" else drives[~drives["test"]])
    return FailurePrior(
        since_recovery_edges_hours=tuple(lanl["edges_hours"]),
        since_recovery_hazard_per_hour=tuple(lanl["hazard_per_hour"]),
        no_failure_hazard_per_hour=lanl["no_failure_hazard_per_hour"],
        smart_hazard_per_hour={
            "any_nonzero": smart["any_nonzero"]["hazard_per_hour"],
            "all_zero": smart["all_zero"]["hazard_per_hour"],
        },
        source=(
            "LANL LA-UR-05-7318 failure data 1996-2005 (courtesy of Los Alamos National Laboratory); "
            "Backblaze drive stats 2013-2016 via R package dynamichazard"
        ),
        details={"period": period, "lanl": lanl, "backblaze": smart},
    )


# --------------------------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True)
class EvaluationResult:
    """One model at one operating point on the LANL test period."""

    model: str
    horizon: str
    threshold: float
    failures: int
    caught: int
    precision: float
    recall: float
    lead_time_median_minutes: float
    lead_time_p10_minutes: float
    alarmed_node_time_share: float
    alarm_episodes: int
    false_alarm_episodes: int
    checked_with_assess_node: int = 0
    assess_node_disagreements: int = 0
    leads_minutes: list[float] = field(default_factory=list, repr=False)

    def row(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("leads_minutes")
        return out


def _prior_probability_grid(
    prior: FailurePrior, elapsed_hours: np.ndarray, horizon_hours: float
) -> np.ndarray:
    """Vectorized ``prior.probability_after_failure`` over many elapsed times (same integral)."""
    edges = np.asarray(prior.since_recovery_edges_hours)
    hazards = np.asarray(prior.since_recovery_hazard_per_hour)
    cum = np.concatenate([[0.0], np.cumsum(hazards[:-1] * np.diff(edges))])

    def cumulative(t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(edges, t, side="right") - 1
        return cum[i] + hazards[i] * (t - edges[i])

    e = np.maximum(elapsed_hours, 0.0)
    return 1.0 - np.exp(-(cumulative(e + horizon_hours) - cumulative(e)))


def _alarm_runs(prior: FailurePrior, horizon_hours: float, threshold: float, tick_hours: float) -> np.ndarray:
    """Alarm intervals ``[[start, end), ...]`` in hours since recovery; ``end`` may be ``inf``.

    Beyond the last bin edge the hazard is constant, so the alarm state is too.
    """
    limit = prior.since_recovery_edges_hours[-1] + horizon_hours + tick_hours
    grid = np.arange(0.0, limit, tick_hours)
    on = _prior_probability_grid(prior, grid, horizon_hours) >= threshold
    runs = []
    start = None
    for t, flag in zip(grid, on, strict=True):
        if flag and start is None:
            start = t
        elif not flag and start is not None:
            runs.append((start, t))
            start = None
    if start is not None:
        runs.append((start, math.inf))
    return np.asarray(runs, dtype=float).reshape(-1, 2)


def _alarm_time(runs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Alarmed hours within elapsed ``[lo, hi)`` for each interval."""
    total = np.zeros_like(lo)
    for a, b in runs:
        total += np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0, None)
    return total


def evaluate_lanl(
    outages: pd.DataFrame,
    windows: pd.DataFrame,
    prior: FailurePrior,
    horizon: str = "15m",
    threshold: float = 0.5,
    tick: timedelta = timedelta(minutes=1),
    check_with_assess_node: bool = True,
) -> list[EvaluationResult]:
    """Risk model (recurrence prior) vs failure-rate-only baseline on each system's test period.

    A failure is *caught* when the alarm (``p >= threshold``) was on at some check in the ``horizon``
    before it; precision is the share of alarmed node-time followed by a failure within the horizon (the
    chance that a node drained at a random moment really was about to fail); lead time runs from the start
    of the alarm to the failure.
    """
    h = v1alpha1.parse_duration(horizon).total_seconds() / 3600
    tick_h = tick.total_seconds() / 3600
    gaps = _gaps(outages, windows)
    split = gaps["system"].map(windows["split"])
    end = gaps["system"].map(windows["end"])
    # Test-period part of each up-time interval, in hours since its recovery.
    after = gaps["recovered"].notna().to_numpy()
    rec = gaps["recovered"].where(gaps["recovered"].notna(), split)
    lo = _hours(split - rec).clip(lower=0).to_numpy()
    hi = _hours(gaps["until"].where(gaps["until"] < end, end) - rec).to_numpy()
    g = _hours(gaps["until"] - rec).to_numpy()
    failed = (gaps["failed"] & (gaps["until"] >= split)).to_numpy()
    keep = hi > lo
    lo, hi, g, failed, after = lo[keep], hi[keep], g[keep], failed[keep], after[keep]
    sub = gaps[keep].reset_index(drop=True)
    n_fail = int(failed.sum())
    up_hours = float((hi - lo).sum()) + float(
        (
            (windows["nodes"] - windows["failing_nodes"]).clip(lower=0)
            * _hours(windows["end"] - windows["split"])
        ).sum()
    )

    # Risk model: the prior's alarm runs after each recovery; before a node's first failure, the base rate.
    runs = _alarm_runs(prior, h, threshold, tick_h)
    none_alarm = prior.probability_after_failure(None, h) >= threshold
    alarm = np.where(after, _alarm_time(runs, lo, hi), (hi - lo) if none_alarm else 0.0)
    true_lo = np.maximum(lo, g - h)
    true_alarm = np.where(
        failed, np.where(after, _alarm_time(runs, true_lo, g), (g - true_lo) if none_alarm else 0.0), 0.0
    )
    never_alarm = none_alarm * float(
        (
            (windows["nodes"] - windows["failing_nodes"]).clip(lower=0)
            * _hours(windows["end"] - windows["split"])
        ).sum()
    )
    caught = failed & (true_alarm > 0)
    leads = []
    episodes = 0
    false_episodes = 0
    for i in range(len(g)):
        if not after[i]:
            if none_alarm:
                episodes += 1
                false_episodes += int(not failed[i])
                if caught[i]:
                    leads.append((g[i] - lo[i]) * 60)
            continue
        for a, b in runs:
            if a >= hi[i] or b <= lo[i]:
                continue
            episodes += 1
            hit = failed[i] and a < g[i] and b > g[i] - h
            false_episodes += int(not hit)
            if hit and caught[i]:
                leads.append((g[i] - max(a, lo[i])) * 60)
    model = _result(
        "risk model (recurrence prior)",
        horizon,
        threshold,
        n_fail,
        caught,
        alarm.sum() + never_alarm,
        true_alarm.sum(),
        up_hours,
        leads,
        episodes,
        false_episodes,
    )
    checked, disagreements = 0, 0
    if check_with_assess_node:
        checked, disagreements = _check_with_assess_node(
            sub, failed, g, after, prior, horizon, threshold, caught, tick_h
        )
    model = EvaluationResult(
        **{**asdict(model), "checked_with_assess_node": checked, "assess_node_disagreements": disagreements}
    )

    # --- baseline: a constant per-node failure rate from the training period.
    train_hours = _hours(windows["split"] - windows["begin"])
    train_counts = (
        outages[outages["start"] < outages["system"].map(windows["split"])].groupby(["system", "node"]).size()
    )
    rate = train_counts / train_counts.index.get_level_values("system").map(train_hours).to_numpy()
    key = pd.MultiIndex.from_frame(sub[["system", "node"]])
    node_rate = rate.reindex(key).fillna(0.0).to_numpy()
    base_on = 1 - np.exp(-node_rate * h) >= threshold
    base_alarm = np.where(base_on, hi - lo, 0.0)
    base_true = np.where(failed & base_on, g - true_lo, 0.0)
    base_caught = failed & base_on
    # The baseline alarms a node for the whole test period: one episode per node, false if it never failed.
    alarmed = sub.loc[base_on, ["system", "node"]].assign(failed=failed[base_on])
    per_node_failed = alarmed.groupby(["system", "node"])["failed"].any()
    base_leads = list(((g - lo)[base_caught]) * 60)  # always on: the lead is the whole up-time
    base = _result(
        "baseline (per-node failure rate)",
        horizon,
        threshold,
        n_fail,
        base_caught,
        base_alarm.sum(),
        base_true.sum(),
        up_hours,
        base_leads,
        len(per_node_failed),
        int((~per_node_failed).sum()),
    )
    return [model, base]


def _result(
    name: str,
    horizon: str,
    threshold: float,
    n_fail: int,
    caught: np.ndarray,
    alarm_hours: float,
    true_alarm_hours: float,
    up_hours: float,
    leads: Sequence[float],
    episodes: int,
    false_episodes: int,
) -> EvaluationResult:
    leads_arr = np.asarray(leads, dtype=float)
    return EvaluationResult(
        model=name,
        horizon=horizon,
        threshold=threshold,
        failures=n_fail,
        caught=int(caught.sum()),
        precision=float(true_alarm_hours / alarm_hours) if alarm_hours > 0 else math.nan,
        recall=float(caught.sum() / n_fail) if n_fail else math.nan,
        lead_time_median_minutes=float(np.median(leads_arr)) if len(leads_arr) else math.nan,
        lead_time_p10_minutes=float(np.quantile(leads_arr, 0.1)) if len(leads_arr) else math.nan,
        alarmed_node_time_share=float(alarm_hours / up_hours) if up_hours > 0 else math.nan,
        alarm_episodes=episodes,
        false_alarm_episodes=false_episodes,
        leads_minutes=[float(x) for x in leads_arr],
    )


def _check_with_assess_node(
    sub: pd.DataFrame,
    failed: np.ndarray,
    g: np.ndarray,
    after: np.ndarray,
    prior: FailurePrior,
    horizon: str,
    threshold: float,
    caught: np.ndarray,
    tick_h: float,
) -> tuple[int, int]:
    """Score every test failure with the real ``assess_node`` at the checks in the horizon before it.

    The vectorized replay and the controller's code path must agree; the count of disagreements is reported
    (0 expected; a few are possible only where a check falls exactly on a bin edge).
    """
    spec = v1alpha1.FailoverPolicySpec(horizon=horizon, failure_probability_threshold=threshold)
    h = v1alpha1.parse_duration(horizon).total_seconds() / 3600
    n_checks = max(1, min(round(h / tick_h), 60))
    idx = np.flatnonzero(failed)
    disagreements = 0
    for i in idx:
        until = sub["until"].iloc[i].to_pydatetime().replace(tzinfo=UTC)
        history = (
            planning.FailureHistory(((until - timedelta(hours=g[i]), until - timedelta(hours=g[i])),))
            if after[i]
            else planning.FailureHistory()
        )
        node = planning.NodeObservation(
            name=f"{sub['system'].iloc[i]}/{sub['node'].iloc[i]}",
            conditions=(planning.NodeCondition("Ready", "True"),),
        )
        hit = False
        # Checks spread over the horizon before the failure (and after the recovery).
        for k in range(1, n_checks + 1):
            back = h * k / n_checks
            if back > g[i] and after[i]:
                break
            now = until - timedelta(hours=back) + timedelta(seconds=1)
            risk = planning.assess_node(spec, node, {}, history, now, prior=prior)
            if risk.failure_probability >= threshold:
                hit = True
                break
        disagreements += int(hit != bool(caught[i]))
    return len(idx), disagreements


# --------------------------------------------------------------------------------------------------------
# Backblaze scoring


@dataclass(frozen=True)
class BackblazeResult:
    """SMART precursors as a drive-failure predictor on held-out drives (30 % by serial hash)."""

    test_drives: int
    test_failures: int
    relative_risk_train: float
    horizon: str
    p_at_default_horizon_flagged: float
    alarms_at_threshold: int
    window: str
    flag_precision_window: float
    base_rate_window: float
    flag_recall_window: float
    flag_recall_24h_lead: float
    lead_time_median_days: float


def evaluate_backblaze(
    drives: pd.DataFrame,
    prior: FailurePrior,
    horizon: str = "15m",
    threshold: float = 0.5,
    window_days: int = 30,
) -> BackblazeResult:
    """What SMART precursors show on drives the prior was not fitted on.

    At a Kubernetes horizon (minutes) the per-hour drive hazard is far too small to reach any useful
    threshold, so the flag is also scored over ``window_days``: the chance a flagged drive fails within it
    (precision, time-weighted), the share of failures flagged within it before failing (recall), and how
    long before the failure the flag first showed (lead).
    """
    test = drives[drives["test"]]
    h = v1alpha1.parse_duration(horizon).total_seconds() / 3600
    p_flag = prior.smart_probability(True, h)
    win = window_days * 24.0
    by_drive = test.groupby("serial_number")
    end = by_drive["tstop"].transform("max")
    failed_drive = by_drive["fails"].transform("max") > 0
    # Flagged hours that lie within the window before a failure, over all flagged hours.
    lo = np.maximum(test["tstart"], end - win)
    near = np.clip(test["tstop"] - lo, 0, None).where(failed_drive, 0.0)
    flagged = test["flag"]
    precision = float(near[flagged].sum() / test.loc[flagged, "hours"].sum())
    base = float(near.sum() / test["hours"].sum())
    fails = test[failed_drive]
    first_flag = fails[fails["flag"]].groupby("serial_number")["tstart"].min()
    fail_end = fails.groupby("serial_number")["tstop"].max()
    lead = (fail_end - first_flag).dropna()
    n_fail = int(fail_end.size)
    last_flag_end = fails[fails["flag"]].groupby("serial_number")["tstop"].max()
    # Flag on at some time inside the window before failure: a flagged interval ending after end - window.
    recall = float((last_flag_end > fail_end.reindex(last_flag_end.index) - win).sum() / n_fail)
    return BackblazeResult(
        test_drives=int(test["serial_number"].nunique()),
        test_failures=n_fail,
        relative_risk_train=prior.smart_hazard_per_hour["any_nonzero"]
        / prior.smart_hazard_per_hour["all_zero"],
        horizon=horizon,
        p_at_default_horizon_flagged=p_flag,
        alarms_at_threshold=int(flagged.sum()) if p_flag >= threshold else 0,
        window=f"{window_days}d",
        flag_precision_window=precision,
        base_rate_window=base,
        flag_recall_window=recall,
        flag_recall_24h_lead=float((lead >= 24).sum() / n_fail),
        lead_time_median_days=float(lead.median() / 24) if len(lead) else math.nan,
    )


# --------------------------------------------------------------------------------------------------------
# Pod downtime


@dataclass(frozen=True)
class DowntimeParams:
    """How a node failure turns into pod downtime (Kubernetes defaults where there is one)."""

    pods_per_node: int = 20
    node_monitor_grace_seconds: float = 40.0  # kube-controller-manager --node-monitor-grace-period
    toleration_seconds: float = 300.0  # default not-ready/unreachable NoExecute toleration
    schedule_seconds: float = 2.0
    startup_seconds: float = 30.0
    eviction_interval_seconds: float = 1.0  # eviction API calls are paced, one pod after another


@dataclass(frozen=True)
class DowntimeResult:
    """Per-pod downtime per failure (seconds) and totals (pod-hours), Foresight vs the default reaction."""

    policy: str
    failures: int
    mean_seconds: float
    p95_seconds: float
    total_pod_hours: float
    false_alarm_pod_hours: float


def simulate_downtime(
    failure_leads_minutes: Sequence[float | None], false_alarms: int, params: DowntimeParams | None = None
) -> list[DowntimeResult]:
    """Replay failures: ``lead`` is the risk model's lead time for a caught failure, ``None`` for a miss.

    Default Kubernetes: pods stay bound to the dead node until grace + toleration, then are recreated
    elsewhere. Foresight: pods evicted at the alarm, one after another, are recreated while the node still
    works (each replica is down only for schedule + start-up); pods not yet evicted when the node dies fall
    back to the default path. A false alarm costs every pod of the node one restart.
    """
    p = params or DowntimeParams()
    restart = p.schedule_seconds + p.startup_seconds
    default = p.node_monitor_grace_seconds + p.toleration_seconds + restart
    order = np.arange(p.pods_per_node) * p.eviction_interval_seconds
    per_failure_default = np.full(len(failure_leads_minutes), default)
    per_failure = np.empty(len(failure_leads_minutes))
    for i, lead in enumerate(failure_leads_minutes):
        if lead is None:
            per_failure[i] = default
            continue
        evicted_in_time = order < lead * 60
        per_failure[i] = float(np.where(evicted_in_time, restart, default).mean())
    false_cost = false_alarms * p.pods_per_node * restart / 3600
    out = []
    for name, values, wasted in (
        ("Kubernetes default", per_failure_default, 0.0),
        ("Foresight", per_failure, false_cost),
    ):
        out.append(
            DowntimeResult(
                policy=name,
                failures=len(values),
                mean_seconds=float(values.mean()) if len(values) else math.nan,
                p95_seconds=float(np.quantile(values, 0.95)) if len(values) else math.nan,
                total_pod_hours=float(values.sum() * p.pods_per_node / 3600 + wasted),
                false_alarm_pod_hours=wasted,
            )
        )
    return out


def leads_per_failure(result: EvaluationResult) -> list[float | None]:
    """The evaluation's leads padded with misses, one entry per test failure (order is irrelevant)."""
    leads: list[float | None] = list(result.leads_minutes)
    return leads + [None] * (result.failures - len(leads))
