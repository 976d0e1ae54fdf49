"""Fitting the failure prior: LANL recurrence hazards and Backblaze SMART hazards, as one FailurePrior."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from foresight.planning.failover.prior import SMART_PRECURSORS, FailurePrior
from foresight.simulation.failover.records import in_hours, uptime_gaps

__all__ = [
    "RECURRENCE_EDGES_HOURS",
    "fit_backblaze_hazards",
    "fit_failure_prior",
    "fit_recurrence_hazards",
    "lanl_system_summary",
]

# Bins of "hours since the node last recovered": fine where the hazard changes fast (right after a
# repair), coarse where it is flat. The last bin is open-ended.
RECURRENCE_EDGES_HOURS: tuple[float, ...] = (0.0, 1.0, 6.0, 24.0, 72.0, 168.0, 720.0)


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
    w0 = in_hours(windows[lo_col] - pd.Timestamp(0))
    w1 = in_hours(windows[hi_col] - pd.Timestamp(0))
    gaps = uptime_gaps(outages, windows)
    g0 = gaps["system"].map(w0).to_numpy()
    g1 = gaps["system"].map(w1).to_numpy()
    until = in_hours(gaps["until"] - pd.Timestamp(0)).to_numpy()
    failed = gaps["failed"].to_numpy() & (until >= g0) & (until < g1)
    after = gaps["recovered"].notna().to_numpy()
    rec = np.where(
        after, in_hours(gaps["recovered"].fillna(pd.Timestamp(0)) - pd.Timestamp(0)).to_numpy(), 0.0
    )
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
