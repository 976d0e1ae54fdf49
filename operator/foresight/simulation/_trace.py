"""Load traces: read a CSV into a regular grid, and put it on the simulator's clock.

CSV conventions (shared with ``foresight evaluate``): one time column of ISO-8601 timestamps (naive means
UTC) and one value column; missing rows and empty cells are gaps (``NaN``), and so are rows where an
``observed`` column is 0. Traces with no time column but a ``step_<n><unit>`` index column (e.g.
``step_5min``) are placed on a grid from 2000-01-03T00:00Z, as the shared datasets do. Multi-column traces
default to ``value``, else the first column whose name mentions CPU, else the first numeric column.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Trace", "default_value_column", "demand_on_grid", "read_trace"]

_RELATIVE_EPOCH = pd.Timestamp("2000-01-03T00:00:00Z")
_STEP_COLUMN = re.compile(r"^step_(\d+)(s|sec|min|m|h)$")
_UNIT_SECONDS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}


@dataclasses.dataclass(frozen=True, eq=False)
class Trace:
    """A regularly sampled load series; ``values[k]`` is the load at ``start + k * step_seconds``."""

    name: str
    values: np.ndarray
    start: pd.Timestamp
    step_seconds: int
    column: str = "value"

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def span_seconds(self) -> int:
        return len(self) * self.step_seconds

    def time_of(self, index: int) -> pd.Timestamp:
        return self.start + pd.Timedelta(seconds=index * self.step_seconds)

    def resampled(self, step_seconds: int) -> Trace:
        """Means over ``step_seconds`` buckets (for a forecaster that works at a coarser step).

        >>> t = Trace("t", np.array([1.0, 3.0, np.nan, 5.0]), pd.Timestamp("2024-01-01", tz="UTC"), 30)
        >>> t.resampled(60).values.tolist()
        [2.0, 5.0]
        """
        if step_seconds == self.step_seconds:
            return self
        if step_seconds % self.step_seconds:
            raise ValueError("the new step must be a multiple of the trace's step")
        factor = step_seconds // self.step_seconds
        n = len(self) // factor
        with np.errstate(all="ignore"):
            blocks = self.values[: n * factor].reshape(n, factor)
            counts = np.isfinite(blocks).sum(axis=1)
            means = np.where(counts > 0, np.nansum(blocks, axis=1) / np.maximum(counts, 1), np.nan)
        return dataclasses.replace(self, values=means, step_seconds=step_seconds)


def default_value_column(columns: list[str]) -> str:
    """The column a multi-column trace is benchmarked on unless told otherwise.

    >>> default_value_column(["timestamp", "cpu_util_percent", "mem_util_percent"])
    'cpu_util_percent'
    >>> default_value_column(["timestamp", "value", "observed"])
    'value'
    """
    candidates = [c for c in columns if c not in {"timestamp", "time", "observed", "server_down"}]
    candidates = [c for c in candidates if not _STEP_COLUMN.match(c)]
    if "value" in candidates:
        return "value"
    for column in candidates:
        if "cpu" in column.lower():
            return column
    if not candidates:
        raise ValueError("the trace has no value column")
    return candidates[0]


def read_trace(path: Path, time_column: str = "timestamp", value_column: str | None = None) -> Trace:
    """Read a CSV (optionally gzipped) trace onto a regular grid; see the module docstring."""
    frame = pd.read_csv(path)
    column = value_column or default_value_column(list(frame.columns))
    if column not in frame.columns:
        raise ValueError(f"{path}: no column {column!r}; columns: {', '.join(map(str, frame.columns))}")
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    if "observed" in frame.columns and column != "observed":
        values = np.where(frame["observed"].to_numpy() == 0, np.nan, values)
    step_columns = [c for c in frame.columns if _STEP_COLUMN.match(str(c))]
    name = Path(path).name.removesuffix(".gz").removesuffix(".csv")
    if time_column not in frame.columns and step_columns:
        number, unit = _STEP_COLUMN.match(step_columns[0]).groups()  # type: ignore[union-attr]
        step = int(number) * _UNIT_SECONDS[unit]
        index = frame[step_columns[0]].to_numpy(dtype=np.int64)
        grid = np.full(int(index.max() - index.min()) + 1, np.nan)
        grid[index - index.min()] = values
        start = _RELATIVE_EPOCH + pd.Timedelta(seconds=int(index.min()) * step)
        return Trace(name, grid, start, step, str(column))
    if time_column not in frame.columns:
        raise ValueError(f"{path}: no time column {time_column!r}")
    times = pd.to_datetime(frame[time_column], utc=True)
    seconds = (times - times.iloc[0]).dt.total_seconds().to_numpy()
    step = int(np.median(np.diff(seconds))) if len(seconds) > 1 else 60
    if step <= 0:
        raise ValueError(f"{path}: timestamps must increase")
    slots = np.round(seconds / step).astype(np.int64)
    grid = np.full(int(slots.max()) + 1, np.nan)
    grid[slots] = values  # duplicates: the last reading wins, as Prometheus does
    return Trace(name, grid, times.iloc[0], step, str(column))


def demand_on_grid(trace: Trace, tick_seconds: int, first: int = 0, last: int | None = None) -> np.ndarray:
    """The load at every simulator tick between trace points ``first`` and ``last``: each point held.

    A trace point is the load over its step (a per-minute count, a 5-minute mean), so the load at time
    ``t`` is the point ``k`` with ``k * step <= t < (k + 1) * step``: sample-and-hold, never a blend with
    the next point (which would show a policy up to one step of the future). A gap is a gap at every tick
    of its step. Coarse traces (5-minute) are thus replayed at the controllers' 15-second pace.

    >>> t = Trace("t", np.array([0.0, 60.0, np.nan]), pd.Timestamp("2024-01-01", tz="UTC"), 60)
    >>> demand_on_grid(t, 15).tolist()
    [0.0, 0.0, 0.0, 0.0, 60.0, 60.0, 60.0, 60.0, nan]
    """
    last = len(trace) - 1 if last is None else last
    ticks = np.arange(0, (last - first) * trace.step_seconds + 1, tick_seconds)
    index = first + ticks // trace.step_seconds
    return trace.values[np.minimum(index, len(trace) - 1)].astype(float)
