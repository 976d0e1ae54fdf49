"""Auto remembers its per-series choice between calls, without ever using a later history's score."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from foresight import forecasting
from foresight.forecasting.auto import Auto

HORIZON = 6


def _auto(**kwargs: object) -> Auto:
    return Auto(candidates=["seasonal-naive", "holt-winters"], backtest_origins=2, eval_samples=10, **kwargs)  # type: ignore[arg-type]


def test_reuses_the_choice_until_a_new_horizon_arrives(azure: forecasting.Series) -> None:
    auto = _auto()
    auto.sample([azure.head(600)], HORIZON, 20)
    assert auto.rescored == 1
    # The first choice lives 1..HORIZON steps (spread by id); after that, one horizon each.
    lives = []
    length = 600
    while len(lives) < 3:
        length += 1
        auto.sample([azure.head(length)], HORIZON, 20)
        if auto.rescored:
            lives.append(length)
    assert 601 <= lives[0] <= 600 + HORIZON
    assert np.diff(lives).tolist() == [HORIZON, HORIZON]


def test_a_choice_scored_later_is_never_used_for_an_earlier_history(azure: forecasting.Series) -> None:
    auto = _auto()
    auto.sample([azure.head(700)], HORIZON, 20)
    auto.sample([azure.head(699)], HORIZON, 20)
    assert auto.rescored == 1


def test_another_series_under_the_same_id_is_scored_afresh(azure: forecasting.Series) -> None:
    auto = _auto()
    auto.sample([azure.head(600)], HORIZON, 20)
    other = dataclasses.replace(azure, values=azure.values * 2.0).head(601)
    auto.sample([other], HORIZON, 20)
    assert auto.rescored == 1


@pytest.mark.parametrize("kwargs", [{"rescore_every": 0}, {}])
def test_no_reuse_when_disabled_or_without_an_id(azure: forecasting.Series, kwargs: dict[str, int]) -> None:
    auto = _auto(**kwargs)
    series = azure if kwargs else dataclasses.replace(azure, item_id="")
    auto.sample([series.head(600)], HORIZON, 20)
    auto.sample([series.head(600)], HORIZON, 20)
    assert auto.rescored == 1


def test_reused_choice_gives_the_paths_a_fresh_score_would(azure: forecasting.Series) -> None:
    cached, fresh = _auto(), _auto(rescore_every=0)
    cached.sample([azure.head(600)], HORIZON, 20, seed=1)
    a = cached.sample([azure.head(600)], HORIZON, 20, seed=1)
    assert cached.rescored == 0
    np.testing.assert_array_equal(a, fresh.sample([azure.head(600)], HORIZON, 20, seed=1))


def test_cache_is_bounded(azure: forecasting.Series) -> None:
    auto = _auto(max_cached=2)
    for k in range(4):
        auto.sample([dataclasses.replace(azure, item_id=f"s{k}").head(600)], HORIZON, 10)
    assert list(auto._choices) == ["s2", "s3"]
