"""A memory-leak ramp test: does the forecast cause warn before a leak fills the node, and stay quiet
when memory merely steps up?

Synthetic by construction: no public trace labels memory leaks. Node memory use (%) is a level with AR(1)
noise; a *leak* adds a linear ramp from an onset, reaching the threshold after a given time; the controls
are a *level shift* that stays well below the threshold and *no change*. Each rule is checked every minute
with the operator's geometry at the policy's default horizon (15 minutes: 30 steps of 30 s, two hours of
history, Holt-Winters paths) and with the operator's hysteresis, against Prometheus'
``predict_linear(x[w], 15m) > threshold`` as alerting rules write it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from foresight import forecasting
from foresight.simulation.failover.crossings import SignalGeometry, calibrate, predict_linear
from foresight.simulation.failover.taint import hysteresis, runs_of

__all__ = ["SCENARIOS", "LeakResult", "LeakScenario", "leak_series", "leak_test"]

THRESHOLD_PERCENT = 90.0
_ONSET_HOURS = 8.0  # enough history before the onset for a 6-hour predict_linear window
_CONTROL_HOURS = 6.0


@dataclass(frozen=True)
class LeakScenario:
    """``kind``: ``leak`` (reaches the threshold ``hours_to_cross`` after the onset), ``shift`` (steps up by
    15-25 points and stays well below it) or ``flat``; ``noise_percent``: the AR(1) innovations' sd."""

    name: str
    kind: str
    hours_to_cross: float
    noise_percent: float


SCENARIOS: tuple[LeakScenario, ...] = (
    LeakScenario("fast leak (1 h to full)", "leak", 1.0, 0.5),
    LeakScenario("leak (4 h to full)", "leak", 4.0, 0.5),
    LeakScenario("slow leak (12 h to full)", "leak", 12.0, 0.5),
    LeakScenario("noisy leak (4 h, noise sd 2)", "leak", 4.0, 2.0),
    LeakScenario("level shift +15-25 points", "shift", 0.0, 2.0),
    LeakScenario("no change", "flat", 0.0, 2.0),
)


@dataclass(frozen=True)
class LeakResult:
    """One rule on one scenario: leaks warned in time and how early, false alarms per series-day."""

    scenario: str
    rule: str
    series: int
    warned: int
    lead_median_minutes: float
    false_alarms_per_day: float


def leak_series(
    scenario: LeakScenario, rng: np.random.Generator, step_seconds: int
) -> tuple[np.ndarray, int]:
    """One synthetic memory-use series and its onset step."""
    per_hour = 3600 // step_seconds
    onset = int(_ONSET_HOURS * per_hour)
    extra = scenario.hours_to_cross if scenario.kind == "leak" else _CONTROL_HOURS
    total = onset + int(extra * per_hour) + per_hour
    level = rng.uniform(40, 50) if scenario.kind == "shift" else rng.uniform(40, 60)
    shocks = rng.normal(0, scenario.noise_percent, total)
    noise = np.empty(total)
    e = 0.0
    for t in range(total):
        e = 0.8 * e + shocks[t]
        noise[t] = e
    x = level + noise
    if scenario.kind == "leak":
        slope = (THRESHOLD_PERCENT - level) / (scenario.hours_to_cross * per_hour)
        x[onset:] += slope * np.arange(total - onset)
    elif scenario.kind == "shift":
        x[onset:] += rng.uniform(15, 25)
    return x, onset


def leak_test(
    geometry: SignalGeometry,
    calibration: Sequence[tuple[float, float]],
    *,
    alarm_threshold: float = 0.5,
    release_below: float = 0.25,
    series_per_scenario: int = 20,
    step_seconds: int = 30,
    stride: int = 2,
    seed: int = 0,
    scenarios: Sequence[LeakScenario] = SCENARIOS,
) -> list[LeakResult]:
    """Each scenario against the operator's forecast (calibrated and raw) and two ``predict_linear`` rules."""
    rng = np.random.default_rng(seed)
    forecaster = forecasting.get(geometry.model)
    hist, h = geometry.history_steps(step_seconds), geometry.horizon_steps
    per_hour = 3600 // step_seconds
    start = pd.Timestamp("2000-01-03", tz="UTC")
    out = []
    for scenario in scenarios:
        xs, onsets = zip(
            *(leak_series(scenario, rng, step_seconds) for _ in range(series_per_scenario)), strict=True
        )
        origins = [
            np.arange(onset - 2 * per_hour, len(x) - h, stride) for x, onset in zip(xs, onsets, strict=True)
        ]
        batch = [
            forecasting.Series(
                x[t - hist : t], start + pd.Timedelta(seconds=(t - hist) * step_seconds), step_seconds
            )
            for x, o in zip(xs, origins, strict=True)
            for t in o
        ]
        paths, _ = forecaster.forecast(batch, horizon_steps=h, n_samples=geometry.samples, seed=seed)
        share = (paths.max(axis=2) > THRESHOLD_PERCENT).mean(axis=1)
        bounds = np.cumsum([0, *(len(o) for o in origins)])
        calibrated = calibrate(share, calibration)
        rules = {
            f"Foresight: {geometry.model}, calibrated p >= {alarm_threshold:g}": [
                hysteresis(calibrated[a:b], alarm_threshold, release_below) for a, b in pairwise(bounds)
            ],
            f"{geometry.model}, share of paths >= {alarm_threshold:g}": [
                hysteresis(share[a:b], alarm_threshold, release_below) for a, b in pairwise(bounds)
            ],
        }
        for hours in (1, 6):
            rules[f"predict_linear(x[{hours}h], 15m) > {THRESHOLD_PERCENT:g}"] = [
                predict_linear(x[None, :], np.zeros(len(o), dtype=int), o, hours * per_hour, h)
                > THRESHOLD_PERCENT
                for x, o in zip(xs, origins, strict=True)
            ]
        for rule, alarms in rules.items():
            out.append(_score(scenario, rule, xs, onsets, origins, alarms, step_seconds, stride))
    return out


def _score(
    scenario: LeakScenario,
    rule: str,
    xs: Sequence[np.ndarray],
    onsets: Sequence[int],
    origins: Sequence[np.ndarray],
    alarms: Sequence[np.ndarray],
    step_seconds: int,
    stride: int,
) -> LeakResult:
    leads: list[float] = []
    false_alarms = 0
    quiet_steps = 0
    for x, onset, o, alarm in zip(xs, onsets, origins, alarms, strict=True):
        crossed = np.flatnonzero(x[onset:] > THRESHOLD_PERCENT)
        # A leak is scored up to its crossing; its false alarms are counted before the onset only.
        quiet = o < onset if scenario.kind == "leak" else np.ones(len(o), dtype=bool)
        false_alarms += len(runs_of(alarm[quiet]))
        quiet_steps += int(quiet.sum()) * stride
        if scenario.kind != "leak" or not crossed.size:
            continue
        c = onset + int(crossed[0])
        k = int(np.searchsorted(o, c, side="right") - 1)
        if alarm[k]:
            first = k
            while first > 0 and alarm[first - 1]:
                first -= 1
            leads.append((c - o[first]) * step_seconds / 60)
    days = quiet_steps * step_seconds / 86400
    return LeakResult(
        scenario=scenario.name,
        rule=rule,
        series=len(xs),
        warned=len(leads) if scenario.kind == "leak" else 0,
        lead_median_minutes=float(np.median(leads)) if leads else math.nan,
        false_alarms_per_day=false_alarms / days if days > 0 else math.nan,
    )
