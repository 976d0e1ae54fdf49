"""Does the forecast cause's p mean what it says? Crossing probabilities checked on real per-VM series.

A ``signals[]`` cause reports p = the share of sampled future paths that cross the signal's threshold within
the horizon. Here the operator's signal forecaster, with the operator's geometry (:class:`SignalGeometry`:
steps across the horizon, horizons of history, paths; the command passes the controller's own values),
forecasts real per-VM CPU series of the Azure Public Dataset V1 (5-minute readings, about four weeks per VM)
from many origins. The label is whether the series really crossed the threshold within the horizon: the
crossing is observed, not invented. Origins where the last reading is already past the threshold are left
out of the scores (nothing left to predict there).

VMs are split by a hash of their id: the calibration (isotonic regression, :func:`fit_calibration`) is fitted
on the training VMs and scored on the held-out ones and on a second population (the dataset's VMs selected
as periodic) that it never saw. The reference is Prometheus' ``predict_linear(x[w], horizon) > threshold``,
what alerting rules use today: a least-squares line through the last ``w`` of readings, extrapolated.
"""

from __future__ import annotations

import hashlib
import math
import pathlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from foresight import forecasting
from foresight.planning.failover.risk import calibrated_crossing
from foresight.simulation.failover.taint import hysteresis, runs_of

__all__ = [
    "AZURE_VM_FILES",
    "RELIABILITY_EDGES",
    "THRESHOLDS",
    "AlarmScore",
    "CrossingSample",
    "SignalGeometry",
    "brier_score",
    "calibrate",
    "calibration_error",
    "crossing_pairs",
    "crossing_report",
    "fit_calibration",
    "forecast_crossings",
    "held_out_vm",
    "load_vm_series",
    "predict_linear",
    "reliability",
    "score_alarms",
]

AZURE_VM_FILES = {
    "microsoft": "azure_v1_vms/microsoft_avg_100_cpu_pct_5min.csv.gz",
    "periodic": "azure_v1_vms/periodic_avg_78_cpu_pct_5min.csv.gz",
}
# CPU % levels an alert might watch; each origin is scored against every level it is still below.
THRESHOLDS: tuple[float, ...] = (30.0, 50.0, 70.0, 90.0)
# Bins of the reliability diagram: p = 0 alone (most origins), then finer where decisions are made.
RELIABILITY_EDGES: tuple[float, ...] = (0.0, 0.005, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)
_TEST_SHARE = 0.3


@dataclass(frozen=True)
class SignalGeometry:
    """How the operator forecasts a node signal: model, steps across the horizon, history, paths."""

    model: str = "holt-winters"
    horizon_steps: int = 30
    history_horizons: int = 8
    min_history_seconds: float = 3600.0
    samples: int = 100

    def history_steps(self, step_seconds: int) -> int:
        """Readings before each origin: some horizons of them, and at least the minimum history."""
        return max(
            self.horizon_steps * self.history_horizons, math.ceil(self.min_history_seconds / step_seconds)
        )


def load_vm_series(load_dir: pathlib.Path, name: str) -> tuple[list[str], np.ndarray, int]:
    """VM ids, CPU % readings ``[vm, step]`` and the step in seconds of one Azure V1 per-VM file."""
    frame = pd.read_csv(load_dir / AZURE_VM_FILES[name]).drop(columns="step_5min")
    return [str(c).split()[0] for c in frame.columns], frame.to_numpy(dtype=float).T, 300


def held_out_vm(vm_id: str) -> bool:
    """A stable hash split (30 % held out), independent of file order."""
    return int(hashlib.sha256(vm_id.encode()).hexdigest()[:8], 16) % 100 < _TEST_SHARE * 100


@dataclass(frozen=True)
class CrossingSample:
    """Forecasts from many origins: per origin the VM, the origin step, the last reading before it, the
    highest reading within the horizon after it, and each sampled path's highest value (``[origin, path]``).
    """

    vm: np.ndarray
    origin: np.ndarray
    last: np.ndarray
    future_max: np.ndarray
    path_max: np.ndarray
    step_seconds: int


def forecast_crossings(
    values: np.ndarray,
    geometry: SignalGeometry,
    stride: int,
    step_seconds: int,
    vms: Sequence[int] | None = None,
    chunk: int = 4096,
) -> CrossingSample:
    """Forecast every ``stride``-th origin of each VM (rows of ``values``) with the operator's geometry."""
    forecaster = forecasting.get(geometry.model)
    rows = range(values.shape[0]) if vms is None else vms
    hist, h = geometry.history_steps(step_seconds), geometry.horizon_steps
    pairs = [(v, t) for v in rows for t in range(hist, values.shape[1] - h + 1, stride)]
    vm = np.array([v for v, _ in pairs], dtype=int)
    origin = np.array([t for _, t in pairs], dtype=int)
    start = pd.Timestamp("2000-01-03", tz="UTC")  # the dataset has relative time only
    path_max = np.empty((len(pairs), geometry.samples), dtype=np.float32)
    for lo in range(0, len(pairs), chunk):
        batch = [
            forecasting.Series(
                values[v, t - hist : t], start + pd.Timedelta(seconds=(t - hist) * step_seconds), step_seconds
            )
            for v, t in pairs[lo : lo + chunk]
        ]
        paths, _ = forecaster.forecast(batch, horizon_steps=h, n_samples=geometry.samples, seed=0)
        path_max[lo : lo + len(batch)] = paths.max(axis=2)
    window = np.lib.stride_tricks.sliding_window_view(values, h, axis=1)  # [vm, t, h]: readings t .. t+h-1
    return CrossingSample(
        vm=vm,
        origin=origin,
        last=values[vm, origin - 1],
        future_max=window[vm, origin].max(axis=1),
        path_max=path_max,
        step_seconds=step_seconds,
    )


def crossing_pairs(
    sample: CrossingSample, thresholds: Sequence[float] = THRESHOLDS, keep: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(share of paths crossing, crossed)`` for every origin still below each threshold.

    ``keep``: a mask over the sample's origins (e.g. training VMs only).
    """
    shares, labels = [], []
    for level in thresholds:
        below = sample.last < level
        if keep is not None:
            below &= keep
        shares.append((sample.path_max[below] > level).mean(axis=1))
        labels.append(sample.future_max[below] > level)
    return np.concatenate(shares).astype(float), np.concatenate(labels)


def fit_calibration(share: np.ndarray, crossed: np.ndarray) -> tuple[tuple[float, float], ...]:
    """Isotonic regression of the observed crossing on the share of paths, as interpolation knots.

    The fit is the mean label per block of equal shares, pooled until it increases (scipy's PAVA); the knots
    keep one point per distinct share, dropping those where the fit does not change, so the map is the same
    with far fewer points. The result feeds :func:`foresight.planning.failover.calibrated_crossing`.
    """
    order = np.argsort(share, kind="stable")
    x = share[order]
    fitted = isotonic_regression(crossed[order].astype(float)).x
    xs, first = np.unique(x, return_index=True)
    # Block means of a non-decreasing fit, up to rounding: made exactly non-decreasing again.
    ys = np.maximum.accumulate(np.add.reduceat(fitted, first) / np.diff(np.append(first, len(x))))
    keep = np.ones(len(xs), dtype=bool)
    keep[1:-1] = (np.diff(ys)[:-1] != 0) | (np.diff(ys)[1:] != 0)
    return tuple((float(a), float(b)) for a, b in zip(xs[keep], ys[keep], strict=True))


def reliability(
    p: np.ndarray, crossed: np.ndarray, edges: Sequence[float] = RELIABILITY_EDGES
) -> list[dict[str, float]]:
    """Reliability diagram as a table: per bin of predicted p, the count, mean p and observed frequency."""
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        m = idx == b
        if m.any():
            rows.append(
                {
                    "lo": float(edges[b]),
                    "hi": float(edges[b + 1]),
                    "count": int(m.sum()),
                    "mean_p": float(p[m].mean()),
                    "observed": float(crossed[m].mean()),
                }
            )
    return rows


def calibration_error(
    p: np.ndarray, crossed: np.ndarray, edges: Sequence[float] = RELIABILITY_EDGES
) -> float:
    """Expected calibration error: the count-weighted gap between mean p and observed frequency per bin."""
    rows = reliability(p, crossed, edges)
    return sum(r["count"] * abs(r["mean_p"] - r["observed"]) for r in rows) / max(len(p), 1)


def brier_score(p: np.ndarray, crossed: np.ndarray) -> float:
    """Mean squared error of the probability (0 is perfect; the base rate's is ``rate * (1 - rate)``).

    >>> brier_score(np.array([1.0, 0.0, 0.5]), np.array([True, False, True]))
    0.08333333333333333
    """
    return float(np.mean((p - crossed) ** 2)) if len(p) else math.nan


def predict_linear(
    values: np.ndarray, vm: np.ndarray, origin: np.ndarray, window: int, ahead: int
) -> np.ndarray:
    """Prometheus' ``predict_linear(x[window], ahead)`` at each origin: the least-squares line through the
    ``window`` readings before the origin, evaluated ``ahead`` steps after the last of them.

    >>> predict_linear(np.array([[0.0, 1.0, 2.0, 3.0]]), np.array([0]), np.array([4]), 3, 2).tolist()
    [5.0]
    """
    k = np.arange(window) - (window - 1) / 2
    cumsum = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], axis=1)
    weighted = np.concatenate(
        [np.zeros((values.shape[0], 1)), np.cumsum(values * np.arange(values.shape[1]), axis=1)], axis=1
    )
    lo = origin - window
    total = cumsum[vm, origin] - cumsum[vm, lo]
    mean = total / window
    # sum((i - centre) * y_i) over the window, with i counted from the window's first reading.
    moment = weighted[vm, origin] - weighted[vm, lo] - lo * total - (window - 1) / 2 * total
    slope = moment / float((k * k).sum())
    return mean + slope * ((window - 1) / 2 + ahead)


@dataclass(frozen=True)
class AlarmScore:
    """An alarm rule on held-out series: how often it is on, how often rightly, and how early.

    ``alarm_share``: origins (below the threshold) with the alarm on; ``precision``: of those, the share
    followed by a crossing within the horizon. ``warned``: crossings (a reading past the threshold after a
    stretch below it) with the alarm on at the last origin before them, of ``crossings``; ``lead`` runs
    from the start of that alarm, or from the end of the previous excursion if the alarm held through it,
    to the crossing. ``brier``: of the rule's probability (0 or 1 for a binary rule).
    """

    rule: str
    alarm_share: float
    precision: float
    crossings: int
    warned: int
    lead_median_minutes: float
    brier: float

    @property
    def recall(self) -> float:
        return self.warned / self.crossings if self.crossings else math.nan


def score_alarms(
    rule: str,
    values: np.ndarray,
    sample: CrossingSample,
    probability: np.ndarray,
    *,
    level: float,
    alarm_threshold: float,
    release_below: float | None,
    keep: np.ndarray,
    min_quiet_steps: int = 0,
) -> AlarmScore:
    """Score an alarm ``probability >= alarm_threshold`` per origin against one crossing ``level``.

    ``probability`` is per origin of ``sample`` (for this level). With ``release_below`` the alarm keeps
    the operator's hysteresis along each VM's origins; without, it is on exactly when the rule holds, as a
    Prometheus alert expression. ``keep``: the origins to score (held-out VMs). ``min_quiet_steps``: count
    only crossings after at least this many readings below the level (a crossing seconds after the last one
    leaves nothing to warn of).
    """
    step_minutes = sample.step_seconds / 60
    on = np.zeros(len(probability), dtype=bool)
    warned = crossings = 0
    lead_list: list[float] = []
    for v in np.unique(sample.vm[keep]):
        rows = np.flatnonzero((sample.vm == v) & keep)
        p = probability[rows]
        state = (
            hysteresis(p, alarm_threshold, release_below)
            if release_below is not None
            else p >= alarm_threshold
        )
        on[rows] = state
        origins = sample.origin[rows]
        series = values[v]
        above = series > level
        ups = np.flatnonzero(~above[:-1] & above[1:]) + 1
        stride = int(origins[1] - origins[0]) if len(origins) > 1 else 1
        ups = ups[(ups >= origins[0]) & (ups < origins[-1] + stride)]
        run_start = np.full(len(rows), -1)
        for a, b in runs_of(state):
            run_start[a:b] = a
        # Where each stretch below the level began (after the previous excursion above it).
        below_since = np.maximum.accumulate(np.where(above, np.arange(len(series)) + 1, 0))
        for c in ups[ups - below_since[ups - 1] >= min_quiet_steps]:
            k = int(np.searchsorted(origins, c, side="right") - 1)
            crossings += 1
            if state[k]:
                warned += 1
                lead_list.append((c - max(origins[run_start[k]], below_since[c - 1])) * step_minutes)
    scored = keep & (sample.last < level)
    labels = sample.future_max > level
    shown = on & scored
    return AlarmScore(
        rule=rule,
        alarm_share=float(shown.sum() / max(scored.sum(), 1)),
        precision=float(labels[shown].mean()) if shown.any() else math.nan,
        crossings=crossings,
        warned=warned,
        lead_median_minutes=float(np.median(lead_list)) if lead_list else math.nan,
        brier=brier_score(probability[scored], labels[scored]),
    )


def calibrate(share: np.ndarray, knots: Sequence[tuple[float, float]]) -> np.ndarray:
    """:func:`foresight.planning.failover.calibrated_crossing` over an array (the operator's own map)."""
    return np.array([calibrated_crossing(float(s), knots) for s in share]) if len(share) else share


def crossing_report(
    load_dir: pathlib.Path,
    geometry: SignalGeometry,
    *,
    alarm_threshold: float,
    release_below: float,
    stride: int,
    transfer_stride: int,
) -> tuple[dict[str, Any], tuple[tuple[float, float], ...]]:
    """The whole check: forecasts on the Azure VMs, the calibration fitted on the training VMs, its scores
    on the held-out VMs and on the periodic population, and the alarm rules on the held-out VMs.

    Returns the figures (JSON-ready) and the calibration knots.
    """
    ids, values, step = load_vm_series(load_dir, "microsoft")
    held = np.array([held_out_vm(i) for i in ids])
    sample = forecast_crossings(values, geometry, stride, step)
    train = ~held[sample.vm]
    calibration = fit_calibration(*crossing_pairs(sample, keep=train))
    populations: dict[str, Any] = {}
    share, crossed = crossing_pairs(sample, keep=~train)
    populations["held-out VMs"] = _calibration_scores(share, crossed, calibration, int(held.sum()))
    share, crossed = crossing_pairs(sample, keep=train)
    populations["training VMs (fit)"] = _calibration_scores(share, crossed, calibration, int((~held).sum()))
    p_ids, p_values, p_step = load_vm_series(load_dir, "periodic")
    other = forecast_crossings(p_values, geometry, transfer_stride, p_step)
    share, crossed = crossing_pairs(other)
    populations["periodic VMs (other population)"] = _calibration_scores(
        share, crossed, calibration, len(p_ids)
    )

    alarms = []
    for level in THRESHOLDS:
        share_l = (sample.path_max > level).mean(axis=1).astype(float)
        rules: list[tuple[str, np.ndarray, float | None]] = [
            (
                f"Foresight: calibrated p >= {alarm_threshold:g}",
                calibrate(share_l, calibration),
                release_below,
            ),
            (f"share of paths >= {alarm_threshold:g} (uncalibrated)", share_l, release_below),
        ]
        for hours in (1, 6):
            window = hours * 3600 // step
            linear = predict_linear(values, sample.vm, sample.origin, window, geometry.horizon_steps)
            rules.append(
                (f"predict_linear(x[{hours}h], horizon) > {level:g}", (linear > level).astype(float), None)
            )
        for rule, p, release in rules:
            score = score_alarms(
                rule,
                values,
                sample,
                p,
                level=level,
                alarm_threshold=alarm_threshold,
                release_below=release,
                keep=~train,
                min_quiet_steps=geometry.horizon_steps,
            )
            alarms.append({"level": level, **asdict(score), "recall": score.recall})
    body = {
        "geometry": asdict(geometry),
        "step_seconds": step,
        "horizon_minutes": geometry.horizon_steps * step / 60,
        "history_hours": geometry.history_steps(step) * step / 3600,
        "thresholds": list(THRESHOLDS),
        "stride_steps": stride,
        "transfer_stride_steps": transfer_stride,
        "populations": populations,
        "alarms": alarms,
        "calibration_knots": len(calibration),
    }
    return body, calibration


def _calibration_scores(
    share: np.ndarray, crossed: np.ndarray, calibration: tuple[tuple[float, float], ...], vms: int
) -> dict[str, Any]:
    calibrated = calibrate(share, calibration)
    rate = float(crossed.mean()) if len(crossed) else math.nan
    return {
        "vms": vms,
        "pairs": len(share),
        "base_rate": rate,
        "brier_base_rate": rate * (1 - rate),
        "brier_raw": brier_score(share, crossed),
        "brier_calibrated": brier_score(calibrated, crossed),
        "ece_raw": calibration_error(share, crossed),
        "ece_calibrated": calibration_error(calibrated, crossed),
        "reliability_raw": reliability(share, crossed),
        "reliability_calibrated": reliability(calibrated, crossed),
    }
