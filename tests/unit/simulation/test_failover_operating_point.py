"""The operating point is chosen on the training period: no test record can change the choice."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from foresight.planning.failover.prior import FailurePrior
from foresight.simulation import failover as sim

BEGIN = pd.Timestamp("2001-01-01")
CANDIDATES = [(h, t) for h in ("1h", "24h") for t in (0.5, 0.1, 0.02, 0.005)]
DEFAULT = ("1h", 0.5)
PARAMS = sim.DowntimeParams()
RAILS = sim.Rails()


def synthetic_records(seed: int, nodes: int = 30, days: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Node failures that cluster: a node that just came back fails again far more often than others.

    The system has ten times as many nodes as fail in the record (most nodes never fail, as in LANL's).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for node in range(nodes):
        t = rng.exponential(24 * 60)
        while t < days * 24:
            start = BEGIN + pd.Timedelta(hours=t)
            fix = start + pd.Timedelta(minutes=float(rng.uniform(10, 120)))
            rows.append((1, node, 10 * nodes, start, fix, "Hardware"))
            recovered = t + (fix - start) / pd.Timedelta(hours=1)
            t = recovered + (rng.exponential(6) if rng.random() < 0.4 else rng.exponential(24 * 40))
    outages = pd.DataFrame(rows, columns=["system", "node", "nodes_in_system", "start", "fix", "cause"])
    return outages.sort_values(["node", "start"]).reset_index(drop=True), sim.split_time(outages)


def train_prior(outages: pd.DataFrame, windows: pd.DataFrame) -> FailurePrior:
    fit = sim.fit_recurrence_hazards(*sim.train_records(outages, windows), period="all")
    return FailurePrior(
        tuple(fit["edges_hours"]),
        tuple(fit["hazard_per_hour"]),
        fit["no_failure_hazard_per_hour"],
        {"any_nonzero": 0.0, "all_zero": 0.0},
    )


def choose(
    outages: pd.DataFrame, windows: pd.DataFrame, prior: FailurePrior, **kw: float
) -> tuple[tuple[str, float], list[sim.PointScore]]:
    return sim.choose_operating_point(
        outages, windows, prior, CANDIDATES, DEFAULT, params=PARAMS, rails=RAILS, **kw
    )


@pytest.fixture(scope="module")
def records() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic_records(seed=3)


def test_changing_the_test_records_cannot_change_the_choice(
    records: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    outages, windows = records
    prior = train_prior(outages, windows)
    chosen, scores = choose(outages, windows, prior)
    assert chosen != DEFAULT  # the clustering pays at some point: the test below has something to move
    split = outages["system"].map(windows["split"])
    test = outages["start"] >= split
    # Test records replaced wholesale: every failure moved to right after a recovery, and many more of them.
    shuffled = outages[~test].copy()
    extra = outages[test].copy()
    extra["start"] = extra["start"] + pd.to_timedelta(np.arange(len(extra)) % 7, unit="h")
    extra["fix"] = extra["start"] + pd.Timedelta(minutes=5)
    altered = pd.concat([shuffled, extra, extra.assign(node=extra["node"] + 1000)], ignore_index=True)
    altered_windows = windows.copy()
    altered_windows["end"] = altered_windows["end"] + pd.Timedelta(days=50)
    altered_windows["failing_nodes"] = altered["node"].nunique()
    again, again_scores = choose(altered, altered_windows, prior)
    assert again == chosen
    assert [s.row() for s in again_scores] == [s.row() for s in scores]
    # ... while the test figures at the chosen point do change: the test records were really different.
    before = sim.score_point(outages, windows, prior, *chosen, period="test", params=PARAMS, rails=RAILS)[0]
    after = sim.score_point(
        altered, altered_windows, prior, *chosen, period="test", params=PARAMS, rails=RAILS
    )[0]
    assert before.failures != after.failures


def test_changing_the_training_records_does_change_the_scores(
    records: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """The check above could pass by ignoring all records: it does not."""
    outages, windows = records
    prior = train_prior(outages, windows)
    _, scores = choose(outages, windows, prior)
    train = outages["start"] < outages["system"].map(windows["split"])
    fewer = outages.drop(index=outages[train].index[::2]).reset_index(drop=True)
    _, other = choose(fewer, windows, prior)
    assert [s.row() for s in other] != [s.row() for s in scores]


def test_the_budget_on_drained_node_time_binds(records: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    outages, windows = records
    prior = train_prior(outages, windows)
    chosen, scores = choose(outages, windows, prior)
    picked = next(s for s in scores if (s.horizon, s.threshold) == chosen)
    assert picked.false_drained_share <= sim.MAX_DRAINED_SHARE
    assert picked.net_saved_pod_hours == max(
        s.net_saved_pod_hours for s in scores if s.false_drained_share <= sim.MAX_DRAINED_SHARE
    )
    # No budget for drained capacity: nothing that drains qualifies, the spec default stays.
    assert choose(outages, windows, prior, max_drained_share=0.0)[0] == DEFAULT
    # A prior that never alarms saves nothing anywhere: the spec default stays.
    quiet = replace(
        prior, since_recovery_hazard_per_hour=tuple(0.0 for _ in prior.since_recovery_edges_hours)
    )
    assert choose(outages, windows, quiet)[0] == DEFAULT
