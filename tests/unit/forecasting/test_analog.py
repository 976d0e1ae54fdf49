"""Analog: settings chosen on the series' own past, time-of-day analogs, a cache that never reads ahead."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from foresight.forecasting._metrics import crps
from foresight.forecasting._series import Series
from foresight.forecasting.analog import Analog

START = pd.Timestamp("2026-01-05", tz="UTC")


def _series(values: np.ndarray, step: int = 60, item_id: str = "s") -> Series:
    return Series(np.asarray(values, dtype=float), START, step, item_id=item_id)


def _weight(model: Analog, low: float, high: float) -> float:
    """The weight of the settings whose smoothing weight alpha is in ``[low, high]`` (1: no smoothing)."""
    weights = model.last_weights[0]
    return float(sum(w for (a, *_), w in zip(model.settings, weights, strict=True) if low <= a <= high))


def test_noise_around_a_level_is_smoothed_and_a_random_walk_is_not() -> None:
    # The weights of one series are scored on its own recent past, so they vary between draws of the
    # same kind of series: the means over three draws are what the model must get right.
    noise_smoothed, noise_raw, walk_smoothed, walk_raw = [], [], [], []
    for seed in (1, 2, 3):
        rng = np.random.default_rng(seed)
        noisy = _series(100 + rng.normal(0, 10, 3 * 1440))
        walk = _series(1000 + np.cumsum(rng.normal(0, 10, 3 * 1440)))  # same id: the cache must notice
        model = Analog()
        model.sample([noisy], 30, 50)
        noise_smoothed.append(_weight(model, 0.0, 0.1))
        noise_raw.append(_weight(model, 1.0, 1.0))
        model.sample([walk], 30, 50)
        walk_smoothed.append(_weight(model, 0.0, 0.1))
        walk_raw.append(_weight(model, 1.0, 1.0))
    assert np.mean(noise_smoothed) > 0.7 and np.mean(noise_raw) < 0.05  # smoothing wins on noise
    assert np.mean(walk_raw) > 2 * np.mean(walk_smoothed)  # the last reading, on a walk


def test_beats_persistence_of_the_last_reading_on_a_noisy_level() -> None:
    rng = np.random.default_rng(2)
    values = 100 + rng.normal(0, 10, 3 * 1440 + 30)
    history, future = _series(values[:-30]), values[-30:]
    paths = Analog().sample([history], 30, 200)
    persistence = np.full((1, 1, 30), values[-31])
    assert crps(paths, future[None, :]) < 0.8 * crps(persistence, future[None, :])


def test_a_daily_ramp_is_forecast_before_it_happens() -> None:
    minutes = np.arange(8 * 1440)
    daily = np.where((minutes % 1440) >= 8 * 60, 200.0, 50.0)  # a step up at 08:00 every day
    noise = np.random.default_rng(3).normal(0, 2, minutes.size)
    origin = 7 * 1440 + 7 * 60 + 50  # 07:50 on day 8
    history = _series((daily + noise)[:origin])
    paths = Analog().sample([history], 30, 400)
    median = np.median(paths[0], axis=0)
    assert median[:5].max() < 100  # still the night level before 08:00
    ramps = np.mean(paths[0, :, 15:].max(axis=1) > 150)  # the lead window: 08:05-08:20
    # Persistence draws its changes from any moment of the last 3 days: the ramp is in a few % of its
    # paths. The analogs of similar moments and of previous mornings carry it far more often.
    persistence = Analog(settings=[[1.0, 0.0]], similarity=0.0).sample([history], 30, 400)
    assert ramps > 2 * np.mean(persistence[0, :, 15:].max(axis=1) > 150)


def test_an_hourly_job_is_forecast_at_its_phase_of_the_hour() -> None:
    # A job at the top of every hour (minutes 0-4) over noise; the forecast is made after minute 49.
    minutes = np.arange(3 * 1440 + 80)
    hourly = np.where(minutes % 60 < 5, 80.0, 20.0) + np.random.default_rng(5).normal(0, 3, minutes.size)
    history, future = _series(hourly[:-30]), hourly[-30:]
    model = Analog()
    paths = model.sample([history], 30, 200)
    assert model.last_cycles == [60]
    median = np.median(paths[0], axis=0)
    assert median[10:15].min() > 60 and median[:9].max() < 40 and median[16:].max() < 40
    # Without cycle analogs the job is in a twelfth of the paths, at any minute.
    without = Analog(settings=[s for s in model.settings if s[2] == 0]).sample([history], 30, 200)
    assert crps(paths, future[None, :]) < 0.5 * crps(without, future[None, :])


def test_no_cycle_in_noise_and_then_cycle_settings_get_no_weight() -> None:
    model = Analog()
    model.sample([_series(100 + np.random.default_rng(6).normal(0, 5, 3 * 1440))], 30, 50)
    assert model.last_cycles == [0]
    cyclic = [w for (_, _, cycle), w in zip(model.settings, model.last_weights[0], strict=True) if cycle]
    assert cyclic and sum(cyclic) == 0.0


def test_settings_whose_shares_add_up_to_more_than_all_are_refused() -> None:
    with pytest.raises(ValueError, match="shares"):
        Analog(settings=[[1.0, 0.5, 0.6]])
    with pytest.raises(ValueError, match="shares"):
        Analog(settings=[[1.0, -0.5]])


def test_no_time_of_day_analogs_without_a_day_of_history() -> None:
    values = np.linspace(10, 20, 300)
    model = Analog()
    paths = model.sample([_series(values)], 30, 100)
    assert np.isfinite(paths).all() and paths.shape == (1, 100, 30)


def test_same_seed_same_paths() -> None:
    values = 100 + np.random.default_rng(4).normal(0, 5, 2000)
    a = Analog().sample([_series(values)], 10, 50, seed=7)
    b = Analog().sample([_series(values)], 10, 50, seed=7)
    np.testing.assert_array_equal(a, b)


def test_the_cache_never_serves_weights_scored_on_a_later_history() -> None:
    rng = np.random.default_rng(5)
    values = np.concatenate([100 + rng.normal(0, 10, 2000), 1000 + np.cumsum(rng.normal(0, 10, 2000))])
    late, early = _series(values), _series(values[:2000])
    model = Analog()
    model.sample([late], 30, 50)
    model.sample([early], 30, 50)
    fresh = Analog()
    fresh.sample([early], 30, 50)
    np.testing.assert_allclose(model.last_weights[0], fresh.last_weights[0])


@pytest.mark.parametrize(("rescore_horizons", "scorings"), [(1, 4), (3, 2)])
def test_cached_weights_last_their_horizons_then_are_rescored(rescore_horizons: int, scorings: int) -> None:
    values = 100 + np.random.default_rng(6).normal(0, 10, 3000)
    model = Analog(rescore_horizons=rescore_horizons)
    calls: list[int] = []
    score = model._weights

    def counting(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(1)
        return score(*args, **kwargs)  # type: ignore[arg-type]

    model._weights = counting  # type: ignore[method-assign]
    for end in range(2000, 2091):  # 91 ticks of one new reading each
        model.sample([_series(values[:end])], 30, 20)
    # Scored at the first tick, once more within the first period (the spread first expiry),
    # then once per period of `rescore_horizons` horizons: 4 scorings in 91 ticks (not 91) at one
    # horizon, 2 at three.
    assert len(calls) == scorings
    model.sample([dataclasses.replace(_series(values[:2090]), item_id="")], 30, 20)
    assert len(calls) == scorings + 1  # a series without an id is never cached


@pytest.mark.parametrize("length", [1, 2, 3, 10, 40])
def test_short_histories_give_finite_paths(length: int) -> None:
    paths = Analog().sample([_series(np.arange(1.0, length + 1))], 30, 20)
    assert np.isfinite(paths).all()


def test_config_round_trip() -> None:
    model = Analog(
        similarity=0.0, settings=[[1.0, 0.0], [0.3, 0.5], [0.1, 0.0, 1.0]], min_cycle_correlation=0.3
    )
    assert Analog(**model.config()).config() == model.config()
    assert model.config()["settings"][0] == [1.0, 0.0, 0.0]  # a pair is a setting without cycle analogs


def test_a_sped_up_day_is_a_day_when_the_series_says_how_long_it_lasts() -> None:
    # The daily step up at 08:00, replayed 60 times faster: a "day" is 24 one-minute steps.
    steps = np.arange(40 * 24)
    daily = np.where((steps % 24) >= 8, 200.0, 50.0)
    noise = np.random.default_rng(4).normal(0, 2, steps.size)
    origin = 39 * 24 + 6  # 06:00 of the 40th replayed day: the step up is 2 steps ahead
    values = (daily + noise)[:origin]

    def rises(season_seconds: int) -> float:
        history = Series(values, START, 60, item_id=f"s{season_seconds}", season_seconds=season_seconds)
        # Half the analogs at the same time of day, the rest anywhere in the lookback: the day's
        # length is all that differs between the two calls.
        model = Analog(settings=[[1.0, 0.5]], similarity=0.0)
        paths = model.sample([history], 4, 400, seed=1)
        return float(np.mean(paths[0, :, 2:].max(axis=1) > 150))

    # Read with a real day, the same-time analogs sit 1,440 steps back, before the history starts.
    assert rises(24 * 60) > 0.4 and rises(24 * 60) > 2 * rises(86_400)


def test_season_steps_follow_the_series_day() -> None:
    from foresight import forecasting

    history = Series(np.tile(np.r_[np.full(8, 50.0), np.full(16, 200.0)], 6), START, 60, season_seconds=1440)
    paths = forecasting.get("seasonal-naive").sample([history], 24, 50, seed=0)
    assert np.median(paths[0], axis=0)[:8].max() < 100 < np.median(paths[0], axis=0)[8:].min()
    with pytest.raises(ValueError, match="season_seconds"):
        Series(np.zeros(3), START, 60, season_seconds=0)


def test_analogs_are_drawn_by_similarity_and_never_from_moments_with_no_weight() -> None:
    from foresight.forecasting.analog import _follow, _Pools, _similarity, _starts

    # Two regimes: level 0 (like now, at index 149) and level 50 (unlike now) at indices 50..99.
    level = np.concatenate([np.zeros(50), np.full(50, 50.0), np.zeros(50)])
    pool = np.arange(10, 140)
    cdf = _similarity(level[None], pool, 0.2, 1.0)[0]
    weights = np.diff(cdf, prepend=0.0)
    assert weights[(pool >= 50) & (pool < 100)].max() == 0.0  # e^(-0.5 (50 / 10 / 0.2)^2) underflows
    # One step ahead, a path is level_now + filled[s + 1] - level[s]; with filled[i] = level[i - 1] + i - 1
    # it is the start s itself, so the paths say which moments were drawn.
    index = np.arange(level.size, dtype=float)
    filled = np.concatenate([[0.0], level[:-1] + index[:-1]])
    pools = _Pools(150, pool, cdf, np.empty(0, dtype=int))
    drawn = _starts(pools, pools.cdf(), 4000, 0, np.random.default_rng(0))
    starts = _follow(filled, level[None], 0, 150, drawn, 1)[:, 0]
    assert set(starts) <= set(pool.tolist())
    assert not ((starts >= 50) & (starts < 100)).any()
    # Moments just after the regime (their 5-step trend still falls) are drawn less than steady ones.
    assert np.mean((starts >= 100) & (starts < 105)) < 0.5 * np.mean((starts >= 110) & (starts < 115))


def test_a_long_lookback_is_thinned_to_the_pool_size_keeping_the_newest_moment() -> None:
    from foresight.forecasting.analog import Analog, _similarity

    filled = np.sin(np.arange(5_000) / 50.0) * 100 + 500
    levels = np.stack([filled])
    model = Analog(pool_size=720, settings=((1.0, 0.0),))
    pools = model._pools(filled, levels, origin=5_000, step_seconds=60, horizon_steps=30)
    recent = model.lookback_seconds // 60  # 4,320 one-minute moments ...
    assert pools.recent.size <= 720 and pools.recent[-1] == 5_000 - 30 - 1  # ... thinned, newest kept
    assert (np.diff(pools.recent) == 6).all() and pools.recent[0] >= 5_000 - 30 - recent
    # The thinned moments weigh what they weigh among all moments: thinning only leaves moments out.
    every = np.arange(pools.recent[0], 5_000 - 30)
    scale = np.std(np.diff(filled[every[0] :])) + 1e-12  # the unit of similarity: the one-step change
    full = np.diff(_similarity(levels, every, 0.2, scale)[0], prepend=0.0)
    thinned = np.diff(pools.recent_cdf[0], prepend=0.0)
    np.testing.assert_allclose(thinned, full[::6] / full[::6].max(), rtol=1e-9, atol=1e-12)
    # At a coarse step the same lookback has fewer moments than the pool size, and none is dropped.
    coarse = model._pools(filled[:900], levels[:, :900], origin=900, step_seconds=600, horizon_steps=3)
    assert (np.diff(coarse.recent) == 1).all() and coarse.recent.size == 432


def test_histories_sampled_together_get_the_paths_they_get_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from foresight.forecasting import analog

    rng = np.random.default_rng(3)
    # Histories of three lengths, interleaved, so that the batch is cut into several groups and chunks.
    lengths = [3_000, 2_000, 3_000, 700, 2_000, 3_000, 3_000, 700, 3_000, 3_000, 2_000, 3_000]
    histories = [
        Series(200 + np.cumsum(rng.normal(size=n)), START, 60, item_id=f"s{i}") for i, n in enumerate(lengths)
    ]
    together = analog.Analog().sample(histories, 30, 40, seed=5)
    monkeypatch.setattr(analog, "_CHUNK", 1)
    alone = analog.Analog().sample(histories, 30, 40, seed=5)
    np.testing.assert_array_equal(together, alone)
