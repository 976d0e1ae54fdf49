"""Reading load traces from CSV into :class:`Series`, and the train/test split by time.

Accepts the shapes found in the shared traces and in exported metrics: a time column
(ISO-8601 or anything pandas parses, taken as UTC) or, for traces that only have a row
index such as ``step_5min``, relative time from 2000-01-03T00:00Z (a Monday) with the step
read from the column name; one or many value columns; gaps (missing rows or empty cells),
which become ``NaN`` on a regular grid whose step is the median spacing. A column named
``observed`` marks rows without data (``0``) and those become gaps as well.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from foresight.forecasting._series import Series

__all__ = ["TEST_FRACTION", "default_value_column", "read_trace", "split_index", "value_columns"]

# The last 20 % of every trace (by time) is the test split: never used for training.
TEST_FRACTION = 0.2
RELATIVE_EPOCH = pd.Timestamp("2000-01-03T00:00:00Z")
_PREFERRED = ("value", "cpu_util_percent", "cpu_util", "cpu_usage")
_FLAG_COLUMNS = {"observed", "server_down"}
_STEP_COLUMN = re.compile(r"^step_(\d+)(s|sec|min|m|h)$")


def split_index(length: int, test_fraction: float = TEST_FRACTION) -> int:
    """Index of the first test step: ``values[:i]`` trains, ``values[i:]`` tests.

    >>> split_index(100)
    80
    """
    return round(length * (1.0 - test_fraction))


def value_columns(frame: pd.DataFrame, time_column: str) -> list[str]:
    """Numeric columns that hold measurements (not time, row index or flags)."""
    out = []
    for c in frame.columns:
        if c == time_column or c in _FLAG_COLUMNS or _STEP_COLUMN.match(str(c)):
            continue
        if pd.api.types.is_numeric_dtype(frame[c]):
            out.append(str(c))
    return out


def default_value_column(columns: Sequence[str]) -> str:
    """``value`` or a CPU column when present, else the first measurement column.

    >>> default_value_column(["mem_util", "cpu_util", "net_in"])
    'cpu_util'
    """
    for name in _PREFERRED:
        if name in columns:
            return name
    if not columns:
        raise ValueError("the trace has no numeric value column")
    return columns[0]


def read_trace(
    path: str | pathlib.Path,
    time_column: str = "timestamp",
    columns: Sequence[str] | None = None,
    mask_columns: Sequence[str] = (),
) -> list[Series]:
    """One :class:`Series` per value column (``columns=None``: the default column only).

    ``mask_columns``: flag columns whose non-zero rows become gaps (e.g. ``server_down``
    when training on NASA's trace, whose 37.7 h outage is not load behaviour).
    """
    frame = pd.read_csv(path)
    times = _times(frame, time_column)
    available = value_columns(frame, time_column)
    chosen = [default_value_column(available)] if columns is None else list(columns)
    missing = [c for c in chosen if c not in frame.columns]
    if missing:
        raise KeyError(f"columns {missing} not in {path}; available: {', '.join(available)}")
    invalid = np.zeros(len(frame), dtype=bool)
    if "observed" in frame.columns:
        invalid |= frame["observed"].to_numpy() == 0
    for c in mask_columns:
        invalid |= frame[c].to_numpy() != 0

    seconds = (times - times.min()).dt.total_seconds().to_numpy()
    diffs = np.diff(np.unique(seconds))
    if diffs.size == 0:
        raise ValueError(f"{path}: need at least two distinct timestamps to infer the step")
    step = max(1, round(float(np.median(diffs))))
    slot = np.round(seconds / step).astype(np.int64)
    n = int(slot.max()) + 1
    start = times.min()
    name = pathlib.Path(path).name
    out = []
    for c in chosen:
        values = np.array(pd.to_numeric(frame[c], errors="coerce"), dtype=float)  # writable copy
        values[invalid] = np.nan
        # Several rows in one slot (irregular scrapes) are averaged; empty slots stay NaN.
        grid = pd.Series(values).groupby(slot).mean().reindex(range(n)).to_numpy()
        out.append(Series(grid, start, step, item_id=f"{name}:{c}"))
    return out


def _times(frame: pd.DataFrame, time_column: str) -> pd.Series:
    if time_column in frame.columns:
        return pd.to_datetime(frame[time_column], utc=True)
    for c in frame.columns:
        match = _STEP_COLUMN.match(str(c))
        if match:
            unit = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}[match.group(2)]
            offsets = pd.to_numeric(frame[c]) - pd.to_numeric(frame[c]).min()
            return RELATIVE_EPOCH + pd.to_timedelta(offsets * int(match.group(1)) * unit, unit="s")
    raise KeyError(f"no time column {time_column!r} (and no step_<n><unit> index column) in the trace")
