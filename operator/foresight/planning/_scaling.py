"""The scaling policy: from forecast sample paths to the HPA floor, in one pure function.

Everything the controller and the benchmark need to turn a forecast into replicas lives here, so that the
policy the simulator measures is exactly the policy the operator runs. Nothing here reads a clock or talks
to a cluster: the caller passes ``now`` and the current state, and gets a :class:`ScalingDecision` back.

The rules, in order:

1. **Lead window.** The floor written now reaches the HPA at its next sync, up to ``hpa_sync_seconds``
   later, and a pod it asks for then serves ``startup_seconds`` after that. So this decision can only change
   capacity inside ``[now + sync + startup, now + sync + startup + control_interval]`` (later decisions
   cover what comes after). Each sample path is interpolated linearly onto the window's ends and its
   maximum taken there: the *peak* of that path.
2. **Risk.** The floor is sized for the ``quantile`` of the peaks: ``ceil(peak_q / capacity_per_replica)``,
   where ``peak_q`` is multiplied by the factor of the caller's ``calibration`` (see :mod:`.calibration`:
   what past lead-window peaks turned out to be against what was predicted).
3. **Scale-up is immediate**: a higher desired floor is applied at once (a late pod is an outage).
4. **Scale-down is slow**: a pod removed now is gone until a new one could serve, at the lead window's
   start, so a lower floor is sized for the peak over ``[now, lead window's end]``, not over the lead window
   alone (``hold_until_replaced``). The floor then falls only to the highest floor desired within the last
   ``stabilization_seconds`` (as the HPA's own scale-down stabilization), and by at most ``max_step_percent``
   of the current floor per decision (rounded like the HPA's ``Percent`` policy). With a window at least as
   long as the start-up time, a pod removed now was not needed by any recent forecast of the next minutes.
5. **Bounds.** The floor stays within ``[max(minReplicas, HPA min), min(maxReplicas, HPA max)]``; it is
   never zero.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from foresight.api.v1alpha1 import predictive_scaler
from foresight.planning._quantile import linear_quantile
from foresight.planning.calibration import PeakCalibration

__all__ = [
    "CurrentState",
    "PlanningPolicy",
    "ScalingDecision",
    "ceil_replicas",
    "decide",
    "peak_samples",
    "record_desired",
]

# Loads are floats from Prometheus: 1800.0000001 rps / 120 must still be 15 replicas, not 16.
_RELATIVE_EPSILON = 1e-9


@dataclasses.dataclass(frozen=True)
class PlanningPolicy:
    """The part of a ``PredictiveScalerSpec`` the planner needs, in plain numbers.

    >>> PlanningPolicy(capacity_per_replica=120, max_replicas=30).quantile
    0.9
    """

    capacity_per_replica: float
    max_replicas: int
    min_replicas: int = 1
    quantile: float = 0.9
    startup_seconds: int = 180
    control_interval_seconds: int = 60
    stabilization_seconds: int = 300
    max_step_percent: int = 50
    load_unit: str = ""
    calibrate: bool = False
    target_miss_rate: float | None = None
    """Calibrate the peak to miss this share of lead windows (implies calibration; ``quantile`` stays the
    forecast's level, the calibration's is ``1 - target_miss_rate``)."""
    hpa_sync_seconds: int = 0
    """The HPA controller's sync period: a floor written now is acted on at most this much later (the
    operator's ``hpaSyncSeconds``, 15 s upstream)."""
    anchor: bool = False
    """Size for at least the present reading (before calibration): a variant the benchmark's ablation
    measures; no spec field sets it."""
    hold_until_replaced: bool = True
    """Rule 4's guard: a lower floor never removes capacity that the forecast needs before a new pod could
    serve (the peak over ``[now, lead window's end]``, not the lead window's alone). Off only in the
    benchmark's ablation; no spec field sets it."""

    def __post_init__(self) -> None:
        if self.capacity_per_replica <= 0:
            raise ValueError("capacity_per_replica must be positive")
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ValueError("need 1 <= min_replicas <= max_replicas")
        if not 0.0 < self.quantile < 1.0:
            raise ValueError("quantile must be in (0, 1)")
        if self.target_miss_rate is not None and not 0.0 < self.target_miss_rate < 0.5:
            raise ValueError("target_miss_rate must be in (0, 0.5)")
        if self.hpa_sync_seconds < 0:
            raise ValueError("hpa_sync_seconds must not be negative")

    @property
    def calibrates(self) -> bool:
        """Whether the planner keeps score of its lead windows (a target miss rate implies it)."""
        return self.calibrate or self.target_miss_rate is not None

    @property
    def calibration_level(self) -> float:
        """The share of lead windows the calibrated floor should cover.

        >>> PlanningPolicy(100, 10).calibration_level
        0.9
        >>> PlanningPolicy(100, 10, target_miss_rate=0.01).calibration_level
        0.99
        """
        return self.quantile if self.target_miss_rate is None else 1.0 - self.target_miss_rate

    @classmethod
    def from_spec(
        cls,
        spec: predictive_scaler.PredictiveScalerSpec,
        control_interval_seconds: int = 60,
        load_unit: str = "",
        hpa_sync_seconds: int = 0,
    ) -> PlanningPolicy:
        """Read the planning numbers out of a validated spec."""
        scaling = spec.scaling
        return cls(
            capacity_per_replica=spec.metric.capacity_per_replica,
            max_replicas=scaling.max_replicas,
            min_replicas=scaling.min_replicas,
            quantile=spec.forecast.quantile,
            startup_seconds=scaling.startup_seconds,
            control_interval_seconds=control_interval_seconds,
            stabilization_seconds=scaling.scale_down.stabilization_seconds,
            max_step_percent=scaling.scale_down.max_step_percent,
            load_unit=load_unit,
            calibrate=spec.forecast.calibrate,
            target_miss_rate=scaling.target_miss_rate,
            hpa_sync_seconds=hpa_sync_seconds,
        )


@dataclasses.dataclass(frozen=True)
class CurrentState:
    """What the controller sees right now.

    ``desired_history`` holds ``(time, desired_replicas)`` of earlier decisions (the *desired* value, before
    stabilization), newest last; :func:`record_desired` maintains it. ``hpa_min_replicas`` is the HPA's own
    minimum as the user set it (Foresight never goes below it); ``hpa_max_replicas`` its maximum.
    """

    current_floor: int
    ready_replicas: int = 0
    observed_load: float | None = None
    hpa_min_replicas: int = 1
    hpa_max_replicas: int | None = None
    desired_history: tuple[tuple[datetime, int], ...] = ()


@dataclasses.dataclass(frozen=True)
class ScalingDecision:
    """The planner's answer and why. ``floor`` is what to write into the HPA's ``minReplicas``."""

    desired_replicas: int
    floor: int
    reason: str
    window_start: datetime
    window_end: datetime
    peak_p10: float | None = None
    peak_p50: float | None = None
    peak_p90: float | None = None
    peak_at_quantile: float | None = None
    peak_time: datetime | None = None
    raw_peak_at_quantile: float | None = None  # before the calibration factor
    calibration_factor: float = 1.0


def lead_window(policy: PlanningPolicy, now: datetime) -> tuple[datetime, datetime]:
    """The only interval the capacity requested now can affect.

    >>> from datetime import datetime, timezone
    >>> now = datetime(2024, 1, 1, 14, 0, tzinfo=timezone.utc)
    >>> start, end = lead_window(PlanningPolicy(100, 10), now)
    >>> start.strftime("%H:%M:%S"), end.strftime("%H:%M:%S")
    ('14:03:00', '14:04:00')
    >>> start, end = lead_window(PlanningPolicy(100, 10, hpa_sync_seconds=15), now)  # the HPA acts later
    >>> start.strftime("%H:%M:%S"), end.strftime("%H:%M:%S")
    ('14:03:15', '14:04:15')
    """
    start = now + timedelta(seconds=policy.hpa_sync_seconds + policy.startup_seconds)
    return start, start + timedelta(seconds=policy.control_interval_seconds)


def peak_samples(
    samples: np.ndarray, step_seconds: float, window_start_offset: float, window_end_offset: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each path's maximum over ``[window_start_offset, window_end_offset]`` seconds from column 0.

    Paths are linear between columns (column ``k`` is the load ``k * step_seconds`` after column 0) and
    constant outside them. Returns ``(peaks[n_samples], times_of_the_points, values[n_samples, n_points])``.

    >>> paths = np.array([[0.0, 10.0, 20.0, 0.0], [0.0, 0.0, 0.0, 40.0]])
    >>> peaks, times, _ = peak_samples(paths, 60, 30, 90)
    >>> peaks.tolist(), times.tolist()
    ([15.0, 0.0], [30.0, 60.0, 90.0])
    """
    n_steps = samples.shape[1]
    interior = np.arange(n_steps) * float(step_seconds)
    inside = (interior > window_start_offset) & (interior < window_end_offset)
    times = np.concatenate([[window_start_offset], interior[inside], [window_end_offset]])
    columns = np.clip(times / step_seconds, 0.0, n_steps - 1)
    left = np.floor(columns).astype(int)
    right = np.minimum(left + 1, n_steps - 1)
    weight = columns - left
    values = samples[:, left] * (1.0 - weight) + samples[:, right] * weight
    return values.max(axis=1), times, values


def replicas_for(load: float, capacity_per_replica: float) -> int:
    """Fewest replicas that serve ``load``.

    >>> replicas_for(1800.0000001, 120), replicas_for(1801, 120), replicas_for(0, 120)
    (15, 16, 0)
    """
    return max(0, ceil_replicas(load / capacity_per_replica))


def ceil_replicas(replicas: float) -> int:
    """A fractional replica count rounded up, the one rounding rule for replicas (as the HPA rounds).

    Float noise does not add a replica: 15.0000000001 is 15.

    >>> ceil_replicas(15.0000000001), ceil_replicas(15.01), ceil_replicas(10 * (1 - 0.7))
    (15, 16, 3)
    """
    return math.ceil(replicas * (1.0 - _RELATIVE_EPSILON))


def record_desired(
    history: Sequence[tuple[datetime, int]], now: datetime, desired: int, keep_seconds: int
) -> tuple[tuple[datetime, int], ...]:
    """Append this decision's desired replicas and forget those older than the stabilization window.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> h = record_desired((), t, 5, 300)
    >>> h = record_desired(h, t + timedelta(seconds=400), 3, 300)
    >>> [d for _, d in h]
    [3]
    """
    cutoff = now - timedelta(seconds=keep_seconds)
    return (*((t, d) for t, d in history if t > cutoff), (now, desired))


def _fmt_load(value: float, unit: str) -> str:
    """A load for a reason string: whole numbers up to a billion, then scientific notation.

    >>> _fmt_load(1234.5, "rps"), _fmt_load(0.1234, ""), _fmt_load(1e300, "rps")
    ('1,234 rps', '0.123', '1e+300 rps')
    """
    text = f"{value:,.0f}" if 100 <= abs(value) < 1e9 else f"{value:,.3g}"
    return f"{text} {unit}".rstrip()


def decide(
    policy: PlanningPolicy | predictive_scaler.PredictiveScalerSpec,
    samples: np.ndarray | None,
    step_seconds: int,
    current: CurrentState,
    now: datetime,
    samples_start: datetime | None = None,
    calibration: PeakCalibration | None = None,
) -> ScalingDecision:
    """Decide the HPA floor for ``now`` from forecast sample paths ``samples[n_samples, horizon_steps]``.

    Column ``k`` of ``samples`` is the load at ``samples_start + k * step_seconds`` (default: the forecast
    starts one step after ``now``). ``samples=None`` (or all-NaN) means no forecast: the floor stays where it
    is, within bounds.

    >>> from datetime import datetime, timezone
    >>> now = datetime(2024, 1, 1, 14, 0, tzinfo=timezone.utc)
    >>> paths = np.tile(1000.0 + 200 * np.arange(10), (100, 1))  # +200 rps a minute
    >>> d = decide(PlanningPolicy(120, 30, load_unit="rps"), paths, 60, CurrentState(current_floor=4), now)
    >>> d.floor, d.reason
    (14, 'p90 peak 1,600 rps at 14:04 ÷ 120 rps/replica → 14 replicas; HPA floor 4 → 14')
    """
    if not isinstance(policy, PlanningPolicy):
        policy = PlanningPolicy.from_spec(policy)
    window_start, window_end = lead_window(policy, now)
    low = max(policy.min_replicas, current.hpa_min_replicas)
    high = (
        policy.max_replicas
        if current.hpa_max_replicas is None
        else min(policy.max_replicas, current.hpa_max_replicas)
    )
    high = max(high, low)  # contradictory bounds: never below the user's minimum
    paths = None if samples is None else np.asarray(samples, dtype=float)
    if paths is not None:
        paths = paths[np.all(np.isfinite(paths), axis=1)] if paths.ndim == 2 else None
    if paths is None or paths.size == 0:
        floor = min(max(current.current_floor, low), high)
        return ScalingDecision(
            desired_replicas=floor,
            floor=floor,
            reason=f"no forecast; HPA floor kept at {floor}",
            window_start=window_start,
            window_end=window_end,
        )

    origin = samples_start if samples_start is not None else now + timedelta(seconds=step_seconds)
    start_offset = (window_start - origin).total_seconds()
    end_offset = (window_end - origin).total_seconds()
    peaks, times, values = peak_samples(paths, step_seconds, start_offset, end_offset)
    ordered = np.sort(peaks)
    p10, p50, p90, forecast_peak_q = (
        float(linear_quantile(ordered, level, ordered=True)) for level in (0.1, 0.5, 0.9, policy.quantile)
    )
    present = current.observed_load if policy.anchor else None
    anchored = present is not None and present > forecast_peak_q
    raw_peak_q = float(present) if anchored and present is not None else forecast_peak_q
    factor = 1.0 if calibration is None else calibration.factor(policy.calibration_level, raw_peak_q)
    peak_q = raw_peak_q * factor
    # When does the risk-level path peak? The per-point quantile is what a user would plot.
    peak_time = origin + timedelta(
        seconds=float(
            times[int(np.argmax(linear_quantile(np.sort(values, axis=0), policy.quantile, ordered=True)))]
        )
    )

    for_window = needed = replicas_for(peak_q, policy.capacity_per_replica)
    held = ""
    if policy.hold_until_replaced and needed < current.current_floor:
        # A pod removed now is gone until the lead window: size the lower floor for the peak until then too.
        until, _, _ = peak_samples(paths, step_seconds, (now - origin).total_seconds(), end_offset)
        until_q = float(linear_quantile(np.sort(until), policy.quantile, ordered=True)) * factor
        # It keeps what is there; it adds nothing (a pod asked for now serves only from the lead window).
        kept = min(replicas_for(until_q, policy.capacity_per_replica), current.current_floor)
        if kept > needed:
            needed = kept
            held = (
                f", {kept} for the p{policy.quantile * 100:g} peak {_fmt_load(until_q, policy.load_unit)} "
                f"before a new pod could serve"
            )
    desired = min(max(needed, low), high)
    floor, how = _apply_scale_down_rules(policy, current, now, desired)
    if floor > high:
        # Bounds win over stabilization: a lowered maxReplicas applies at once.
        floor, how = high, f"capped by maxReplicas {high}"
    unit = policy.load_unit
    calibrated = ""
    if factor != 1.0:
        level = "" if policy.target_miss_rate is None else f" for a {policy.target_miss_rate:g} miss rate"
        calibrated = f" × {factor:.2f} calibration{level}"
    sized = (
        f"present load {_fmt_load(raw_peak_q, unit)} (above the p{policy.quantile * 100:g} forecast peak)"
        if anchored
        else f"p{policy.quantile * 100:g} peak {_fmt_load(raw_peak_q, unit)} at {peak_time:%H:%M}"
    )
    reason = (
        f"{sized}{calibrated} ÷ {_fmt_load(policy.capacity_per_replica, unit)}/replica → "
        f"{for_window} replicas{held}"
    )
    if desired != needed:
        reason += f", clipped to {desired} (bounds {low}..{high})"
    reason += f"; HPA floor {current.current_floor} → {floor}" + (f" ({how})" if how else "")
    return ScalingDecision(
        desired_replicas=desired,
        floor=floor,
        reason=reason,
        window_start=window_start,
        window_end=window_end,
        peak_p10=p10,
        peak_p50=p50,
        peak_p90=p90,
        peak_at_quantile=peak_q,
        peak_time=peak_time,
        raw_peak_at_quantile=raw_peak_q,
        calibration_factor=factor,
    )


def _apply_scale_down_rules(
    policy: PlanningPolicy, current: CurrentState, now: datetime, desired: int
) -> tuple[int, str]:
    """Rules 3-4: up at once; down to the window's highest desired, at most ``max_step_percent`` a step."""
    if desired >= current.current_floor:
        return desired, ""
    cutoff = now - timedelta(seconds=policy.stabilization_seconds)
    recent = [d for t, d in current.desired_history if cutoff < t <= now]
    stabilized = max([desired, *recent])
    # The HPA's Percent policy rounds the replicas that remain up: ceil(current * (1 - percent)).
    step_limit = ceil_replicas(current.current_floor * (1.0 - policy.max_step_percent / 100.0))
    floor = min(current.current_floor, max(stabilized, step_limit, desired))
    if floor == desired:
        return floor, ""
    if stabilized >= step_limit:
        return floor, f"held by {policy.stabilization_seconds}s scale-down stabilization"
    return floor, f"scale-down limited to {policy.max_step_percent}% per step"
