"""The replay's taint hysteresis and rails, checked against the real planner (plan_actions) tick by tick."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from foresight.api import v1alpha1
from foresight.planning import failover as fo
from foresight.simulation import failover as sim

T0 = datetime(2025, 1, 1, tzinfo=UTC)
KEY = v1alpha1.failover_policy.DEFAULT_TAINT_KEY
READY = fo.NodeCondition("Ready", "True")


def _drive_planner(
    risks: dict[str, list[float]], spec: v1alpha1.FailoverPolicySpec, tick: timedelta
) -> dict[str, list[set[str]]]:
    """Run plan_actions tick by tick on nodes without pods (plus an idle spare) and apply its taints."""
    names = list(risks)
    taints: dict[str, set[str]] = {n: set() for n in names}
    seen: dict[str, list[set[str]]] = {n: [] for n in names}
    last_escalation = None
    for k in range(len(next(iter(risks.values())))):
        now = T0 + k * tick
        nodes = [
            fo.NodeObservation(
                name=n,
                conditions=(READY,),
                taints=tuple(fo.Taint(KEY, e) for e in sorted(taints.get(n, set()))),  # type: ignore[arg-type]
            )
            for n in [*names, "spare"]
        ]
        assessed = [fo.NodeRiskAssessment(n, risks[n][k]) for n in names]
        for action in fo.plan_actions(spec, assessed, nodes, [], [], last_escalation, now):
            if action.kind == "taint":
                taints[action.node].add(str(action.effect))
                if action.effect == "NoSchedule":
                    last_escalation = now
            elif action.kind == "untaint":
                taints[action.node].discard(str(action.effect))
        for n in names:
            seen[n].append(set(taints[n]))
    return seen


@pytest.mark.parametrize("untaint_below", [None, 0.1])
def test_hysteresis_is_the_planners_taint(untaint_below: float | None) -> None:
    rng = np.random.default_rng(7)
    # A random walk in [0, 1] crosses both levels many times, in both directions.
    risk = np.clip(np.cumsum(rng.normal(0, 0.08, 400)) % 1.6 - 0.3, 0, 1)
    spec = v1alpha1.FailoverPolicySpec.model_validate(
        {"actions": {"cooldownSeconds": 0, "untaintBelowProbability": untaint_below}}
    )
    planner = _drive_planner({"a": list(risk)}, spec, timedelta(minutes=1))["a"]
    replay = sim.hysteresis(risk, spec.failure_probability_threshold, spec.untaint_probability)
    assert [("NoSchedule" in t) for t in planner] == replay.tolist()
    assert 5 < len(sim.runs_of(replay)) < 200  # the walk really went on and off


def test_escalation_order_and_cooldown_are_the_planners() -> None:
    """Three nodes at risk within one cooldown: one drain per cooldown, and a node whose risk drops below the
    threshold before its turn keeps only PreferNoSchedule (as the planner leaves it)."""
    tick = timedelta(seconds=10)
    n = 300
    t = np.arange(n) * tick.total_seconds()
    risks = {
        "n1": np.where(t < 1000, 0.9, 0.0),
        "n2": np.where((t >= 100) & (t < 2000), 0.9, 0.0),
        "n3": np.where((t >= 200) & (t < 350), 0.9, np.where((t >= 350) & (t < 2000), 0.3, 0.0)),
    }
    spec = v1alpha1.FailoverPolicySpec()  # cooldown 300 s, maxNodesAtOnce 1, threshold 0.5, release 0.25
    planner = _drive_planner({k: list(v) for k, v in risks.items()}, spec, tick)
    expected = {}
    for name, states in planner.items():
        hard = [k for k, s in enumerate(states) if "NoSchedule" in s]
        expected[name] = t[hard[0]] if hard else math.nan

    rows, eligible = [], []
    for i, name in enumerate(risks):
        on = sim.hysteresis(risks[name], 0.5, 0.25)
        (a, b), *_ = sim.runs_of(on)
        rows.append({"system": 1, "node": i, "start": t[a] / 3600, "end": t[min(b, n - 1)] / 3600})
        for c, d in sim.runs_of(risks[name] >= 0.5):
            eligible.append({"run": i, "start": t[c] / 3600, "end": t[min(d, n - 1)] / 3600})
    got = sim.escalation_times(pd.DataFrame(rows), pd.DataFrame(eligible), sim.Rails.of(spec.actions), 19.0)
    assert expected == {"n1": 0.0, "n2": 300.0, "n3": math.nan}
    assert np.allclose(got * 3600, list(expected.values()), equal_nan=True)


def test_max_nodes_at_once_waits_for_a_drain_to_finish() -> None:
    runs = pd.DataFrame({"system": [1, 1, 1], "node": [0, 1, 2], "start": [0.0] * 3, "end": [10.0] * 3})
    eligible = runs.reset_index().rename(columns={"index": "run"})[["run", "start", "end"]]
    got = sim.escalation_times(runs, eligible, sim.Rails(cooldown_seconds=0, max_nodes_at_once=2), 3600.0)
    assert got.tolist() == [0.0, 0.0, 1.0]  # the third waits for the first drain (an hour)
    # Policies are per system: another system's drains do not hold this one back.
    runs.loc[2, "system"] = 2
    got = sim.escalation_times(runs, eligible, sim.Rails(cooldown_seconds=0, max_nodes_at_once=1), 3600.0)
    assert got.tolist() == [0.0, 1.0, 0.0]
