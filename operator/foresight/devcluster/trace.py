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

from foresight.api.v1alpha1 import parse_time

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
            Sample(parse_time(row["timestamp"]), float(row["value"]))
            for row in rows
            if row.get("observed", "1") not in ("0", "0.0")
        ]
    samples.sort(key=lambda s: s.at)
    return Trace(tuple(samples))


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
        """The trace instant replayed at wall-clock time ``wall`` (wrapping past the end).

        >>> day = datetime(2020, 1, 1, tzinfo=UTC)
        >>> t = Trace(tuple(Sample(day + timedelta(minutes=m), float(m)) for m in range(10)))
        >>> r = Replay(t, now_at=day + timedelta(minutes=5), anchor=day.replace(year=2030), acceleration=60)
        >>> r.trace_time(r.anchor + timedelta(seconds=2)).minute, r.value_at(r.anchor + timedelta(seconds=7))
        (7, 2.0)
        """
        elapsed = (wall - self.anchor) * self.acceleration
        at = self.now_at + elapsed
        period = self.trace.end - self.trace.start + timedelta(minutes=1)
        while at > self.trace.end:
            at -= period
        return at

    def value_at(self, wall: datetime) -> float:
        """Value the live feeder reports at wall-clock time ``wall``."""
        return self.trace.samples[self.trace.index_at(self.trace_time(wall))].value


# In the NASA trace, traffic climbs from ~20 to ~90 requests/min between 10:30Z and 15:00Z on
# 1995-08-30 (the US morning).  Putting "now" just before it gives the demo and the tests a
# known surge to predict, with two quiet weeks of history behind it.
NASA_MORNING_RAMP = datetime(1995, 8, 30, 10, 30, tzinfo=UTC)


def default_now_at(trace: Trace) -> datetime:
    """Just before the NASA morning ramp if the trace covers it, else one day before its end.

    >>> jan = datetime(2020, 1, 1, tzinfo=UTC)
    >>> t = Trace((Sample(jan, 1.0), Sample(jan + timedelta(days=2), 2.0)))
    >>> default_now_at(t).isoformat()
    '2020-01-02T00:01:00+00:00'
    """
    if trace.start < NASA_MORNING_RAMP < trace.end:
        return NASA_MORNING_RAMP
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
