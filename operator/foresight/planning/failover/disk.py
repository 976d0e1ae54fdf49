"""Disk health as a failover cause: days ahead, with its own horizon, threshold and pace.

A node's disk risk is ``P(any of its drives fails within diskHealth.horizon)`` by the learned model
(:class:`foresight.planning.disk_health.DiskHealthModel`, ``models/disk-health-v1``). It is not folded into
the minute-scale failure probability (a 7-day probability and a 15-minute one are different quantities):
it has its own threshold, and a node at risk only by its disks is drained slowly (:mod:`.actions`): no
sooner than ``diskHealth.cooldownSeconds`` after the last drain, inside ``actions.window`` if one is set.

Readings come from smartctl_exporter, one series per drive and attribute, read on a daily grid ending now
(:func:`drive_readings`): the model was fitted on one reading per drive and day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from foresight.api import v1alpha1
from foresight.api.v1alpha1.failover_policy import WEEKDAYS, DiskHealthSpec, MaintenanceWindow
from foresight.planning.disk_health import (
    CHANGE_WINDOWS_DAYS,
    PRECURSORS,
    SMART_ATTRIBUTES,
    DiskHealthModel,
    SmartReadings,
    any_drive_fails,
)

__all__ = [
    "DISK_HISTORY_DAYS",
    "DISK_MODEL_DIR",
    "DiskRisk",
    "assess_disk",
    "disk_threshold",
    "drive_readings",
    "in_window",
]

# The controller loads the shipped model once: DiskHealthModel.load(settings.model_dir / DISK_MODEL_DIR).
DISK_MODEL_DIR = "disk-health-v1"
# Days of history read per drive: the longest change window the model uses.
DISK_HISTORY_DAYS = max(CHANGE_WINDOWS_DAYS)
_NAMES = {a.id: a.name for a in SMART_ATTRIBUTES}


@dataclass(frozen=True)
class DiskRisk:
    """A node's drive failure probability within the disk horizon, and the levels it is judged by."""

    probability: float
    threshold: float
    release_below: float
    horizon: str
    reason: str

    @property
    def alarm(self) -> bool:
        """At or above the threshold: the node is to be drained, at the disk pace."""
        return self.probability >= self.threshold

    @property
    def holds(self) -> bool:
        """Not yet below the release level: a node tainted for it stays tainted (hysteresis)."""
        return self.probability >= self.release_below


def disk_threshold(spec: DiskHealthSpec, model: DiskHealthModel) -> float:
    """The spec's threshold, or the model's for the horizon (chosen on validation drives).

    >>> m = DiskHealthModel((1.0, 7.0), (0.0, 0.0), ((0.0,) * 77,) * 2, (0.0,) * 77, (1.0,) * 77,
    ...                     operating_points={"7": {"threshold": 0.11}})
    >>> explicit = DiskHealthSpec(failure_probability_threshold=0.3)
    >>> disk_threshold(DiskHealthSpec(), m), disk_threshold(explicit, m)
    (0.11, 0.3)
    >>> disk_threshold(DiskHealthSpec(horizon="3d"), m)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: diskHealth.horizon 3d has no default threshold (the model has 7d): set ...
    """
    if spec.failure_probability_threshold is not None:
        return spec.failure_probability_threshold
    days = v1alpha1.parse_duration(spec.horizon) / timedelta(days=1)
    key = f"{days:g}"
    if key not in model.operating_points:
        fitted = ", ".join(f"{k}d" for k in model.operating_points) or "none"
        raise ValueError(
            f"diskHealth.horizon {spec.horizon} has no default threshold (the model has {fitted}): "
            "set diskHealth.failureProbabilityThreshold"
        )
    return model.threshold(days)


def assess_disk(spec: DiskHealthSpec, drives: Sequence[SmartReadings], model: DiskHealthModel) -> DiskRisk:
    """``P(any of the node's drives fails within spec.horizon)``, drives taken as independent.

    The reason names the horizon, the level it is judged by and the riskiest drive's nonzero precursors
    (SMART 5/187/197/198) with their rise over the last day, e.g.
    ``disk: p(a drive fails within 7d) = 0.19 (threshold 0.11): Reallocated_Sector_Ct=200 (+200 in 1d)``.
    """
    threshold = disk_threshold(spec, model)
    release = threshold / 2 if spec.untaint_below_probability is None else spec.untaint_below_probability
    days = v1alpha1.parse_duration(spec.horizon) / timedelta(days=1)
    per_drive = [float(p) for p in model.failure_probabilities(drives, days)]
    probability = any_drive_fails(per_drive)
    reason = f"disk: p(a drive fails within {spec.horizon}) = {probability:.3f} (threshold {threshold:.3g})"
    if per_drive:
        worst = drives[max(range(len(per_drive)), key=per_drive.__getitem__)]
        shown = _precursors(worst)
        reason += f": {shown}" if shown else ": no SMART precursor above zero"
    return DiskRisk(probability, threshold, release, spec.horizon, reason)


def _precursors(drive: SmartReadings) -> str:
    day_ago = drive.days_ago.get(1, {})
    parts = []
    for attribute in PRECURSORS:
        value = drive.current.get(attribute, 0.0)
        if value > 0:
            rise = value - day_ago.get(attribute, value)
            parts.append(f"{_NAMES[attribute]}={value:g}" + (f" (+{rise:g} in 1d)" if rise > 0 else ""))
    return ", ".join(parts)


def drive_readings(daily: Mapping[int, Sequence[float]]) -> SmartReadings | None:
    """One drive's readings from each attribute's values on a daily grid, oldest first, the last one now.

    The value ``w`` days ago is the grid point ``w`` days before the last; a drive watched for less than
    ``w`` days reads its first value there instead, as the model was fitted ("before a drive's first row
    its values count as the first row's"). An attribute with no value now is left out; a drive with none
    at all is ``None``.

    >>> r = drive_readings({5: [math.nan, 0.0, 0.0, 3.0], 197: [math.nan, math.nan, math.nan, 2.0]})
    >>> r.current, r.days_ago[1], r.days_ago[7]
    ({5: 3.0, 197: 2.0}, {5: 0.0, 197: 2.0}, {5: 0.0, 197: 2.0})
    """
    current: dict[int, float] = {}
    days_ago: dict[int, dict[int, float]] = {w: {} for w in CHANGE_WINDOWS_DAYS}
    for attribute, values in daily.items():
        now = values[-1] if values else math.nan
        if math.isnan(now):
            continue
        current[attribute] = now
        for window in CHANGE_WINDOWS_DAYS:
            start = max(len(values) - 1 - window, 0)
            days_ago[window][attribute] = next(v for v in values[start:] if not math.isnan(v))
    return SmartReadings(current, days_ago) if current else None


def in_window(window: MaintenanceWindow | None, now: datetime) -> bool:
    """Whether ``now`` is inside the maintenance window (no window: always).

    >>> w = MaintenanceWindow(days=["Sat"], start="22:00", end="06:00")
    >>> from datetime import UTC
    >>> [in_window(w, datetime(2025, 1, d, h, tzinfo=UTC)) for d, h in ((4, 23), (5, 5), (5, 7), (3, 23))]
    [True, True, False, False]
    """
    if window is None:
        return True
    local = now.astimezone(ZoneInfo(window.time_zone))
    clock = local.strftime("%H:%M")
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    if window.start < window.end:
        return today in window.days and window.start <= clock < window.end
    return (today in window.days and clock >= window.start) or (
        yesterday in window.days and clock < window.end
    )
