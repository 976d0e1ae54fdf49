"""One planning step: a forecast and the present in, the floor to apply and the state to carry out.

The operator's reconcile and the benchmark's simulator both call :func:`step` and nothing else of the
planner, so what the benchmark measures is, by construction, what the operator runs. A step scores past
lead windows on the readings the forecast was made from (:mod:`.calibration`, when switched on), decides
the floor (:func:`.decide`: lead window, risk, scale-up at once, slow scale-down, bounds), remembers this
decision's predicted peak for later scoring and its desired replicas for the scale-down stabilization.

Time follows Prometheus: a reading is stamped at the end of the window it averages, and a forecast's first
step is one step after the last observation. Pure: the caller passes ``now`` and gets the new state back.

>>> from datetime import UTC, datetime, timedelta
>>> now = datetime(2024, 1, 1, 14, 0, tzinfo=UTC)
>>> forecast = SampledForecast(
...     paths=np.tile(1000.0 + 200 * np.arange(10), (100, 1)), step_seconds=60, last_observed=now,
...     history=np.array([900.0, 1000.0]))
>>> policy = PlanningPolicy(capacity_per_replica=120, max_replicas=30)
>>> decision, state = step(policy, forecast, Present(current_floor=4), PlannerState(), now)
>>> decision.floor, state.desired_history == ((now, 14),)
(14, True)
>>> later = now + timedelta(minutes=1)
>>> quiet = dataclasses.replace(forecast, paths=np.full((100, 10), 100.0), last_observed=later)
>>> decision, state = step(policy, quiet, Present(current_floor=14), state, later)
>>> decision.floor, [replicas for _, replicas in state.desired_history]  # 1 wanted, 14 held for 5 minutes
(14, [14, 1])
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta

import numpy as np

from foresight.planning._scaling import CurrentState, PlanningPolicy, ScalingDecision, decide, record_desired
from foresight.planning.calibration import PeakCalibration

__all__ = ["PlannerState", "Present", "SampledForecast", "step"]


@dataclasses.dataclass(frozen=True, eq=False)
class SampledForecast:
    """Sample paths ``paths[n_samples, horizon_steps]`` and the readings they were made from.

    ``history[-1]`` is the reading stamped ``last_observed`` (the end of the window it averages), the ones
    before it a step apart. Column ``k`` of ``paths`` is the load at ``last_observed + (k + 1) * step``.
    """

    paths: np.ndarray
    step_seconds: int
    last_observed: datetime
    history: np.ndarray

    @property
    def samples_start(self) -> datetime:
        """When column 0 of the paths is: one step after the last observation."""
        return self.last_observed + timedelta(seconds=self.step_seconds)

    @property
    def history_start(self) -> float:
        """Unix time of ``history[0]``."""
        return self.last_observed.timestamp() - (len(self.history) - 1) * float(self.step_seconds)

    @property
    def observed_load(self) -> float | None:
        """The newest finite reading.

        >>> SampledForecast(np.empty((0, 1)), 60, datetime(2024, 1, 1), np.array([3.0, np.nan])).observed_load
        3.0
        """
        values = self.history
        if len(values) and math.isfinite(values[-1]):  # the usual case, without a scan of the history
            return float(values[-1])
        finite = np.flatnonzero(np.isfinite(values))
        return float(values[finite[-1]]) if finite.size else None


@dataclasses.dataclass(frozen=True)
class Present:
    """The HPA as it is now: the floor it has, its own bounds (as its user set them) and ready pods."""

    current_floor: int
    hpa_min_replicas: int = 1
    hpa_max_replicas: int | None = None
    ready_replicas: int = 0


@dataclasses.dataclass(frozen=True)
class PlannerState:
    """What one step leaves for the next: desired replicas within the stabilization window, newest last
    (see :func:`.record_desired`), and the calibration record (empty while calibration is off)."""

    desired_history: tuple[tuple[datetime, int], ...] = ()
    calibration: PeakCalibration = dataclasses.field(default_factory=PeakCalibration)


def step(
    policy: PlanningPolicy, forecast: SampledForecast, present: Present, state: PlannerState, now: datetime
) -> tuple[ScalingDecision, PlannerState]:
    """Decide the floor for ``now`` and return it with the state the next step needs."""
    calibration = _scored(state.calibration, forecast) if policy.calibrates else None
    current = CurrentState(
        current_floor=present.current_floor,
        ready_replicas=present.ready_replicas,
        observed_load=forecast.observed_load,
        hpa_min_replicas=present.hpa_min_replicas,
        hpa_max_replicas=present.hpa_max_replicas,
        desired_history=state.desired_history,
    )
    decision = decide(
        policy,
        forecast.paths,
        forecast.step_seconds,
        current,
        now,
        samples_start=forecast.samples_start,
        calibration=calibration,
    )
    if calibration is not None and decision.raw_peak_at_quantile is not None:
        calibration = calibration.expect(
            decision.window_start, decision.window_end, decision.raw_peak_at_quantile
        )
    desired_history = record_desired(
        state.desired_history, now, decision.desired_replicas, policy.stabilization_seconds
    )
    # Switched off, the record is dropped: switched on again, it starts afresh.
    return decision, PlannerState(desired_history, calibration or PeakCalibration())


def _scored(calibration: PeakCalibration, forecast: SampledForecast) -> PeakCalibration:
    """The record with every pending window that the forecast's readings now cover scored."""
    since = calibration.observe_from
    if since is None:
        return calibration
    t0, step_seconds = forecast.history_start, float(forecast.step_seconds)
    # Only the readings from the earliest pending window on: the history may hold months.
    first = max(0, math.floor((since - t0) / step_seconds))
    recent = np.asarray(forecast.history[first:], dtype=float)
    # A negative load is a broken reading: a gap, as ``forecasting.Series.clean`` makes it.
    recent = np.where(recent >= 0, recent, np.nan)
    return calibration.observe_grid(t0 + first * step_seconds, step_seconds, recent)
