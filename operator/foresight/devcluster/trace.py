"""A real load trace mapped onto wall-clock time: history before "now", live replay after it.

The trace (by default NASA's 1995 HTTP requests per minute) is split at one trace instant,
``now_at``.  Samples before it become Prometheus history, shifted so that ``now_at`` lands on
``anchor`` (the wall-clock time the cluster came up); samples after it are replayed live by the
feeder, optionally faster than real time, wrapping around at the end of the trace.

Pure code: the clock is an argument, nothing here reads the time itself.
"""

from __future__ import annotations

import bisect
import csv
import functools
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The demo metric: one gauge, labelled like a real service's request rate.
METRIC_NAME = "foresight_demo_requests_per_minute"
METRIC_HELP = "Requests per minute to the demo service, replayed from a real load trace."
DEFAULT_LABELS = {"namespace": "demo", "service": "web"}


@dataclass(frozen=True)
class Sample:
    """One observed point of the trace, in trace time."""

    at: datetime
    value: float


@dataclass(frozen=True)
class Trace:
    """Observed samples, sorted by time (unobserved rows are gaps, not zeros)."""

    samples: tuple[Sample, ...]

    @property
    def start(self) -> datetime:
        return self.samples[0].at

    @property
    def end(self) -> datetime:
        return self.samples[-1].at

    @functools.cached_property
    def _times(self) -> list[datetime]:
        return [s.at for s in self.samples]

    def index_at(self, at: datetime) -> int:
        """Index of the last sample at or before ``at`` (0 if ``at`` precedes the trace)."""
        return max(bisect.bisect_right(self._times, at) - 1, 0)


def load_csv(path: Path) -> Trace:
    """Read a ``timestamp,value[,observed,...]`` CSV (optionally gzipped) into a :class:`Trace`.

    Rows with ``observed=0`` are dropped: no log exists there, and a zero would be a lie.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        rows = csv.DictReader(handle)
        samples = [
            Sample(_parse_time(row["timestamp"]), float(row["value"]))
            for row in rows
            if row.get("observed", "1") not in ("0", "0.0")
        ]
    samples.sort(key=lambda s: s.at)
    return Trace(tuple(samples))


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Replay:
    """How trace time maps onto wall-clock time.

    ``anchor`` (wall clock) corresponds to ``now_at`` (trace time).  History is shifted by
    ``anchor - now_at`` at real speed; after the anchor, trace time advances ``acceleration``
    times faster than the wall clock.
    """

    trace: Trace
    now_at: datetime
    anchor: datetime
    acceleration: float = 1.0

    @property
    def shift(self) -> timedelta:
        return self.anchor - self.now_at

    def history(self, span: timedelta | None = None) -> Iterator[tuple[datetime, float]]:
        """(wall-clock time, value) of every trace sample strictly before ``now_at``."""
        oldest = self.now_at - span if span is not None else self.trace.start
        for sample in self.trace.samples:
            if oldest <= sample.at < self.now_at:
                yield sample.at + self.shift, sample.value

    def trace_time(self, wall: datetime) -> datetime:
        """The trace instant replayed at wall-clock time ``wall`` (wrapping past the end)."""
        elapsed = (wall - self.anchor) * self.acceleration
        at = self.now_at + elapsed
        period = self.trace.end - self.trace.start + timedelta(minutes=1)
        while at > self.trace.end:
            at -= period
        return at

    def value_at(self, wall: datetime) -> float:
        """Value the live feeder reports at wall-clock time ``wall``."""
        return self.trace.samples[self.trace.index_at(self.trace_time(wall))].value


def default_now_at(trace: Trace) -> datetime:
    """One day before the end of the trace: a long history and a day of live replay after it."""
    return trace.end - timedelta(days=1) + timedelta(minutes=1)


def floor_minute(at: datetime) -> datetime:
    """Round down to a whole minute, so shifted samples sit on minute boundaries.

    >>> floor_minute(datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC)).isoformat()
    '2025-01-02T03:04:00+00:00'
    """
    return at.replace(second=0, microsecond=0)


def openmetrics(points: Iterator[tuple[datetime, float]], labels: dict[str, str]) -> Iterator[str]:
    """Lines of an OpenMetrics text file holding ``points`` as the demo gauge (for promtool).

    >>> at = datetime(2025, 1, 1, tzinfo=UTC)
    >>> list(openmetrics(iter([(at, 3.0)]), {"service": "web"}))[2:]
    ['foresight_demo_requests_per_minute{service="web"} 3.0 1735689600\\n', '# EOF\\n']
    """
    label_text = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    yield f"# HELP {METRIC_NAME} {METRIC_HELP}\n"
    yield f"# TYPE {METRIC_NAME} gauge\n"
    for at, value in points:
        yield f"{METRIC_NAME}{{{label_text}}} {value} {int(at.timestamp())}\n"
    yield "# EOF\n"
