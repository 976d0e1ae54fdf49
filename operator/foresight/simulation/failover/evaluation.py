"""Scoring the risk model on failure records, with the operator's own rules.

LANL: the recurrence prior against a per-node failure-rate baseline. The replay keeps each node's taint as
:func:`foresight.planning.failover.plan_actions` keeps it: on once the risk reaches the threshold, off only
once it falls below ``untaintBelowProbability`` (:mod:`foresight.simulation.failover.taint`). A failure is
*caught* only when its node is tainted at the moment it fails; an alarm earlier in the horizon that had
already been lifted does not count (``alarm_in_horizon`` keeps that looser count, to show the difference).
The prior's risk depends only on the hours since the node last recovered, so the taint runs are computed
once on a grid of those hours and laid over every up-time interval; every failure is then re-checked with
:func:`foresight.planning.failover.assess_node`.

A replay scores one period of each system's record (``test``: after the split; ``train``: before it, seeing
only :func:`foresight.simulation.failover.records.train_records`) but starts at the beginning of the record
it is given, so that a taint that began before the scored period keeps its real start.

Backblaze: SMART precursors as a drive-failure predictor on held-out drives.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from foresight.api import v1alpha1
from foresight.planning import failover as planning
from foresight.planning.failover.prior import FailurePrior
from foresight.simulation.failover.records import in_hours, train_records, uptime_gaps
from foresight.simulation.failover.taint import hysteresis, runs_of

__all__ = [
    "BackblazeResult",
    "EvaluationResult",
    "LanlReplay",
    "Period",
    "evaluate_backblaze",
    "evaluate_lanl",
    "replay_lanl",
]

Period = Literal["train", "test"]
_EPOCH = pd.Timestamp(0)
# Risks compared against a threshold after a round trip through datetimes may differ in the last digits.
_EPS = 1e-9


@dataclass(frozen=True)
class EvaluationResult:
    """One model at one operating point on one period of the LANL records.

    ``caught``: failures whose node was tainted when it failed. ``alarm_in_horizon``: failures with the alarm
    on at some check in the horizon before them, tainted at the failure or not (an over-count, for
    comparison). Precision is the share of tainted node-time followed by a failure within the horizon; the
    lead runs from the start of the taint to the failure.
    """

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
    alarm_in_horizon: int = 0
    period: str = "test"
    checked_with_assess_node: int = 0
    assess_node_disagreements: int = 0
    leads_minutes: list[float] = field(default_factory=list, repr=False)

    def row(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("leads_minutes")
        return out


@dataclass(frozen=True)
class LanlReplay:
    """Where the replayed taint lay; times in hours since the epoch.

    ``runs``: one row per taint run, ``system, node, start, end, failure`` (the time of the failure that
    ends the run; NaN when the risk subsided or the record ended first), ``next_failure`` (the node's next
    failure, whether the run lasted until it or not) and ``returns_tainted`` (the run
    starts as the node recovers: it comes back at risk and empty, its pods having left when it failed).
    ``eligible``: ``run, start, end``, the parts of each run with the risk at or above the threshold, where
    the planner may escalate the node to ``NoSchedule`` and drain it (below it, a tainted node keeps
    ``PreferNoSchedule`` only). ``failures``: each failure of the scored period, ``system, node, time,
    recovered`` (the node's last recovery, NaN for none), ``run`` (the run tainting the node when it failed,
    -1 for none) and ``alarm_in_horizon``. ``window``: per system, the scored period ``lo, hi``.
    """

    horizon_hours: float
    threshold: float
    untaint_below: float
    runs: pd.DataFrame
    eligible: pd.DataFrame
    failures: pd.DataFrame
    window: pd.DataFrame
    up_node_hours: float


def _abs_hours(values: pd.Series) -> pd.Series:
    return in_hours(values - _EPOCH)


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


def _elapsed_grid(prior: FailurePrior, horizon_hours: float, tick_hours: float) -> np.ndarray:
    # Beyond the last bin edge plus the horizon the hazard is constant, so the risk and the taint are too.
    limit = prior.since_recovery_edges_hours[-1] + horizon_hours + tick_hours
    return np.arange(0.0, limit, tick_hours)


def _intervals(grid: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Runs of ``flags`` on ``grid`` as ``[[start, end), ...]`` hours; a run on at the end never ends."""
    idx = runs_of(flags)
    starts = grid[idx[:, 0]]
    ends = np.where(idx[:, 1] < len(grid), grid[np.minimum(idx[:, 1], len(grid) - 1)], math.inf)
    return np.stack([starts, ends], axis=1).reshape(-1, 2)


def _alarm_runs(prior: FailurePrior, horizon_hours: float, threshold: float, tick_hours: float) -> np.ndarray:
    """Where the risk is at or above the threshold, ``[[start, end), ...]`` in hours since recovery."""
    grid = _elapsed_grid(prior, horizon_hours, tick_hours)
    return _intervals(grid, _prior_probability_grid(prior, grid, horizon_hours) >= threshold)


def _taint_runs(
    prior: FailurePrior, horizon_hours: float, threshold: float, untaint_below: float, tick_hours: float
) -> np.ndarray:
    """Where the node is tainted (with the planner's hysteresis), in hours since recovery."""
    grid = _elapsed_grid(prior, horizon_hours, tick_hours)
    risk = _prior_probability_grid(prior, grid, horizon_hours)
    return _intervals(grid, hysteresis(risk, threshold, untaint_below))


def _alarm_time(runs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Alarmed hours within elapsed ``[lo, hi)`` for each interval."""
    total = np.zeros_like(lo)
    for a, b in runs:
        total += np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0, None)
    return total


def _gap_table(
    outages: pd.DataFrame, windows: pd.DataFrame, period: Period
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Up-time intervals of the record a period may see, in hours, with the scored window per system.

    Columns: ``system, node, rec`` (the recovery the interval starts from; the record's beginning before a
    node's first failure), ``after`` (whether there was such a recovery), ``until``, ``failed`` (the
    interval ends in a failure), ``scored`` (... inside the scored window), ``lo, hi`` (the window).
    """
    if period == "train":
        outages, windows = train_records(outages, windows)
    window = pd.DataFrame(
        {
            "lo": _abs_hours(windows["begin" if period == "train" else "split"]),
            "hi": _abs_hours(windows["end"]),
            "begin": _abs_hours(windows["begin"]),
            "never_failed": (windows["nodes"] - windows["failing_nodes"]).clip(lower=0),
        }
    )
    gaps = uptime_gaps(outages, windows)
    out = pd.DataFrame({"system": gaps["system"].to_numpy(), "node": gaps["node"].to_numpy()})
    for col in ("lo", "hi", "begin"):
        out[col] = gaps["system"].map(window[col]).to_numpy()
    out["after"] = gaps["recovered"].notna().to_numpy()
    out["rec"] = np.where(out["after"], _abs_hours(gaps["recovered"].fillna(_EPOCH)).to_numpy(), out["begin"])
    out["until"] = _abs_hours(gaps["until"]).to_numpy()
    out["failed"] = gaps["failed"].to_numpy()
    out["scored"] = out["failed"] & (out["until"] >= out["lo"]) & (out["until"] <= out["hi"])
    return out, window


class _Runs:
    """Taint runs and their escalation-eligible parts, collected as arrays."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {
            k: [] for k in ("system", "node", "start", "end", "failure", "next_failure", "returns_tainted")
        }
        self.eligible: dict[str, list[np.ndarray]] = {k: [] for k in ("run", "start", "end")}
        self.count = 0

    def add(self, **cols: np.ndarray) -> np.ndarray:
        ids = self.count + np.arange(len(cols["start"]))
        for k, v in cols.items():
            self.cols[k].append(np.asarray(v))
        self.count += len(ids)
        return ids

    def add_eligible(self, run: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        keep = end > start
        for k, v in (("run", run), ("start", start), ("end", end)):
            self.eligible[k].append(np.asarray(v)[keep])

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        def frame(cols: dict[str, list[np.ndarray]]) -> pd.DataFrame:
            return pd.DataFrame({k: np.concatenate(v) if v else np.array([]) for k, v in cols.items()})

        runs = frame(self.cols)
        runs[["system", "node"]] = runs[["system", "node"]].astype(int)
        runs["returns_tainted"] = runs["returns_tainted"].astype(bool)
        eligible = frame(self.eligible)
        eligible["run"] = eligible["run"].astype(int)
        return runs, eligible


def replay_lanl(
    outages: pd.DataFrame,
    windows: pd.DataFrame,
    prior: FailurePrior,
    horizon: str = "15m",
    threshold: float = 0.5,
    *,
    untaint_below: float | None = None,
    tick: timedelta = timedelta(minutes=1),
    period: Period = "test",
) -> LanlReplay:
    """Taint runs of every node over the record, and each scored failure with the run (if any) it hit.

    ``untaint_below``: the spec's ``untaintBelowProbability`` (default: half the threshold, as the spec's).
    """
    h = v1alpha1.parse_duration(horizon).total_seconds() / 3600
    release = threshold / 2 if untaint_below is None else untaint_below
    tick_h = tick.total_seconds() / 3600
    gaps, window = _gap_table(outages, windows, period)
    system, node = gaps["system"].to_numpy(), gaps["node"].to_numpy()
    rec, until, after = gaps["rec"].to_numpy(), gaps["until"].to_numpy(), gaps["after"].to_numpy()
    failed = gaps["failed"].to_numpy()
    g = until - rec
    taint = _taint_runs(prior, h, threshold, release, tick_h)
    above = _alarm_runs(prior, h, threshold, tick_h)
    runs = _Runs()
    run_of_gap = np.full(len(gaps), -1)

    # After a recovery: the same elapsed-time runs laid over every up-time interval, cut at its end.
    for a, b in taint:
        idx = np.flatnonzero(after & (g > a))
        cut = np.minimum(b, g[idx])
        ends_in_failure = failed[idx] & (b > g[idx])
        ids = runs.add(
            system=system[idx],
            node=node[idx],
            start=rec[idx] + a,
            end=rec[idx] + cut,
            failure=np.where(ends_in_failure, until[idx], np.nan),
            next_failure=np.where(failed[idx], until[idx], np.nan),
            returns_tainted=np.full(len(idx), a == 0.0),
        )
        run_of_gap[idx[ends_in_failure]] = ids[ends_in_failure]
        for c, d in above:
            runs.add_eligible(ids, rec[idx] + max(a, c), rec[idx] + np.minimum(min(b, d), cut))
    # Before a node's first failure, and on nodes that never fail, the risk is the constant base rate.
    p0 = prior.probability_after_failure(None, h)
    if p0 >= threshold:
        idx = np.flatnonzero(~after & (until > rec))
        ids = runs.add(
            system=system[idx],
            node=node[idx],
            start=rec[idx],
            end=until[idx],
            failure=np.where(failed[idx], until[idx], np.nan),
            next_failure=np.where(failed[idx], until[idx], np.nan),
            returns_tainted=np.zeros(len(idx), dtype=bool),
        )
        run_of_gap[idx[failed[idx]]] = ids[failed[idx]]
        runs.add_eligible(ids, rec[idx], until[idx])
        never = window.loc[window["never_failed"] > 0]
        systems = np.repeat(never.index.to_numpy(), never["never_failed"].to_numpy())
        begin, end = window["begin"].reindex(systems).to_numpy(), window["hi"].reindex(systems).to_numpy()
        # Nodes that never appear in the record have no number: negative ones keep them apart.
        ids = runs.add(
            system=systems,
            node=-1 - np.arange(len(systems)),
            start=begin,
            end=end,
            failure=np.full(len(systems), np.nan),
            next_failure=np.full(len(systems), np.nan),
            returns_tainted=np.zeros(len(systems), dtype=bool),
        )
        runs.add_eligible(ids, begin, end)
    run_table, eligible = runs.frames()

    scored = np.flatnonzero(gaps["scored"].to_numpy())
    lo_el = np.maximum(gaps["lo"].to_numpy()[scored] - rec[scored], 0.0)
    start_el = np.maximum(lo_el, g[scored] - h)
    in_horizon = np.where(
        after[scored],
        _alarm_time(above, start_el, g[scored]) > 0,
        (p0 >= threshold) & (g[scored] > start_el),
    )
    failures = pd.DataFrame(
        {
            "system": system[scored],
            "node": node[scored],
            "time": until[scored],
            "recovered": np.where(after[scored], rec[scored], np.nan),
            "run": run_of_gap[scored],
            "alarm_in_horizon": in_horizon,
        }
    )
    up = np.clip(np.minimum(until, gaps["hi"]) - np.maximum(rec, gaps["lo"]), 0, None).sum()
    up += float((window["never_failed"] * (window["hi"] - window["lo"])).sum())
    return LanlReplay(
        horizon_hours=h,
        threshold=threshold,
        untaint_below=release,
        runs=run_table,
        eligible=eligible,
        failures=failures,
        window=window[["lo", "hi"]],
        up_node_hours=float(up),
    )


def evaluate_lanl(
    outages: pd.DataFrame,
    windows: pd.DataFrame,
    prior: FailurePrior,
    horizon: str = "15m",
    threshold: float = 0.5,
    tick: timedelta = timedelta(minutes=1),
    check_with_assess_node: bool = True,
    *,
    period: Period = "test",
    untaint_below: float | None = None,
    replay: LanlReplay | None = None,
) -> list[EvaluationResult]:
    """Risk model (recurrence prior) vs a failure-rate-only baseline on one period of each system's record.

    Pass the ``replay`` of the same arguments when it is already at hand (it is not recomputed).
    """
    if replay is None:
        replay = replay_lanl(
            outages, windows, prior, horizon, threshold, untaint_below=untaint_below, tick=tick, period=period
        )
    model = _score_replay(replay, horizon, period)
    if check_with_assess_node:
        checked, disagreements = _check_with_assess_node(replay, prior, horizon)
        model = replace(model, checked_with_assess_node=checked, assess_node_disagreements=disagreements)
    return [model, _baseline(outages, windows, horizon, threshold, period)]


def _score_replay(replay: LanlReplay, horizon: str, period: Period) -> EvaluationResult:
    runs, failures, h = replay.runs, replay.failures, replay.horizon_hours
    lo = runs["system"].map(replay.window["lo"]).to_numpy()
    hi = runs["system"].map(replay.window["hi"]).to_numpy()
    start = np.maximum(runs["start"].to_numpy(), lo)
    end = np.minimum(runs["end"].to_numpy(), hi)
    inside = np.clip(end - start, 0, None)
    failure = runs["failure"].to_numpy()
    following = runs["next_failure"].to_numpy()
    # Tainted time followed by a failure within the horizon, whether the taint lasted until it or not.
    true = np.where(
        np.isnan(following),
        0.0,
        np.clip(np.minimum(end, following) - np.maximum(start, following - h), 0, None),
    )
    shown = inside > 0
    caught = failures["run"].to_numpy() >= 0
    hit_runs = failures["run"].to_numpy()[caught]
    leads = (failures["time"].to_numpy()[caught] - runs["start"].to_numpy()[hit_runs]) * 60
    return _result(
        "risk model (recurrence prior)",
        horizon,
        replay.threshold,
        caught,
        float(inside.sum()),
        float(true.sum()),
        replay.up_node_hours,
        leads,
        int(shown.sum()),
        int((shown & np.isnan(failure)).sum()),
        alarm_in_horizon=int(failures["alarm_in_horizon"].sum()),
        period=period,
    )


def _baseline(
    outages: pd.DataFrame, windows: pd.DataFrame, horizon: str, threshold: float, period: Period
) -> EvaluationResult:
    """A constant per-node failure rate from the training records: a node is tainted all period or never."""
    h = v1alpha1.parse_duration(horizon).total_seconds() / 3600
    train, train_windows = train_records(outages, windows)
    train_hours = in_hours(train_windows["split"] - train_windows["begin"])
    counts = train.groupby(["system", "node"]).size()
    rate = counts / counts.index.get_level_values("system").map(train_hours).to_numpy()
    gaps, window = _gap_table(outages, windows, period)
    key = pd.MultiIndex.from_frame(gaps[["system", "node"]])
    on = (1 - np.exp(-rate.reindex(key).fillna(0.0).to_numpy() * h)) >= threshold
    start = np.maximum(gaps["rec"], gaps["lo"]).to_numpy()
    end = np.minimum(gaps["until"], gaps["hi"]).to_numpy()
    until = gaps["until"].to_numpy()
    scored = gaps["scored"].to_numpy()
    tainted = np.where(on, np.clip(end - start, 0, None), 0.0)
    true = np.where(on & scored, np.clip(until - np.maximum(start, until - h), 0, None), 0.0)
    caught = (on & scored)[scored]
    # One episode per tainted node (it stays tainted all period), false if the node did not fail in it.
    alarmed = gaps.loc[on & (tainted > 0), ["system", "node"]].assign(failed=scored[on & (tainted > 0)])
    per_node = alarmed.groupby(["system", "node"])["failed"].any()
    leads = ((until - start)[on & scored]) * 60  # tainted all along: the lead is the whole up-time
    up = float(
        np.clip(end - start, 0, None).sum() + (window["never_failed"] * (window["hi"] - window["lo"])).sum()
    )
    return _result(
        "baseline (per-node failure rate)",
        horizon,
        threshold,
        caught,
        float(tainted.sum()),
        float(true.sum()),
        up,
        leads,
        len(per_node),
        int((~per_node).sum()),
        alarm_in_horizon=int(caught.sum()),
        period=period,
    )


def _result(
    name: str,
    horizon: str,
    threshold: float,
    caught: np.ndarray,
    alarm_hours: float,
    true_alarm_hours: float,
    up_hours: float,
    leads: np.ndarray,
    episodes: int,
    false_episodes: int,
    *,
    alarm_in_horizon: int,
    period: Period,
) -> EvaluationResult:
    leads_arr = np.asarray(leads, dtype=float)
    n_fail = len(caught)
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
        alarm_in_horizon=alarm_in_horizon,
        period=period,
        leads_minutes=[float(x) for x in leads_arr],
    )


def _when(hours: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(hours=hours)


def _check_with_assess_node(replay: LanlReplay, prior: FailurePrior, horizon: str) -> tuple[int, int]:
    """Re-score every failure of the replay with the controller's :func:`assess_node`.

    A node tainted at its failure must have had a risk at or above the threshold when its taint began and
    still at or above the release level just before it failed; a node not tainted must have been below the
    threshold just before it failed (else the planner would have tainted it then). The count of failures
    where the replay and ``assess_node`` disagree is reported: 0 expected, a few possible where a failure
    falls within a tick of a taint's end.
    """
    spec = v1alpha1.FailoverPolicySpec(horizon=horizon, failure_probability_threshold=replay.threshold)
    node = planning.NodeObservation(name="replayed", conditions=(planning.NodeCondition("Ready", "True"),))
    starts = replay.runs["start"].to_numpy()
    disagreements = 0
    for time, recovered, run in replay.failures[["time", "recovered", "run"]].itertuples(index=False):
        history = (
            planning.FailureHistory()
            if math.isnan(recovered)
            else planning.FailureHistory(((_when(recovered), _when(recovered)),))
        )

        def risk(at: datetime, history: planning.FailureHistory = history) -> float:
            return planning.assess_node(spec, node, {}, history, at, prior=prior).failure_probability

        before = risk(_when(time) - timedelta(seconds=1))
        if run >= 0:
            agree = (
                risk(_when(starts[run])) >= replay.threshold - _EPS and before >= replay.untaint_below - _EPS
            )
        else:
            agree = before < replay.threshold + _EPS
        disagreements += int(not agree)
    return len(replay.failures), disagreements


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
