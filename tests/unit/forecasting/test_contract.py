"""One contract for every registered forecaster: shapes, edges, determinism, no leakage, artifacts."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from foresight import forecasting
from foresight.forecasting import auto as auto_module

from .conftest import tiny

HORIZON = 6
SAMPLES = 20


# Module scope: one tiny fit per model for the whole contract (keeps the suite fast); the
# leakage test reuses the same instance on purpose, so state kept across calls would show.
@pytest.fixture(scope="module", params=forecasting.names())
def model(request: pytest.FixtureRequest, azure: forecasting.Series) -> forecasting.BaseForecaster:
    m = tiny(request.param)
    m.fit([azure.head(600)])
    if isinstance(m, auto_module.Auto):
        for inner in m._models.values():
            inner.fit([azure.head(600)])
    return m


def _edge_cases(azure: forecasting.Series) -> list[forecasting.Series]:
    values = azure.values[:300].copy()
    values[[10, 50, 51, 52, 299]] = [np.nan, np.inf, -5.0, np.nan, np.nan]  # gaps, Inf, negative
    return [
        dataclasses.replace(azure, values=values),
        azure.tail(2),  # two readings: minutes of history
        azure.tail(1),
        azure.tail(20),  # short but usable
        dataclasses.replace(azure, values=np.full(100, np.nan)),  # nothing observed
        dataclasses.replace(azure, values=np.zeros(100)),  # an idle workload
    ]


def test_registry_lists_all_models() -> None:
    assert set(forecasting.names()) >= {"auto", "deepar", "seasonal-naive", "holt-winters", "fft"}


def test_shapes_edges_and_nonnegativity(model: forecasting.BaseForecaster, azure: forecasting.Series) -> None:
    batch = _edge_cases(azure)
    paths = model.sample(batch, horizon_steps=HORIZON, n_samples=SAMPLES, seed=0)
    assert paths.shape == (len(batch), SAMPLES, HORIZON)
    assert paths.dtype == np.float64
    usable = [0, 1, 2, 3, 5]
    assert np.isfinite(paths[usable]).all()
    assert (paths[usable] >= 0).all()
    assert np.isnan(paths[4]).all(), "no observed data must give NaN paths, never zeros"
    # Short histories still give a forecast around their level, not a silent zero.
    assert np.median(paths[1]) > 0.5 * np.nanmean(azure.values[-2:])
    assert np.allclose(paths[5], 0.0, atol=1e-6 * float(np.nanmean(azure.values)) + 1e-9) or model.name in {
        "deepar",
        "auto",
    }


def test_deterministic_for_a_seed(model: forecasting.BaseForecaster, azure: forecasting.Series) -> None:
    batch = [azure.head(500), azure.head(700)]
    a = model.sample(batch, HORIZON, SAMPLES, seed=3)
    b = model.sample(batch, HORIZON, SAMPLES, seed=3)
    c = model.sample(batch, HORIZON, SAMPLES, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


class _LeakyCache(forecasting.BaseForecaster):
    """A deliberately broken model: remembers the longest history per item and peeks ahead."""

    name: ClassVar[str] = "leaky"

    def __init__(self) -> None:
        self.seen: dict[str, np.ndarray] = {}

    def _sample_batch(self, series, horizon_steps, n_samples, seed):  # type: ignore[no-untyped-def]
        out = []
        for s in series:
            longest = self.seen.get(s.item_id)
            if longest is None or len(longest) < len(s):
                self.seen[s.item_id] = longest = s.values
            nxt = longest[len(s) : len(s) + horizon_steps]
            point = np.resize(nxt if nxt.size else s.values[-1:], horizon_steps)
            out.append(np.broadcast_to(point, (n_samples, horizon_steps)))
        return np.stack(out).astype(float)


def _forecast_after_seeing_the_future(
    model: forecasting.BaseForecaster, full: forecasting.Series, origin: int
) -> np.ndarray:
    model.sample([full], HORIZON, SAMPLES, seed=0)  # the model has seen everything once...
    return model.sample([full.head(origin)], HORIZON, SAMPLES, seed=0)  # ...now forecast the past


def _no_leak(make: type | object, azure: forecasting.Series) -> bool:
    origin = 600
    changed = azure.values.copy()
    changed[origin:] *= 3.0  # a different future, same past
    other = dataclasses.replace(azure, values=changed)
    a = _forecast_after_seeing_the_future(make() if callable(make) else make, azure, origin)
    b = _forecast_after_seeing_the_future(make() if callable(make) else make, other, origin)
    return bool(np.array_equal(a, b))


def test_leak_check_catches_a_leaking_model(azure: forecasting.Series) -> None:
    assert not _no_leak(_LeakyCache, azure)


def test_no_leakage(model: forecasting.BaseForecaster, azure: forecasting.Series) -> None:
    # The same (fitted) instance sees both futures: any state kept across calls would show.
    origin = 600
    changed = azure.values.copy()
    changed[origin:] *= 3.0
    other = dataclasses.replace(azure, values=changed)
    a = _forecast_after_seeing_the_future(model, azure, origin)
    b = _forecast_after_seeing_the_future(model, other, origin)
    np.testing.assert_array_equal(a, b)


def test_save_load_round_trip(model: forecasting.BaseForecaster, azure: forecasting.Series, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model.save(tmp_path / "artifact")
    loaded = forecasting.load(tmp_path / "artifact")
    assert type(loaded) is type(model)
    if isinstance(model, auto_module.Auto):
        loaded._models = model._models  # candidates are artifacts of their own
    batch = [azure.head(650)]
    np.testing.assert_array_equal(
        model.sample(batch, HORIZON, SAMPLES, 1), loaded.sample(batch, HORIZON, SAMPLES, 1)
    )


def test_quantiles_helper() -> None:
    paths = np.random.default_rng(0).normal(size=(2, 1000, 3))
    q = forecasting.quantiles(paths, [0.1, 0.5, 0.9])
    assert q.shape == (2, 3, 3)
    assert (q[:, 0] < q[:, 1]).all() and (q[:, 1] < q[:, 2]).all()


def test_series_timestamps_are_utc() -> None:
    s = forecasting.Series(np.ones(3), pd.Timestamp("2024-01-01 00:00"), 60)
    assert str(s.start.tz) == "UTC"
    assert s.timestamps().tolist() == [1704067200, 1704067260, 1704067320]


def test_the_api_lists_exactly_the_registered_forecasters() -> None:
    """``spec.forecast.model`` accepts a name if and only if the registry has it."""
    from typing import get_args

    from foresight.api.v1alpha1.predictive_scaler import ForecastModelName

    assert sorted(get_args(ForecastModelName)) == forecasting.names()
