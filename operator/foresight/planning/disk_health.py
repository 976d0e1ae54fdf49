"""Disk health: the chance that a drive fails within a horizon of days, from its SMART counters.

The model (``models/disk-health-v1``, fitted by ``foresight train-disk-health`` on Backblaze's 2013-2016
drive stats) is one logistic regression per fitted horizon (1, 7 and 30 days):
``P(the drive fails within H days | its SMART raw values now and their change over the last 1, 7 and 30
days)``. The inputs are the nine attributes of the data set, read in a cluster from smartctl_exporter
(:data:`SMART_ATTRIBUTES` maps each to its series). Inference is plain numpy on a JSON artifact.

Between fitted horizons the cumulative hazard ``-log(1 - p)`` is interpolated linearly; under one day the
one-day hazard is spread evenly; beyond the longest horizon its mean hazard per day continues. The
cumulative hazard is made non-decreasing across horizons, so a longer horizon never reads as safer.

A drive's history enters only as the change of each counter over each window: a window without a past
reading (a new drive, a Prometheus that does not reach back that far) counts as "no change", which is what
the model saw for drives entering the data set.
"""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ATTRIBUTES",
    "CHANGE_WINDOWS_DAYS",
    "EXPORTER_METRIC",
    "MODEL_FILE",
    "PRECURSORS",
    "SMART_ATTRIBUTES",
    "DiskHealthModel",
    "SmartAttribute",
    "SmartReadings",
    "any_drive_fails",
    "exporter_query",
    "feature_matrix",
    "feature_names",
    "readings_arrays",
]

Array = npt.NDArray[np.float64]

MODEL_FILE = "model.json"
EXPORTER_METRIC = "smartctl_device_attribute"

# The windows over which a counter's change is a feature. A window is also how far back the operator
# reads a past value (``offset <days>d``).
CHANGE_WINDOWS_DAYS: tuple[int, ...] = (1, 7, 30)


@dataclass(frozen=True)
class SmartAttribute:
    """A SMART attribute the model reads: its ATA id, smartctl's name for it, and what it counts."""

    id: int
    name: str
    meaning: str

    @property
    def exporter_selector(self) -> str:
        """The smartctl_exporter series of the attribute's raw value (its ``device`` label and the scrape
        target's labels say which drive and node).

        >>> SMART_ATTRIBUTES[0].exporter_selector
        'smartctl_device_attribute{attribute_id="5",attribute_value_type="raw"}'
        """
        return f'{EXPORTER_METRIC}{{attribute_id="{self.id}",attribute_value_type="raw"}}'


# The Backblaze data set's attributes, in the order of the feature vector. Names are smartctl's default
# attribute names (smartmontools ``drivedb.h``), the ``attribute_name`` label of smartctl_exporter.
SMART_ATTRIBUTES: tuple[SmartAttribute, ...] = (
    SmartAttribute(5, "Reallocated_Sector_Ct", "sectors remapped to the spare area"),
    SmartAttribute(10, "Spin_Retry_Count", "retries to spin the platters up"),
    SmartAttribute(12, "Power_Cycle_Count", "power on/off cycles"),
    SmartAttribute(187, "Reported_Uncorrect", "errors ECC could not correct"),
    SmartAttribute(188, "Command_Timeout", "aborted operations (timeouts)"),
    SmartAttribute(189, "High_Fly_Writes", "writes with the head flying too high"),
    SmartAttribute(196, "Reallocated_Event_Count", "remap operations"),
    SmartAttribute(197, "Current_Pending_Sector", "unstable sectors waiting to be remapped"),
    SmartAttribute(198, "Offline_Uncorrectable", "uncorrectable sectors found by offline scans"),
)
ATTRIBUTES: tuple[int, ...] = tuple(a.id for a in SMART_ATTRIBUTES)

# Today's flag ("any of these raw counters above zero"), after Backblaze and the drive-failure literature.
PRECURSORS: tuple[int, ...] = (5, 187, 197, 198)
_PRECURSOR_COLUMNS = [ATTRIBUTES.index(k) for k in PRECURSORS]


def exporter_query(attribute_id: int, days_ago: int = 0) -> str:
    """PromQL for an attribute's raw value now (``days_ago=0``) or as it was ``days_ago`` days ago.

    >>> exporter_query(197, days_ago=7)
    'smartctl_device_attribute{attribute_id="197",attribute_value_type="raw"} offset 7d'
    """
    (attribute,) = (a for a in SMART_ATTRIBUTES if a.id == attribute_id)
    return attribute.exporter_selector + (f" offset {days_ago}d" if days_ago else "")


# --------------------------------------------------------------------------------------------------------
# Features


def feature_names() -> tuple[str, ...]:
    """Names of the feature vector's columns, in order.

    >>> names = feature_names()
    >>> len(names), names[0], names[18], names[-1]
    (77, 'log1p_5', 'change_1d_5', 'change_30d_precursors')
    """
    ids = [str(k) for k in ATTRIBUTES]
    names = [f"log1p_{k}" for k in ids] + [f"nonzero_{k}" for k in ids]
    names += [f"change_{w}d_{k}" for w in CHANGE_WINDOWS_DAYS for k in ids]
    names += [f"increased_{w}d_{k}" for w in CHANGE_WINDOWS_DAYS for k in ids]
    names += ["log1p_precursors", "nonzero_precursors"]
    names += [f"change_{w}d_precursors" for w in CHANGE_WINDOWS_DAYS]
    return tuple(names)


def _signed_log1p(x: Array) -> Array:
    return np.sign(x) * np.log1p(np.abs(x))


def feature_matrix(current: Array, past: Mapping[int, Array] | None = None) -> Array:
    """Features of ``n`` drives: ``current`` is ``(n, 9)`` raw values in :data:`ATTRIBUTES` order,
    ``past[w]`` the values ``w`` days ago (a missing window, or NaN in it, counts as unchanged).

    Per attribute: ``log1p`` of the value and whether it is above zero; per attribute and window: the
    signed ``log1p`` of the change and whether it rose; the same level and changes for the sum of the four
    precursors (5, 187, 197, 198), which lets a rise of any one of them count together.
    Missing current values (NaN) count as zero, as in the data.

    >>> steady = np.zeros((1, 9))
    >>> rising = steady.copy(); rising[0, 0] = 8.0
    >>> x = feature_matrix(rising, {7: steady})
    >>> names = feature_names()
    >>> [round(float(x[0, names.index(n)]), 3) for n in ("log1p_5", "change_7d_5", "change_1d_5")]
    [2.197, 2.197, 0.0]
    """
    now = np.nan_to_num(np.asarray(current, dtype=float).reshape(-1, len(ATTRIBUTES)), nan=0.0)
    past = past or {}
    columns = [np.log1p(np.maximum(now, 0.0)), (now > 0).astype(float)]
    changes = {}
    for window in CHANGE_WINDOWS_DAYS:
        then = np.asarray(past.get(window, now), dtype=float).reshape(now.shape)
        changes[window] = now - np.where(np.isnan(then), now, then)
    columns += [_signed_log1p(changes[w]) for w in CHANGE_WINDOWS_DAYS]
    columns += [(changes[w] > 0).astype(float) for w in CHANGE_WINDOWS_DAYS]
    total = np.maximum(now[:, _PRECURSOR_COLUMNS], 0.0).sum(axis=1, keepdims=True)
    columns += [np.log1p(total), (total > 0).astype(float)]
    columns += [
        _signed_log1p(changes[w][:, _PRECURSOR_COLUMNS].sum(axis=1, keepdims=True))
        for w in CHANGE_WINDOWS_DAYS
    ]
    return np.hstack(columns)


@dataclass(frozen=True)
class SmartReadings:
    """One drive's raw SMART values by attribute id: now, and ``days_ago[w]`` as they were ``w`` days ago.

    Attributes the drive does not report are simply absent (they count as zero now, unchanged then).
    """

    current: Mapping[int, float]
    days_ago: Mapping[int, Mapping[int, float]] = field(default_factory=dict)


def readings_arrays(readings: Sequence[SmartReadings]) -> tuple[Array, dict[int, Array]]:
    """``(current, past)`` arrays for :func:`feature_matrix`; a past value nobody read is NaN (unchanged).

    >>> now, past = readings_arrays([SmartReadings({5: 8.0}, {7: {5: 0.0}})])
    >>> now[0, :2].tolist(), past[7][0, :2].tolist(), past[1][0, :1].tolist()
    ([8.0, 0.0], [0.0, nan], [nan])
    """
    now = np.array([[r.current.get(k, 0.0) for k in ATTRIBUTES] for r in readings], dtype=float)
    past = {
        w: np.array([[r.days_ago.get(w, {}).get(k, math.nan) for k in ATTRIBUTES] for r in readings])
        for w in CHANGE_WINDOWS_DAYS
    }
    return now.reshape(-1, len(ATTRIBUTES)), {w: a.reshape(now.shape) for w, a in past.items()}


# --------------------------------------------------------------------------------------------------------
# Model


def _cumulative_hazard(probability: Array) -> Array:
    return -np.log1p(-np.clip(probability, 0.0, 1.0 - 1e-12))


@dataclass(frozen=True)
class DiskHealthModel:
    """Per-horizon logistic regressions on standardised features (:func:`feature_matrix`).

    ``coefficients[i]`` and ``intercepts[i]`` belong to ``horizons_days[i]``; ``feature_mean`` and
    ``feature_scale`` standardise the features first. ``operating_points`` holds, per horizon (its days as
    a string), the threshold chosen on the validation drives and the figures it had there.

    >>> m = DiskHealthModel((1.0, 7.0), (math.log(0.01 / 0.99), math.log(0.05 / 0.95)),
    ...                     ((0.0,) * 77, (0.0,) * 77), (0.0,) * 77, (1.0,) * 77)
    >>> r = SmartReadings({})
    >>> [round(m.failure_probability(r, h), 4) for h in (1 / 24, 1, 4, 7, 14)]
    [0.0004, 0.01, 0.0302, 0.05, 0.0975]
    """

    horizons_days: tuple[float, ...]
    intercepts: tuple[float, ...]
    coefficients: tuple[tuple[float, ...], ...]
    feature_mean: tuple[float, ...]
    feature_scale: tuple[float, ...]
    operating_points: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        n = len(feature_names())
        if list(self.horizons_days) != sorted(set(self.horizons_days)) or not self.horizons_days:
            raise ValueError("horizons must be distinct and increasing")
        if len(self.intercepts) != len(self.horizons_days) or len(self.coefficients) != len(self.intercepts):
            raise ValueError("need one intercept and one coefficient vector per horizon")
        if any(len(c) != n for c in self.coefficients) or len(self.feature_mean) != n:
            raise ValueError(f"need {n} coefficients per horizon (feature_names())")
        if len(self.feature_scale) != n or min(self.feature_scale) <= 0:
            raise ValueError(f"need {n} positive feature scales")

    def linear_predictor(self, features: Array) -> Array:
        """``(n, horizons)`` log-odds of a failure within each fitted horizon."""
        z = (features - np.asarray(self.feature_mean)) / np.asarray(self.feature_scale)
        return z @ np.asarray(self.coefficients).T + np.asarray(self.intercepts)

    def probabilities(self, current: Array, past: Mapping[int, Array] | None = None) -> Array:
        """``(n, horizons)``: ``P(failure within horizons_days[i])``, non-decreasing along each row."""
        p = 1.0 / (1.0 + np.exp(-self.linear_predictor(feature_matrix(current, past))))
        return 1.0 - np.exp(-np.maximum.accumulate(_cumulative_hazard(p), axis=1))

    def probability_at(self, fitted: Array, horizon_days: float) -> Array:
        """From ``(n, horizons)`` fitted probabilities to ``P(failure within horizon_days)``, ``(n,)``."""
        if horizon_days <= 0:
            return np.zeros(fitted.shape[0])
        knots = np.asarray(self.horizons_days)
        hazard = _cumulative_hazard(fitted)
        if horizon_days <= knots[0]:
            cumulative = hazard[:, 0] * horizon_days / knots[0]
        elif horizon_days >= knots[-1]:
            cumulative = hazard[:, -1] * horizon_days / knots[-1]
        else:
            i = int(np.searchsorted(knots, horizon_days))
            share = (horizon_days - knots[i - 1]) / (knots[i] - knots[i - 1])
            cumulative = hazard[:, i - 1] + share * (hazard[:, i] - hazard[:, i - 1])
        return 1.0 - np.exp(-cumulative)

    def failure_probabilities(self, readings: Sequence[SmartReadings], horizon_days: float) -> Array:
        """``P(failure within horizon_days)`` of each drive."""
        if not readings:
            return np.zeros(0)
        return self.probability_at(self.probabilities(*readings_arrays(readings)), horizon_days)

    def failure_probability(self, readings: SmartReadings, horizon_days: float) -> float:
        """``P(this drive fails within horizon_days)``."""
        return float(self.failure_probabilities([readings], horizon_days)[0])

    def threshold(self, horizon_days: float) -> float:
        """The alarm threshold chosen on the validation drives for a fitted horizon."""
        return float(self.operating_points[f"{horizon_days:g}"]["threshold"])

    def to_json(self) -> dict[str, Any]:
        """The artifact's JSON body (``model.json``)."""
        return {
            "feature_names": list(feature_names()),
            "attributes": list(ATTRIBUTES),
            "change_windows_days": list(CHANGE_WINDOWS_DAYS),
            "horizons_days": list(self.horizons_days),
            "intercepts": list(self.intercepts),
            "coefficients": [list(c) for c in self.coefficients],
            "feature_mean": list(self.feature_mean),
            "feature_scale": list(self.feature_scale),
            "operating_points": {k: dict(v) for k, v in self.operating_points.items()},
            "details": dict(self.details),
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DiskHealthModel:
        if list(body["feature_names"]) != list(feature_names()):
            raise ValueError("the artifact's features differ from this code's feature_names()")
        return cls(
            horizons_days=tuple(float(x) for x in body["horizons_days"]),
            intercepts=tuple(float(x) for x in body["intercepts"]),
            coefficients=tuple(tuple(float(x) for x in c) for c in body["coefficients"]),
            feature_mean=tuple(float(x) for x in body["feature_mean"]),
            feature_scale=tuple(float(x) for x in body["feature_scale"]),
            operating_points={str(k): dict(v) for k, v in body.get("operating_points", {}).items()},
            details=dict(body.get("details", {})),
        )

    def save(self, directory: str | pathlib.Path) -> pathlib.Path:
        path = pathlib.Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        target = path / MODEL_FILE
        target.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        return target

    @classmethod
    def load(cls, directory: str | pathlib.Path) -> DiskHealthModel:
        """Load ``model.json`` from an artifact directory (e.g. ``models/disk-health-v1``)."""
        return cls.from_json(json.loads((pathlib.Path(directory) / MODEL_FILE).read_text()))


def any_drive_fails(probabilities: Iterable[float]) -> float:
    """``P(at least one of a node's drives fails)``, drives taken as independent.

    >>> round(any_drive_fails([0.1, 0.2]), 3), any_drive_fails([])
    (0.28, 0.0)
    """
    survive = 1.0
    for p in probabilities:
        survive *= 1.0 - min(max(p, 0.0), 1.0)
    return 1.0 - survive
