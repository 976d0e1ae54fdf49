"""``foresight train-disk-health`` / ``evaluate-disk-health``: a learned drive-failure model, real records.

Data: Backblaze drive stats 2013-04..2016-09 in start-stop format (one row per drive and interval of power-on
hours with constant SMART raw values; ``fails`` marks the interval a drive failed at its end). Drives are
split by a hash of the serial number into train (50 %), validation (20 %) and test (30 %); no drive has
rows in two splits.

Each drive's record is cut into segments within which every feature (values, and their change over the
last 1, 7 and 30 days) and every label ("fails within H days") is constant, so that weighting a segment by
its length in days gives exactly what a per-day (discrete-time) data set would give, without 54 million
rows. Times whose label is unknown (a drive that left the data set less than H days later without failing)
are not scored at horizon H.

Training fits one ridge logistic regression per horizon (Newton's method on the distinct feature rows, each
weighted by its drive-days) on the train drives, picks the ridge strength on the validation drives by
log-loss, and picks each horizon's alarm threshold on the validation drives: the one with the best F1
(precision over drive-days, recall over failed drives). The test drives are never read while training.
Evaluation scores the test drives against today's flag ("any of SMART 5/187/197/198 above zero").
"""

from __future__ import annotations

import hashlib
import json
import math
import pathlib
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from foresight.commands import _disk_health_report as report
from foresight.planning import disk_health
from foresight.planning.disk_health import ATTRIBUTES, CHANGE_WINDOWS_DAYS, PRECURSORS, DiskHealthModel

__all__ = [
    "BACKBLAZE_FILES",
    "HORIZONS_DAYS",
    "AlarmScore",
    "Segments",
    "alarm_score",
    "brier_score",
    "build_segments",
    "calibration_table",
    "evaluate_disk_health",
    "evaluate_model",
    "load_drives",
    "split_of",
    "train_disk_health",
    "train_model",
]

Array = npt.NDArray[np.float64]

BACKBLAZE_FILES = (
    "backblaze_2013_2016/hds_backblaze_start_stop_part1.csv.gz",
    "backblaze_2013_2016/hds_backblaze_start_stop_part2.csv.gz",
)
HORIZONS_DAYS: tuple[int, ...] = (1, 7, 30)
DEFAULT_ALPHAS: tuple[float, ...] = (1e-5, 1e-4, 1e-3)
DEFAULT_OUT = pathlib.Path("models/disk-health-v1")
DEFAULT_MARKDOWN = pathlib.Path("docs/disk-health-eval.md")
CALIBRATION_EDGES: tuple[float, ...] = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)
SWEEP_BUDGETS: tuple[float, ...] = (0.001, 0.003, 0.01)
FLAG_RULE = "flag: any of 5/187/197/198 > 0"
_HOURS_PER_DAY = 24
_PRECURSOR_COLUMNS = [ATTRIBUTES.index(k) for k in PRECURSORS]


def default_datasets_dir() -> pathlib.Path:
    """``<repo>/../shared/datasets/failures``, next to the repository."""
    return pathlib.Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "failures"


def split_of(serial: str) -> str:
    """The split of a drive: a stable hash of its serial, so all of a drive's rows land together.

    >>> [split_of(s) for s in ("W1F0348Y", "2EG1225J")] == [split_of("W1F0348Y"), split_of("2EG1225J")]
    True
    >>> sorted({split_of(f"S{i}") for i in range(50)})
    ['test', 'train', 'validation']
    """
    bucket = int(hashlib.sha256(serial.encode()).hexdigest()[:8], 16) % 10
    return "test" if bucket < 3 else "validation" if bucket < 5 else "train"


def _row_splits(rows: pd.DataFrame) -> pd.Series:
    """The split of each row's drive (hashing each serial once)."""
    serials = rows["serial_number"]
    return serials.map({s: split_of(s) for s in serials.unique()})


def load_drives(datasets_dir: pathlib.Path) -> pd.DataFrame:
    """The start-stop rows: serial, ``tstart``/``tstop`` (power-on hours), ``fails`` and the raw counters."""
    columns = ["serial_number", "tstart", "tstop", "fails", *[f"smart_{k}" for k in ATTRIBUTES]]
    frames = [pd.read_csv(datasets_dir / f, usecols=columns) for f in BACKBLAZE_FILES]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------------------
# Segments


@dataclass(frozen=True)
class Segments:
    """Drive time cut where any feature or label changes, sorted by drive then time.

    Per segment: ``drive`` (index into ``serials``), ``[start, end)`` in power-on hours, the raw values
    ``current`` and ``past[w]`` (``w`` days before ``start``). Per drive: ``serials``, ``record_end`` (last
    power-on hour in the data) and ``failed`` (the record ends in a failure).
    """

    serials: npt.NDArray[np.object_]
    drive: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    current: Array
    past: Mapping[int, Array]
    record_end: npt.NDArray[np.int64]
    failed: npt.NDArray[np.bool_]
    horizons_days: tuple[float, ...]

    @property
    def days(self) -> Array:
        return (self.end - self.start) / _HOURS_PER_DAY

    def fails_within(self, horizon_days: float) -> npt.NDArray[np.bool_]:
        """Whether the drive fails within ``horizon_days`` of every moment of the segment."""
        self._check(horizon_days)
        cut = self.record_end[self.drive] - horizon_days * _HOURS_PER_DAY
        return self.failed[self.drive] & (self.start >= cut)

    def scorable(self, horizon_days: float) -> npt.NDArray[np.bool_]:
        """Whether the label is known: the drive failed, or was watched ``horizon_days`` past the segment."""
        self._check(horizon_days)
        cut = self.record_end[self.drive] - horizon_days * _HOURS_PER_DAY
        return self.failed[self.drive] | (self.end <= cut)

    def _check(self, horizon_days: float) -> None:
        # Labels are constant within a segment only at the horizons the record was cut for.
        if float(horizon_days) not in self.horizons_days:
            raise ValueError(f"segments were cut for horizons {self.horizons_days}, not {horizon_days}")

    def flag(self) -> npt.NDArray[np.bool_]:
        """Today's flag: any precursor counter above zero."""
        return np.asarray((self.current[:, _PRECURSOR_COLUMNS] > 0).any(axis=1), dtype=np.bool_)

    def split(self) -> npt.NDArray[np.object_]:
        """The split of each segment's drive."""
        per_drive = np.array([split_of(s) for s in self.serials], dtype=object)
        return per_drive[self.drive]

    def subset(self, mask: npt.NDArray[np.bool_]) -> Segments:
        """The segments where ``mask`` holds (per-drive arrays are kept whole)."""
        return replace(
            self,
            drive=self.drive[mask],
            start=self.start[mask],
            end=self.end[mask],
            current=self.current[mask],
            past={w: a[mask] for w, a in self.past.items()},
        )

    def failed_drives(self) -> npt.NDArray[np.int64]:
        """Drives with segments here whose record ends in a failure."""
        drives = np.unique(self.drive)
        return drives[self.failed[drives]]


def build_segments(rows: pd.DataFrame, horizons_days: Sequence[float] = HORIZONS_DAYS) -> Segments:
    """Cut each drive's start-stop rows where a value changes, where a change leaves a window
    (``CHANGE_WINDOWS_DAYS`` after it) and where a label changes (``horizon`` before the record's end).

    Rows of one drive must be contiguous in power-on hours (as in the data set). Before a drive's first
    row nothing is known, so its values then count as the first row's (no change).
    """
    rows = rows.sort_values(["serial_number", "tstart"], kind="stable")
    codes, serials = pd.factorize(rows["serial_number"], sort=True)
    drive = codes.astype(np.int64)
    row_start = rows["tstart"].to_numpy(np.int64)
    row_end = rows["tstop"].to_numpy(np.int64)
    values = rows[[f"smart_{k}" for k in ATTRIBUTES]].fillna(0.0).to_numpy(float)
    n_drives = len(serials)
    first = np.full(n_drives, np.iinfo(np.int64).max)
    np.minimum.at(first, drive, row_start)
    record_end = np.zeros(n_drives, np.int64)
    np.maximum.at(record_end, drive, row_end)
    failed = np.zeros(n_drives, bool)
    failed[drive[rows["fails"].fillna(0).to_numpy() > 0]] = True

    # One sortable key per (drive, power-on hour); 2**32 hours is far beyond any drive's life.
    scale = np.int64(1 << 32)
    row_key = drive * scale + row_start
    changed = np.r_[False, drive[1:] == drive[:-1]]
    points = [row_key]
    for window in CHANGE_WINDOWS_DAYS:
        t = row_start[changed] + window * _HOURS_PER_DAY
        d = drive[changed]
        keep = t < record_end[d]
        points.append(d[keep] * scale + t[keep])
    every = np.arange(n_drives, dtype=np.int64)
    for horizon in horizons_days:
        t = (record_end - horizon * _HOURS_PER_DAY).astype(np.int64)
        keep = t > first
        points.append(every[keep] * scale + t[keep])
    keys = np.unique(np.concatenate(points))
    seg_drive = keys // scale
    seg_start = keys % scale
    same_drive_next = np.r_[seg_drive[1:] == seg_drive[:-1], False]
    seg_end = np.where(same_drive_next, np.r_[seg_start[1:], 0], record_end[seg_drive])

    def values_at(hours: npt.NDArray[np.int64]) -> Array:
        return values[np.searchsorted(row_key, seg_drive * scale + hours, side="right") - 1]

    past = {
        w: values_at(np.maximum(seg_start - w * _HOURS_PER_DAY, first[seg_drive]))
        for w in CHANGE_WINDOWS_DAYS
    }
    return Segments(
        serials=np.asarray(serials, dtype=object),
        drive=seg_drive,
        start=seg_start,
        end=seg_end,
        current=values_at(seg_start),
        past=past,
        record_end=record_end,
        failed=failed,
        horizons_days=tuple(float(h) for h in horizons_days),
    )


def _distinct_inputs(segments: Segments) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Indices of the distinct ``(current, past...)`` rows and each segment's row among them."""
    raw = np.ascontiguousarray(
        np.hstack([segments.current, *(segments.past[w] for w in CHANGE_WINDOWS_DAYS)])
    )
    raw[raw == 0] = 0.0  # -0.0 and 0.0 are one value
    keys = raw.view(np.dtype((np.void, raw.dtype.itemsize * raw.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def segment_probabilities(model: DiskHealthModel, segments: Segments) -> Array:
    """``(segments, horizons)``: the model's probabilities, computed once per distinct input row."""
    if len(segments.drive) == 0:
        return np.zeros((0, len(model.horizons_days)))
    first, inverse = _distinct_inputs(segments)
    past = {w: a[first] for w, a in segments.past.items()}
    return model.probabilities(segments.current[first], past)[inverse]


# --------------------------------------------------------------------------------------------------------
# Fitting


def fit_logistic(
    features: Array, positive_days: Array, negative_days: Array, alpha: float, max_steps: int = 100
) -> tuple[float, Array]:
    """Ridge logistic regression on standardised ``features``, each row weighted by its drive-days.

    Minimises the mean log-loss per drive-day plus ``alpha / 2 * |coef|^2`` (the intercept is free) by
    Newton's method with step halving: with 77 features the exact Hessian is cheap, and it converges in
    about ten steps where first-order methods crawl on a 1-in-10,000 base rate. The algebra runs in torch,
    whose thread pool stays fast on a busy machine where a multi-threaded BLAS stalls.

    >>> x = np.array([[-1.0], [1.0]])
    >>> b0, b = fit_logistic(x, np.array([1.0, 3.0]), np.array([3.0, 1.0]), alpha=0.0)
    >>> round(b0, 6), round(float(b[0]), 4)  # p = 1/4 at x = -1 and 3/4 at x = 1
    (0.0, 1.0986)
    """
    import torch

    x = torch.from_numpy(np.hstack([np.ones((features.shape[0], 1)), np.asarray(features, dtype=float)]))
    pos = torch.from_numpy(np.asarray(positive_days, dtype=float))
    neg = torch.from_numpy(np.asarray(negative_days, dtype=float))
    total = float(pos.sum() + neg.sum())
    ridge = torch.full((x.shape[1],), float(alpha), dtype=torch.float64)
    ridge[0] = 0.0

    def loss(beta: torch.Tensor) -> float:
        z = x @ beta
        softplus = torch.nn.functional.softplus
        return float((pos @ softplus(-z) + neg @ softplus(z)) / total + (ridge @ beta**2) / 2)

    rate = min(max(float(pos.sum()) / total, 1e-12), 1 - 1e-12)
    beta = torch.zeros(x.shape[1], dtype=torch.float64)
    beta[0] = math.log(rate / (1 - rate))
    current = loss(beta)
    for _ in range(max_steps):
        p = torch.sigmoid(x @ beta)
        gradient = x.T @ ((pos + neg) * p - pos) / total + ridge * beta
        root = x * torch.sqrt((pos + neg) * p * (1 - p) / total)[:, None]
        hessian = root.T @ root + torch.diag(ridge) + 1e-12 * torch.eye(len(beta), dtype=torch.float64)
        step = torch.linalg.solve(hessian, gradient)
        size = 1.0
        while size > 1e-6 and loss(beta - size * step) > current:
            size /= 2
        beta = beta - size * step
        previous, current = current, loss(beta)
        if previous - current < 1e-13 or float(torch.max(torch.abs(size * step))) < 1e-9:
            break
    return float(beta[0]), beta[1:].numpy().copy()


def _log_loss(p: Array, y: npt.NDArray[np.bool_], w: Array) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.sum(w * np.where(y, np.log(p), np.log1p(-p))) / np.sum(w))


def flag_hazards(segments: Segments) -> dict[str, float]:
    """Failures per drive-hour with the flag on and off (the construction of ``failure-prior-v1``)."""
    flag = segments.flag()
    hours = segments.end - segments.start
    last = np.r_[segments.drive[1:] != segments.drive[:-1], True]
    fails_here = last & segments.failed[segments.drive]
    return {
        "any_nonzero": float(fails_here[flag].sum() / max(hours[flag].sum(), 1)),
        "all_zero": float(fails_here[~flag].sum() / max(hours[~flag].sum(), 1)),
    }


def flag_probabilities(
    hazards: Mapping[str, float], flag: npt.NDArray[np.bool_], horizon_days: float
) -> Array:
    """The flag as a probability: ``1 - exp(-hazard * hours)`` with the flag's hazard."""
    hazard = np.where(flag, hazards["any_nonzero"], hazards["all_zero"])
    return 1.0 - np.exp(-hazard * horizon_days * _HOURS_PER_DAY)


def train_model(
    rows: pd.DataFrame,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    horizons_days: Sequence[int] = HORIZONS_DAYS,
    command: str = "",
) -> DiskHealthModel:
    """Fit on the train drives, choose the ridge strength and thresholds on the validation drives.

    Test drives are dropped before anything else, so nothing about them can shape the model.
    """
    started = time.perf_counter()
    segments = build_segments(rows[_row_splits(rows) != "test"], horizons_days)
    split = segments.split()
    train, validation = segments.subset(split == "train"), segments.subset(split == "validation")

    first, inverse = _distinct_inputs(train)
    features = disk_health.feature_matrix(train.current[first], {w: a[first] for w, a in train.past.items()})
    days = np.bincount(inverse, weights=train.days)
    mean = np.average(features, axis=0, weights=days)
    scale = np.sqrt(np.average((features - mean) ** 2, axis=0, weights=days))
    scale[scale == 0] = 1.0
    standard = (features - mean) / scale
    val_first, val_inverse = _distinct_inputs(validation)
    val_features = disk_health.feature_matrix(
        validation.current[val_first], {w: a[val_first] for w, a in validation.past.items()}
    )
    val_standard = (val_features - mean) / scale

    intercepts, coefficients, fits = [], [], {}
    for horizon in horizons_days:
        label = train.fails_within(horizon)
        ok = train.scorable(horizon)
        positive = np.bincount(inverse, train.days * (ok & label), len(first)).astype(float)
        negative = np.bincount(inverse, train.days * (ok & ~label), len(first)).astype(float)
        val_ok = validation.scorable(horizon)
        val_label = validation.fails_within(horizon)[val_ok]
        candidates = []
        for alpha in alphas:
            b0, b = fit_logistic(standard, positive, negative, alpha)
            logit = (val_standard @ b + b0)[val_inverse][val_ok]
            p = 1.0 / (1.0 + np.exp(-logit))
            candidates.append((_log_loss(p, val_label, validation.days[val_ok]), alpha, b0, b))
        best = min(candidates, key=lambda c: c[0])
        intercepts.append(best[2])
        coefficients.append(tuple(float(x) for x in best[3]))
        fits[f"{horizon:g}"] = {
            "alpha": best[1],
            "validation_log_loss": {f"{c[1]:g}": round(c[0], 7) for c in candidates},
            "train_base_rate": float(np.sum(train.days * (label & ok)) / np.sum(train.days * ok)),
        }
    model = DiskHealthModel(
        horizons_days=tuple(float(h) for h in horizons_days),
        intercepts=tuple(intercepts),
        coefficients=tuple(coefficients),
        feature_mean=tuple(float(x) for x in mean),
        feature_scale=tuple(float(x) for x in scale),
    )
    operating_points = choose_operating_points(model, validation)
    details = {
        "data": "Backblaze drive stats 2013-04..2016-09, start-stop format (R dynamichazard data/hds.rda)",
        "split": "sha256(serial) % 10: 0-2 test, 3-4 validation, 5-9 train",
        "counts": {name: _counts(s) for name, s in (("train", train), ("validation", validation))},
        "fits": fits,
        "flag_hazard_per_hour": flag_hazards(train),
        "distinct_training_rows": len(first),
        "training_seconds": round(time.perf_counter() - started, 1),
        "command": command,
    }
    return replace(model, operating_points=operating_points, details=details)


def _counts(segments: Segments) -> dict[str, float]:
    drives = np.unique(segments.drive)
    return {
        "drives": len(drives),
        "failures": int(segments.failed[drives].sum()),
        "drive_days": round(float(segments.days.sum()), 1),
        "segments": len(segments.drive),
    }


# --------------------------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True)
class AlarmScore:
    """An alarm rule (probability >= threshold) at one horizon, over the scorable drive-days of some drives.

    ``precision``: share of alarmed drive-days that lie within the horizon before a failure; ``base_rate``:
    the same share over all drive-days (a random alarm's precision). ``recall``: share of failed drives
    alarmed at some moment within the horizon before failing. ``lead_days_median``: over those, the days
    from the start of the alarm (the run of alarmed time that was on inside the horizon first) to the failure.
    """

    rule: str
    horizon_days: float
    threshold: float
    drive_days: float
    base_rate: float
    alarm_share: float
    precision: float
    recall: float
    caught: int
    failures: int
    lead_days_median: float

    @property
    def lift(self) -> float:
        return self.precision / self.base_rate if self.base_rate > 0 else math.nan

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total > 0 else 0.0


def alarm_score(segments: Segments, p: Array, horizon_days: float, threshold: float, rule: str) -> AlarmScore:
    """Score ``p >= threshold`` as an alarm (see :class:`AlarmScore`)."""
    y = segments.fails_within(horizon_days)
    ok = segments.scorable(horizon_days)
    w = segments.days
    alarm = p >= threshold
    alarmed = float(np.sum(w[ok & alarm]))
    hit = y & alarm
    caught, first = np.unique(segments.drive[hit], return_index=True)
    first = np.flatnonzero(hit)[first]
    new_run = np.r_[True, (segments.drive[1:] != segments.drive[:-1]) | (alarm[1:] != alarm[:-1])]
    run_start = segments.start[new_run][np.cumsum(new_run)[first] - 1]
    lead = (segments.record_end[caught] - run_start) / _HOURS_PER_DAY
    failures = len(segments.failed_drives())
    total = float(np.sum(w[ok]))
    return AlarmScore(
        rule=rule,
        horizon_days=float(horizon_days),
        threshold=float(threshold),
        drive_days=total,
        base_rate=float(np.sum(w[ok & y]) / total) if total else math.nan,
        alarm_share=alarmed / total if total else math.nan,
        precision=float(np.sum(w[ok & hit]) / alarmed) if alarmed else math.nan,
        recall=len(caught) / failures if failures else math.nan,
        caught=len(caught),
        failures=failures,
        lead_days_median=float(np.median(lead)) if len(lead) else math.nan,
    )


def caught_drives(
    segments: Segments, p: Array, horizon_days: float, threshold: float
) -> npt.NDArray[np.int64]:
    """Failed drives alarmed (``p >= threshold``) at some moment within ``horizon_days`` before failing."""
    return np.unique(segments.drive[segments.fails_within(horizon_days) & (p >= threshold)])


def max_f1_threshold(segments: Segments, p: Array, horizon_days: float) -> float:
    """The threshold with the best F1 of drive-day precision and failed-drive recall.

    Every distinct probability is a candidate: recall at each counts the failed drives whose highest
    probability within the horizon reaches it, precision comes from suffix sums over the sorted values.
    """
    y = segments.fails_within(horizon_days)
    ok = segments.scorable(horizon_days)
    failures = len(segments.failed_drives())
    if failures == 0 or not ok.any():
        return 1.0
    w = segments.days[ok]
    order = np.argsort(p[ok], kind="stable")
    sorted_p = p[ok][order]
    suffix_w = np.r_[np.cumsum(w[order][::-1])[::-1], 0.0]
    suffix_hits = np.r_[np.cumsum(np.where(y[ok], w, 0.0)[order][::-1])[::-1], 0.0]
    best_per_failure = np.sort(pd.Series(p[y]).groupby(segments.drive[y]).max().to_numpy())
    candidates = np.unique(sorted_p)
    k = np.searchsorted(sorted_p, candidates, side="left")
    precision = suffix_hits[k] / suffix_w[k]
    recall = (len(best_per_failure) - np.searchsorted(best_per_failure, candidates, side="left")) / failures
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-300)
    return float(candidates[int(np.argmax(f1))])


def budget_threshold(segments: Segments, p: Array, horizon_days: float, share: float) -> float:
    """The threshold that alarms (at least) ``share`` of the scorable drive-days."""
    ok = segments.scorable(horizon_days)
    order = np.argsort(-p[ok], kind="stable")
    cumulative = np.cumsum(segments.days[ok][order])
    i = int(np.searchsorted(cumulative, share * cumulative[-1]))
    return float(p[ok][order][min(i, len(order) - 1)])


def choose_operating_points(
    model: DiskHealthModel, validation: Segments, budgets: Sequence[float] = SWEEP_BUDGETS
) -> dict[str, dict[str, Any]]:
    """Per horizon, on the validation drives: the best-F1 threshold (the model's default), the threshold
    that alarms as many drive-days as today's flag does (to compare at equal cost), and the thresholds
    that alarm each share of drive-days in ``budgets`` (the trade-off between them)."""
    probabilities = segment_probabilities(model, validation)
    flag = validation.flag().astype(float)
    out: dict[str, dict[str, Any]] = {}
    for i, horizon in enumerate(model.horizons_days):
        p = probabilities[:, i]
        best = max_f1_threshold(validation, p, horizon)
        flag_share = alarm_score(validation, flag, horizon, 0.5, "flag").alarm_share
        budget = budget_threshold(validation, p, horizon, flag_share)
        scores = {
            "max-F1": alarm_score(validation, p, horizon, best, "max-F1"),
            "flag budget": alarm_score(validation, p, horizon, budget, "flag budget"),
        }
        out[f"{horizon:g}"] = {
            "threshold": best,
            "rule": "best F1 (drive-day precision, failed-drive recall) on the validation drives",
            "flag_budget_threshold": budget,
            "budget_thresholds": {f"{b:g}": budget_threshold(validation, p, horizon, b) for b in budgets},
            "validation": {name: _rounded(asdict(s)) for name, s in scores.items()},
        }
    return out


def brier_score(p: Array, y: npt.NDArray[np.bool_], w: Array) -> float:
    """Mean squared error of probability against outcome, weighted by drive-days.

    >>> brier_score(np.array([0.5, 0.0]), np.array([True, False]), np.array([1.0, 3.0]))
    0.0625
    """
    return float(np.sum(w * (p - y) ** 2) / np.sum(w))


def calibration_table(
    p: Array,
    y: npt.NDArray[np.bool_],
    w: Array,
    drive: npt.NDArray[np.int64],
    edges: Sequence[float] = CALIBRATION_EDGES,
) -> list[dict[str, float]]:
    """Predicted vs observed frequency per bin of predicted probability (empty bins left out), with the
    number of distinct drives in the bin and of failed drives among them that fail within the horizon.

    >>> rows = calibration_table(
    ...     np.array([0.01, 0.02, 0.5]), np.array([False, True, True]), np.ones(3), np.array([0, 1, 1]))
    >>> [(r["low"], r["drive_days"], r["observed"], r["drives"], r["failures"]) for r in rows]
    [(0.01, 2.0, 0.5, 2, 1), (0.3, 1.0, 1.0, 1, 1)]
    """
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        m = bins == b
        if not m.any():
            continue
        days = float(np.sum(w[m]))
        rows.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "drive_days": days,
                "drives": len(np.unique(drive[m])),
                "failures": len(np.unique(drive[m & y])),
                "predicted": float(np.sum(w[m] * p[m]) / days),
                "observed": float(np.sum(w[m] * y[m]) / days),
            }
        )
    return rows


def evaluate_model(model: DiskHealthModel, rows: pd.DataFrame) -> dict[str, Any]:
    """Every figure of the evaluation, on the test drives only."""
    test = build_segments(rows[_row_splits(rows) == "test"], model.horizons_days)
    probabilities = segment_probabilities(model, test)
    flag = test.flag()
    hazards = model.details["flag_hazard_per_hour"]
    horizons: dict[str, Any] = {}
    for i, horizon in enumerate(model.horizons_days):
        key = f"{horizon:g}"
        p = probabilities[:, i]
        points = model.operating_points[key]
        scores = [
            alarm_score(test, p, horizon, points["threshold"], "model, best F1 on validation"),
            alarm_score(test, p, horizon, points["flag_budget_threshold"], "model, flag's alarm budget"),
            alarm_score(test, flag.astype(float), horizon, 0.5, FLAG_RULE),
        ]
        sweep = [
            alarm_score(test, p, horizon, t, f"model, {report.pct(float(b))} budget")
            for b, t in points["budget_thresholds"].items()
        ]
        # Failures the flag never announced within the horizon: what, if anything, does the model catch?
        silent = np.setdiff1d(test.failed_drives(), caught_drives(test, flag.astype(float), horizon, 0.5))
        silent_caught = {
            name: len(np.intersect1d(silent, caught_drives(test, p, horizon, points[field])))
            for name, field in (
                ("model, best F1", "threshold"),
                ("model, flag budget", "flag_budget_threshold"),
            )
        }
        ok = test.scorable(horizon)
        y, w, drive = test.fails_within(horizon)[ok], test.days[ok], test.drive[ok]
        flag_p = flag_probabilities(hazards, flag, horizon)[ok]
        climate = np.full(len(w), model.details["fits"][key]["train_base_rate"])
        # Two bins for the flag, one per state: the edge sits between its two probabilities.
        flag_edges = (0.0, float(np.sqrt(flag_p.min() * flag_p.max())), 1.0)
        horizons[key] = {
            "scores": [_scored(s) for s in scores],
            "sweep": [_scored(s) for s in sweep],
            "silent_failures": {"failures": len(silent), "caught": silent_caught},
            "brier": {
                "model": brier_score(p[ok], y, w),
                "flag hazard": brier_score(flag_p, y, w),
                "base rate": brier_score(climate, y, w),
            },
            "calibration": {
                "model": calibration_table(p[ok], y, w, drive),
                "flag hazard": calibration_table(flag_p, y, w, drive, edges=flag_edges),
            },
        }
    return {"test": _counts(test), "horizons": horizons}


def _scored(score: AlarmScore) -> dict[str, Any]:
    return _rounded(asdict(score) | {"lift": score.lift})


def _rounded(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (float(f"{v:.6g}") if isinstance(v, float) else v) for k, v in values.items()}


# --------------------------------------------------------------------------------------------------------
# Commands


def train_disk_health(
    datasets: Annotated[
        pathlib.Path | None, typer.Option(help="Folder holding backblaze_2013_2016/.")
    ] = None,
    out: Annotated[pathlib.Path, typer.Option(help="Artifact folder (model.json).")] = DEFAULT_OUT,
    alpha: Annotated[
        list[float] | None, typer.Option(help="Ridge strengths to try (repeat); chosen on validation.")
    ] = None,
) -> None:
    """Fit the drive-failure model on Backblaze's train drives; thresholds from the validation drives."""
    console = Console()
    alphas = tuple(alpha) if alpha else DEFAULT_ALPHAS
    command = "foresight train-disk-health " + " ".join(
        [f"--out {shlex.quote(str(out))}", *(f"--alpha {a:g}" for a in alphas)]
    )
    rows = load_drives(datasets or default_datasets_dir())
    model = train_model(rows, alphas=alphas, command=command)
    path = model.save(out)
    table = Table(title=f"disk-health: validation drives ({path}, {path.stat().st_size / 1024:.0f} KB)")
    for column in ("horizon", "alpha", "threshold", "precision", "recall", "alarmed"):
        table.add_column(column)
    for key, point in model.operating_points.items():
        v = point["validation"]["max-F1"]
        table.add_row(
            f"{key} d",
            f"{model.details['fits'][key]['alpha']:g}",
            f"{point['threshold']:.3g}",
            report.pct(v["precision"]),
            report.pct(v["recall"]),
            report.pct(v["alarm_share"], 3),
        )
    console.print(table)
    console.print(f"trained in {model.details['training_seconds']:.0f} s")


def evaluate_disk_health(
    datasets: Annotated[
        pathlib.Path | None, typer.Option(help="Folder holding backblaze_2013_2016/.")
    ] = None,
    model_dir: Annotated[
        pathlib.Path, typer.Option("--model", help="Artifact folder to score; gets MODEL_CARD.md.")
    ] = DEFAULT_OUT,
    markdown: Annotated[
        pathlib.Path | None, typer.Option(help="Write the report here (docs).")
    ] = DEFAULT_MARKDOWN,
    json_out: Annotated[
        pathlib.Path | None,
        typer.Option("--json", help="All figures as JSON (default: <model>/evaluation.json)."),
    ] = None,
) -> None:
    """Score the drive-failure model on the held-out test drives against the SMART precursor flag."""
    console = Console()
    model = DiskHealthModel.load(model_dir)
    evaluation = evaluate_model(model, load_drives(datasets or default_datasets_dir()))
    target = json_out or model_dir / "evaluation.json"
    target.write_text(json.dumps(evaluation, indent=1) + "\n")
    (model_dir / "MODEL_CARD.md").write_text(report.render_card(model, evaluation, model_dir))
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(report.render_markdown(model, evaluation))
    table = Table(title=f"disk-health: {evaluation['test']['drives']:,} test drives")
    for column in ("horizon", "rule", "precision", "base rate", "recall", "median lead (d)"):
        table.add_column(column)
    for key, h in evaluation["horizons"].items():
        for s in h["scores"]:
            table.add_row(
                f"{key} d",
                s["rule"],
                report.pct(s["precision"], 2),
                report.pct(s["base_rate"], 3),
                report.pct(s["recall"]),
                report.num(s["lead_days_median"], ".0f"),
            )
    console.print(table)
