"""Bad input gets the answer ``BaseForecaster.sample`` documents, from every registered model.

The models are the registry's defaults (the shipped DeepAR, ``auto`` over it): what the
operator runs. One test per rule of the docstring, each over every model.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from foresight import forecasting
from foresight.forecasting import auto as auto_module
from foresight.forecasting import deepar
from foresight.forecasting._protocol import NonFiniteForecastError

HORIZON = 30
SAMPLES = 50
START = pd.Timestamp("2024-01-01", tz="UTC")
# Models with no learned parts: on a constant history they have no error to bootstrap.
STATISTICAL = {"seasonal-naive", "holt-winters", "fft"}


@pytest.fixture(scope="module", params=forecasting.names())
def model(request: pytest.FixtureRequest) -> forecasting.BaseForecaster:
    return forecasting.get(request.param)


def _steady(n: int = 600, step_seconds: int = 60, seed: int = 0) -> forecasting.Series:
    """Around 50 with an hourly wave and noise: a workload every model should read as ~50."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * step_seconds
    values = 50 + 5 * np.sin(2 * np.pi * t / 3600) + rng.normal(0, 1, n)
    return forecasting.Series(values, START, step_seconds)


def _with(series: forecasting.Series, values: np.ndarray) -> forecasting.Series:
    return dataclasses.replace(series, values=values)


def _forecast(model: forecasting.BaseForecaster, series: forecasting.Series) -> np.ndarray:
    paths = model.sample([series], HORIZON, SAMPLES, seed=0)
    assert paths.shape == (1, SAMPLES, HORIZON) and paths.dtype == np.float64
    return paths[0]


def _usable(paths: np.ndarray, nonnegative: bool = True) -> None:
    assert np.isfinite(paths).all()
    if nonnegative:
        assert (paths >= 0).all()


def test_gaps_inside_the_history_are_interpolated(model: forecasting.BaseForecaster) -> None:
    steady = _steady()
    values = steady.values.copy()
    values[[100, 250]] = np.nan
    values[300:360] = np.nan  # an hour without readings
    values[400:430] = np.inf  # broken readings are gaps too
    paths = _forecast(model, _with(steady, values))
    _usable(paths)
    assert 40 < np.median(paths) < 60


def test_gaps_at_the_end_carry_the_last_reading_forward(model: forecasting.BaseForecaster) -> None:
    values = np.full(300, 20.0)
    values[-30:] = np.nan  # half an hour without readings up to the decision time
    paths = _forecast(model, forecasting.Series(values, START, 60))
    _usable(paths)
    assert np.median(paths) == pytest.approx(20.0, rel=0.05)


def test_a_constant_series_forecasts_the_constant(model: forecasting.BaseForecaster) -> None:
    paths = _forecast(model, forecasting.Series(np.full(300, 7.0), START, 60))
    _usable(paths)
    assert np.median(paths) == pytest.approx(7.0, rel=0.05)
    if model.name in STATISTICAL:
        np.testing.assert_allclose(paths, 7.0, rtol=1e-9)  # no spread, up to rounding
    idle = _forecast(model, forecasting.Series(np.zeros(300), START, 60))
    _usable(idle)


def test_negative_readings_of_a_nonnegative_series_are_gaps(model: forecasting.BaseForecaster) -> None:
    steady = _steady()
    glitched, gapped = steady.values.copy(), steady.values.copy()
    glitched[::7] = -50.0  # a rate() over a counter reset the caller missed
    gapped[::7] = np.nan
    paths = _forecast(model, _with(steady, glitched))
    _usable(paths)
    np.testing.assert_array_equal(paths, _forecast(model, _with(steady, gapped)))


def test_only_negative_readings_is_no_forecast(model: forecasting.BaseForecaster) -> None:
    paths = _forecast(model, forecasting.Series(np.full(100, -3.0), START, 60))
    assert np.isnan(paths).all()


def test_a_signed_series_keeps_its_negative_readings(model: forecasting.BaseForecaster) -> None:
    steady = _steady()
    signed = dataclasses.replace(steady, values=steady.values - 100.0, nonnegative=False)
    paths = _forecast(model, signed)
    _usable(paths, nonnegative=False)
    assert -60 < np.median(paths) < -40


def test_a_spike_is_kept_but_does_not_move_the_median(model: forecasting.BaseForecaster) -> None:
    steady = _steady()
    spiked = steady.values.copy()
    spiked[300] = 1000 * np.median(steady.values)
    paths = _forecast(model, _with(steady, spiked))
    _usable(paths)
    assert np.median(paths) == pytest.approx(np.median(_forecast(model, steady)), rel=0.1)


def test_a_spike_as_the_last_reading_gives_a_finite_forecast(model: forecasting.BaseForecaster) -> None:
    steady = _steady()
    spiked = steady.values.copy()
    spiked[-1] = 1000 * np.median(steady.values)
    _usable(_forecast(model, _with(steady, spiked)))


@pytest.mark.parametrize("step_seconds", [15, 60])
@pytest.mark.parametrize("readings", [1, 2, 3])
def test_one_to_three_readings(model: forecasting.BaseForecaster, readings: int, step_seconds: int) -> None:
    series = forecasting.Series(np.array([40.0, 42.0, 41.0])[:readings], START, step_seconds)
    paths = _forecast(model, series)
    _usable(paths)
    assert 30 < np.median(paths) < 50


@pytest.mark.parametrize("values", [[], [np.nan] * 50, [np.inf] * 5], ids=["empty", "all-gaps", "all-inf"])
def test_no_reading_is_no_forecast(model: forecasting.BaseForecaster, values: list[float]) -> None:
    assert np.isnan(_forecast(model, forecasting.Series(np.array(values), START, 60))).all()


def test_a_history_longer_than_the_context_reads_only_its_recent_part(
    model: forecasting.BaseForecaster,
) -> None:
    days, step = 60, 60
    n = days * 86_400 // step
    t = np.arange(n + HORIZON) * step
    truth = 50 + 20 * np.sin(2 * np.pi * t / 86_400)
    series = forecasting.Series(truth[:n], START, step)
    started = time.perf_counter()
    paths = _forecast(model, series)
    assert time.perf_counter() - started < 10.0
    _usable(paths)
    assert np.median(paths) == pytest.approx(np.median(truth[n:]), rel=0.3)
    assert len(series) > deepar.DeepAR().cfg.past_length * 100  # far beyond DeepAR's context


def test_invalid_arguments_raise(model: forecasting.BaseForecaster) -> None:
    with pytest.raises(ValueError, match="horizon_steps and n_samples"):
        model.sample([_steady()], 0, SAMPLES)
    with pytest.raises(ValueError, match="horizon_steps and n_samples"):
        model.sample([_steady()], HORIZON, 0)


class _NaNModel(forecasting.BaseForecaster):
    """A deliberately broken model: NaN paths for histories that have readings."""

    name: ClassVar[str] = "nan-model"

    def _sample_batch(
        self, series: list[forecasting.Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        return np.full((len(series), n_samples, horizon_steps), np.nan)


def test_a_model_returning_nan_paths_raises_instead_of_passing_them_on() -> None:
    good = dataclasses.replace(_steady(), item_id="web/cpu")
    with pytest.raises(NonFiniteForecastError, match=r"nan-model returned non-finite paths .*web/cpu"):
        _NaNModel().sample([good], HORIZON, SAMPLES)
    # Short and empty histories never reach the model, so they are not its fault.
    short = forecasting.Series(np.array([1.0, 2.0]), START, 60)
    empty = forecasting.Series(np.full(10, np.nan), START, 60)
    paths = _NaNModel().sample([short, empty], HORIZON, SAMPLES)
    assert np.isfinite(paths[0]).all() and np.isnan(paths[1]).all()


# -- the FailoverPolicy's node signals (auto: `index 0 is out of bounds for axis 0 with size 0`) ------


def _node_signal(values: list[float], step_seconds: int, node: str = "kwok-node-0") -> forecasting.Series:
    """A node signal as ``failover_policy._signal_paths`` builds it: leading gaps trimmed."""
    raw = np.asarray(values, dtype=float)
    first = int(np.flatnonzero(np.isfinite(raw))[0])
    start = START + pd.Timedelta(seconds=first * step_seconds)
    return forecasting.Series(raw[first:], start, step_seconds, item_id=f"{node}/cpu")


def test_auto_on_a_node_created_a_minute_ago() -> None:
    """The failing input: horizon 5m gives a 15 s step (max(15, 300 // 30)); a node a minute old
    has four readings. DeepAR averages sub-minute series to 5-minute blocks, i.e. 20 readings per
    block; fewer than 20 gave no block at all and indexing the empty history raised. ``auto``
    sends histories too short to backtest to its first candidate, DeepAR, so every call failed."""
    series = _node_signal([np.nan, np.nan, 0.5, 0.5, 0.5, 0.5], step_seconds=15)
    # The candidates as they were when the bug showed (DeepAR first).
    auto = forecasting.get("auto", candidates=["deepar", "seasonal-naive", "holt-winters", "fft"])
    assert isinstance(auto, auto_module.Auto)
    paths, chosen = auto.forecast([series], 30, 100, seed=0)
    assert paths.shape == (1, 100, 30) and np.isfinite(paths).all()
    assert chosen == ["deepar"]
    assert np.median(paths) == pytest.approx(0.5, rel=0.2)


@pytest.mark.parametrize("step_seconds", [15, 20, 17, 45, 59])
def test_auto_on_short_sub_minute_node_signals(step_seconds: int) -> None:
    """Odd steps and every length from 3 readings to past one 5-minute block, constant or not."""
    rng = np.random.default_rng(step_seconds)
    batch = []
    for n in range(3, 2 * 300 // step_seconds + 3):
        batch.append(_node_signal(list(np.full(n, 0.9)), step_seconds, node=f"const-{n}"))
        batch.append(_node_signal(list(rng.uniform(0.2, 0.4, n)), step_seconds, node=f"noisy-{n}"))
    paths = forecasting.get("auto").sample(batch, 30, 100, seed=0)
    assert paths.shape == (len(batch), 100, 30) and np.isfinite(paths).all()
    assert ((paths >= 0) & (paths < 10)).all()


def test_deepar_keeps_readings_that_do_not_fill_a_whole_block() -> None:
    """Five readings then twenty gaps at 15 s: the readings sat in the dropped partial block, the
    blocks left were empty, and DeepAR forecast about 0.4 for a series at 40 ("no load")."""
    values = np.r_[np.full(5, 40.0), np.full(20, np.nan)]
    paths = forecasting.get("deepar").sample([forecasting.Series(values, START, 15)], 30, 100)
    assert np.isfinite(paths).all()
    assert np.median(paths) == pytest.approx(40.0, rel=0.2)
