"""The policy's operating point (horizon, threshold), chosen on the training period and scored on the test.

Each candidate is replayed with the operator's taint hysteresis and rails (:mod:`.evaluation`,
:mod:`.downtime`). The choice sees only :func:`foresight.simulation.failover.records.train_records`, so no
test record can sway it: the point that saves the most pod downtime on the training period, false-alarm
restarts included, among those that keep the node-time drained for nothing within a capacity budget. When no
candidate saves anything within the budget, the spec's default point stays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import pandas as pd

from foresight.planning.failover.prior import FailurePrior
from foresight.simulation.failover.downtime import (
    DowntimeParams,
    DowntimeResult,
    FailoverReplay,
    Rails,
    replay_failover,
    simulate_downtime,
)
from foresight.simulation.failover.evaluation import LanlReplay, Period, replay_lanl
from foresight.simulation.failover.records import train_records

__all__ = ["MAX_DRAINED_SHARE", "PointScore", "choose_operating_point", "score_point"]

# Node-time a policy may keep drained without a failure following, as a share of all node-time: one node
# in a hundred held empty on average.
MAX_DRAINED_SHARE = 0.01


@dataclass(frozen=True)
class PointScore:
    """Pod downtime and false-alarm cost of one operating point on one period, per real failure."""

    horizon: str
    threshold: float
    period: str
    failures: int
    caught_in_time: int
    caught_draining: int
    missed: int
    over_credited: int
    held_back: int
    default_pod_minutes_per_failure: float
    pod_minutes_per_failure: float
    false_restart_pod_minutes_per_failure: float
    false_drained_node_hours_per_failure: float
    false_drained_share: float
    net_saved_pod_hours: float

    def row(self) -> dict[str, Any]:
        return asdict(self)


def score_point(
    outages: pd.DataFrame,
    windows: pd.DataFrame,
    prior: FailurePrior,
    horizon: str,
    threshold: float,
    *,
    period: Period,
    params: DowntimeParams,
    rails: Rails,
    tick: timedelta = timedelta(minutes=1),
) -> tuple[PointScore, LanlReplay, FailoverReplay, list[DowntimeResult]]:
    """Replay one operating point on one period: its score and the replays behind it."""
    replay = replay_lanl(outages, windows, prior, horizon, threshold, tick=tick, period=period)
    policy = replay_failover(replay, params, rails)
    default, foresight = simulate_downtime(
        policy.leads_minutes, policy.false_drains, params, policy.false_drained_node_hours, policy.empty
    )
    n = foresight.failures

    def per_failure(value: float) -> float:
        return value / n if n else math.nan

    score = PointScore(
        horizon=horizon,
        threshold=threshold,
        period=period,
        failures=n,
        caught_in_time=foresight.caught_in_time,
        caught_draining=foresight.caught_draining,
        missed=foresight.missed,
        over_credited=policy.over_credited,
        held_back=policy.held_back,
        default_pod_minutes_per_failure=default.pod_minutes_per_failure,
        pod_minutes_per_failure=foresight.pod_minutes_per_failure,
        false_restart_pod_minutes_per_failure=per_failure(foresight.false_alarm_pod_hours * 60),
        false_drained_node_hours_per_failure=per_failure(policy.false_drained_node_hours),
        false_drained_share=policy.false_drained_share,
        net_saved_pod_hours=default.total_pod_hours - foresight.total_pod_hours,
    )
    return score, replay, policy, [default, foresight]


def choose_operating_point(
    outages: pd.DataFrame,
    windows: pd.DataFrame,
    prior: FailurePrior,
    candidates: Sequence[tuple[str, float]],
    default: tuple[str, float],
    *,
    params: DowntimeParams,
    rails: Rails,
    max_drained_share: float = MAX_DRAINED_SHARE,
    tick: timedelta = timedelta(minutes=1),
) -> tuple[tuple[str, float], list[PointScore]]:
    """The candidate that saves the most pod-hours on the training period within the drained budget.

    ``prior`` must be fitted on the training period too. Returns the choice (``default`` when no candidate
    saves anything within the budget) and every candidate's training score. Ties go to the higher
    threshold (fewer alarms for the same saving), then the earlier candidate.
    """
    train, train_windows = train_records(outages, windows)
    scores = [
        score_point(train, train_windows, prior, h, t, period="train", params=params, rails=rails, tick=tick)[
            0
        ]
        for h, t in candidates
    ]
    fit = [s for s in scores if s.false_drained_share <= max_drained_share and s.net_saved_pod_hours > 0]
    if not fit:
        return default, scores
    best = max(fit, key=lambda s: (s.net_saved_pod_hours, s.threshold))
    return (best.horizon, best.threshold), scores
