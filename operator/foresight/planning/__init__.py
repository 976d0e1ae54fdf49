"""Pure scaling decisions: ``(policy, forecast samples, current state, now) -> ScalingDecision``.

The controller and the benchmark both call :func:`step` (which calls :func:`decide` and keeps the state
between decisions): it is the single place of the scaling policy.
No I/O and no clock here (an import-linter contract forbids kopf and the Kubernetes client).
"""

from foresight.planning._scaling import (
    CurrentState,
    PlanningPolicy,
    ScalingDecision,
    decide,
    lead_window,
    peak_samples,
    record_desired,
    replicas_for,
)
from foresight.planning._step import PlannerState, Present, SampledForecast, step
from foresight.planning.calibration import PeakCalibration

__all__ = [
    "CurrentState",
    "PeakCalibration",
    "PlannerState",
    "PlanningPolicy",
    "Present",
    "SampledForecast",
    "ScalingDecision",
    "decide",
    "lead_window",
    "peak_samples",
    "record_desired",
    "replicas_for",
    "step",
]
