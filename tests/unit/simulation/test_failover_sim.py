"""Failure-record replay: prior fitting, scoring against assess_node, and the pod-downtime arithmetic."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from foresight.commands.failover_eval import default_datasets_dir
from foresight.planning.failover.prior import FailurePrior
from foresight.simulation import failover as sim
from foresight.simulation.failover import evaluation

DATA = default_datasets_dir()
needs_data = pytest.mark.skipif(
    not (DATA / sim.LANL_FILE).exists(), reason="shared failure datasets not present"
)


@pytest.fixture(scope="module")
def lanl() -> tuple[pd.DataFrame, pd.DataFrame]:
    outages = sim.load_lanl_outages(DATA)
    # Two mid-sized clusters keep the test fast while exercising every code path.
    outages = outages[outages["system"].isin([3, 20])].reset_index(drop=True)
    return outages, sim.split_time(outages)


@pytest.fixture(scope="module")
def drives() -> pd.DataFrame:
    return sim.load_backblaze(DATA).head(200_000)


@needs_data
def test_outages_are_merged_and_ordered(lanl: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    outages, windows = lanl
    assert (outages["fix"] >= outages["start"]).all()
    for _, node in outages.groupby(["system", "node"]):
        # After merging, a node's next outage starts after the previous one was fixed.
        assert (node["start"].to_numpy()[1:] > node["fix"].to_numpy()[:-1]).all()
    assert (windows["split"] > windows["begin"]).all() and (windows["split"] < windows["end"]).all()


@needs_data
def test_recurrence_hazard_is_higher_right_after_a_recovery(lanl: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    fit = sim.fit_recurrence_hazards(*lanl)
    hazards = fit["hazard_per_hour"]
    assert hazards[0] > hazards[-1] > 0
    assert hazards[0] > 5 * fit["base_rate_per_node_hour"]
    # Every failure is counted once, in exactly one state (the period is [begin, end): the last one is out).
    outages, _ = lanl
    at_end = (outages.groupby("system")["start"].transform("max") == outages["start"]).sum()
    assert sum(fit["events"]) + fit["no_failure_events"] == len(outages) - at_end


@needs_data
def test_train_and_test_periods_split_the_record(lanl: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    outages, windows = lanl
    parts = [sim.fit_recurrence_hazards(outages, windows, p) for p in ("train", "test", "all")]
    train, test, whole = parts
    for key in ("events", "exposure_node_hours"):
        assert np.allclose(np.add(train[key], test[key]), whole[key])


@needs_data
def test_vectorized_replay_matches_the_prior(lanl: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    outages, windows = lanl
    lanl_fit = sim.fit_recurrence_hazards(outages, windows, "train")
    prior = FailurePrior(
        tuple(lanl_fit["edges_hours"]),
        tuple(lanl_fit["hazard_per_hour"]),
        1e-5,
        {"any_nonzero": 0, "all_zero": 0},
    )
    elapsed = np.array([0.0, 0.5, 1.0, 5.9, 30.0, 200.0, 1000.0])
    grid = evaluation._prior_probability_grid(prior, elapsed, 24.0)
    scalar = [prior.probability_after_failure(e, 24.0) for e in elapsed]
    assert np.allclose(grid, scalar)


@needs_data
def test_evaluation_agrees_with_assess_node_and_trades_recall_for_alarms(
    lanl: tuple[pd.DataFrame, pd.DataFrame], drives: pd.DataFrame
) -> None:
    outages, windows = lanl
    prior = sim.fit_failure_prior(outages, windows, drives, period="train")
    loose = sim.evaluate_lanl(outages, windows, prior, "24h", 0.02, tick=timedelta(minutes=10))
    strict = sim.evaluate_lanl(outages, windows, prior, "24h", 0.1, tick=timedelta(minutes=10))
    model, baseline = loose
    assert model.checked_with_assess_node == model.failures > 0
    assert model.assess_node_disagreements <= 0.01 * model.failures
    assert (
        model.caught >= strict[0].caught
        and model.alarmed_node_time_share >= strict[0].alarmed_node_time_share
    )
    for r in (model, baseline, *strict):
        assert 0 <= r.recall <= 1 and (math.isnan(r.precision) or 0 <= r.precision <= 1)
        assert len(r.leads_minutes) <= r.caught
    # The default policy (15 min, 0.5) never alarms from history alone: the hazard is far too low.
    default_model, _ = sim.evaluate_lanl(outages, windows, prior, check_with_assess_node=False)
    assert default_model.caught == 0 and default_model.alarm_episodes == 0


@needs_data
def test_smart_precursors_raise_the_drive_hazard(drives: pd.DataFrame) -> None:
    fit = sim.fit_backblaze_hazards(drives)
    assert fit["any_nonzero"]["hazard_per_hour"] > 5 * fit["all_zero"]["hazard_per_hour"]
    assert fit["failures"] == int(drives["fails"].sum())


@pytest.mark.parametrize(
    ("leads", "pods", "expected_mean"),
    [
        ([None], 10, 372.0),  # miss: 40 s grace + 300 s toleration + 2 s schedule + 30 s start-up
        ([10.0], 10, 32.0),  # 10 min lead: every pod moved in time
        ([5 / 60], 10, (5 * 32 + 5 * 372) / 10),  # 5 s lead, 1 eviction/s: half the pods made it
        ([10.0, None], 10, (32 + 372) / 2),
    ],
)
def test_downtime_replay(leads: list[float | None], pods: int, expected_mean: float) -> None:
    default, foresight = sim.simulate_downtime(
        leads, false_alarms=0, params=sim.DowntimeParams(pods_per_node=pods)
    )
    assert default.mean_seconds == pytest.approx(372.0)
    assert foresight.mean_seconds == pytest.approx(expected_mean)
    assert foresight.total_pod_hours == pytest.approx(expected_mean * len(leads) * pods / 3600)


def test_false_alarms_cost_a_restart_of_every_pod() -> None:
    _, foresight = sim.simulate_downtime([], false_alarms=3, params=sim.DowntimeParams(pods_per_node=10))
    assert foresight.false_alarm_pod_hours == pytest.approx(3 * 10 * 32 / 3600)
