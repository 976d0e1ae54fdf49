"""The failure records, loaded and split: LANL node outages and Backblaze drive stats.

Data (see ``datasets/README.md``):

* LANL LA-UR-05-7318 (1996-2005): node outages of 22 HPC systems. Start/fix time per node, no resource
  metrics: the only predictor it can test is the failure history (recurrence) part of the risk model.
  We acknowledge Los Alamos National Laboratory for providing these data.
* Backblaze drive stats 2013-2016 (start-stop format over power-on hours): SMART counters before failure,
  per *drive*, not per node.

Each LANL system's record is split in time (the first :data:`TRAIN_FRACTION` fits, the rest tests); Backblaze
drives are split by a hash of their serial number.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from foresight.planning.failover.prior import SMART_PRECURSORS

__all__ = [
    "BACKBLAZE_FILES",
    "LANL_FILE",
    "TRAIN_FRACTION",
    "in_hours",
    "load_backblaze",
    "load_lanl_outages",
    "split_time",
    "train_records",
    "uptime_gaps",
]

LANL_FILE = "lanl_1996_2005/LA-UR-05-7318-failure-data-1996-2005.csv.xz"
BACKBLAZE_FILES = (
    "backblaze_2013_2016/hds_backblaze_start_stop_part1.csv.gz",
    "backblaze_2013_2016/hds_backblaze_start_stop_part2.csv.gz",
)
# Share of each system's record used to fit; the rest is the test period.
TRAIN_FRACTION = 0.7
_CAUSES = ("Facilities", "Hardware", "Human Error", "Network", "Undetermined", "Software")


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


def train_records(outages: pd.DataFrame, windows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What was known at each system's split: outages that began before it, the record ending there.

    An outage still open at the split is cut there (its fix lies in the test period), and the count of
    nodes that ever failed is taken from the training records alone, so nothing here depends on a test
    record: whatever is fitted or chosen on this view cannot have seen the test period.
    """
    train = outages[outages["start"] < outages["system"].map(windows["split"])].copy()
    split = train["system"].map(windows["split"])
    train["fix"] = train["fix"].where(train["fix"] < split, split)
    view = windows.loc[windows.index.isin(train["system"].unique())].copy()
    view["end"] = view["split"]
    failing = train.groupby("system")["node"].nunique()
    view["failing_nodes"] = failing.reindex(view.index).fillna(0).astype(int)
    return train.reset_index(drop=True), view


def in_hours(delta: pd.Series | pd.Timedelta) -> Any:
    return delta / pd.Timedelta(hours=1)


def uptime_gaps(outages: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
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
