"""Disk health: features from SMART readings, the numpy model, horizons, artifact, exporter mapping."""

from __future__ import annotations

import itertools
import json
import math
import pathlib

import numpy as np
import pytest

from foresight.planning import disk_health
from foresight.planning.disk_health import DiskHealthModel, SmartReadings

SHIPPED = pathlib.Path(__file__).parents[3] / "models" / "disk-health-v1"
N_FEATURES = len(disk_health.feature_names())


def toy_model(p_by_horizon: dict[float, float], weights: dict[str, float] | None = None) -> DiskHealthModel:
    """A model whose probability for an all-zero drive is ``p_by_horizon``; ``weights`` by feature name."""
    names = disk_health.feature_names()
    coef = [0.0] * N_FEATURES
    for name, value in (weights or {}).items():
        coef[names.index(name)] = value
    horizons = sorted(p_by_horizon)
    return DiskHealthModel(
        horizons_days=tuple(horizons),
        intercepts=tuple(math.log(p_by_horizon[h] / (1 - p_by_horizon[h])) for h in horizons),
        coefficients=tuple(tuple(coef) for _ in horizons),
        feature_mean=(0.0,) * N_FEATURES,
        feature_scale=(1.0,) * N_FEATURES,
        operating_points={f"{h:g}": {"threshold": 0.5} for h in horizons},
    )


def test_feature_matrix_has_one_column_per_name_and_one_row_per_drive() -> None:
    assert disk_health.feature_matrix(np.zeros((3, len(disk_health.ATTRIBUTES)))).shape == (3, N_FEATURES)
    assert len(set(disk_health.feature_names())) == N_FEATURES


def test_a_missing_past_reading_means_no_change() -> None:
    now = np.array([[8.0, 0, 10, 2, 0, 0, 0, 4, 0]])
    none = disk_health.feature_matrix(now)
    same = disk_health.feature_matrix(now, {w: now for w in disk_health.CHANGE_WINDOWS_DAYS})
    unknown = disk_health.feature_matrix(now, {w: np.full_like(now, np.nan) for w in (1, 7, 30)})
    np.testing.assert_array_equal(none, same)
    np.testing.assert_array_equal(none, unknown)
    names = disk_health.feature_names()
    assert none[0, names.index("log1p_precursors")] == pytest.approx(math.log1p(14.0))
    assert all(none[0, i] == 0 for i, n in enumerate(names) if n.startswith(("change_", "increased_")))


def test_a_change_shows_only_in_the_windows_that_reach_back_before_it() -> None:
    now = np.zeros((1, 9))
    now[0, 0] = 8.0
    then = {1: now.copy(), 7: np.zeros((1, 9)), 30: np.zeros((1, 9))}
    x = disk_health.feature_matrix(now, then)[0]
    names = disk_health.feature_names()
    assert x[names.index("change_1d_5")] == 0 and x[names.index("increased_1d_5")] == 0
    assert x[names.index("change_7d_5")] == pytest.approx(math.log1p(8))
    assert x[names.index("increased_30d_5")] == 1
    assert x[names.index("change_7d_precursors")] == pytest.approx(math.log1p(8))


def test_readings_put_each_attribute_in_its_column() -> None:
    now, past = disk_health.readings_arrays([SmartReadings({197: 3.0, 5: 1.0}, {7: {197: 1.0}})])
    assert now[0, disk_health.ATTRIBUTES.index(197)] == 3.0
    assert now[0, disk_health.ATTRIBUTES.index(5)] == 1.0
    assert now[0, disk_health.ATTRIBUTES.index(10)] == 0.0  # not reported: zero, as in the data
    assert past[7][0, disk_health.ATTRIBUTES.index(197)] == 1.0
    assert np.isnan(past[7][0, disk_health.ATTRIBUTES.index(5)])  # not read then: unchanged


def test_rising_reallocated_count_scores_above_a_steady_one() -> None:
    model = toy_model({1: 0.001, 7: 0.005}, {"change_7d_5": 1.0, "log1p_5": 0.2})
    steady = SmartReadings({5: 8.0}, {7: {5: 8.0}})
    rising = SmartReadings({5: 8.0}, {7: {5: 0.0}})
    assert model.failure_probability(rising, 7) > 3 * model.failure_probability(steady, 7)


def test_fitted_horizons_are_hit_exactly_and_others_interpolate_the_hazard() -> None:
    model = toy_model({1: 0.01, 7: 0.05, 30: 0.2})
    r = SmartReadings({})
    for h, p in ((1, 0.01), (7, 0.05), (30, 0.2)):
        assert model.failure_probability(r, h) == pytest.approx(p)
    assert model.failure_probability(r, 0) == 0.0
    hazard_1d = -math.log(0.99)
    assert model.failure_probability(r, 0.25) == pytest.approx(1 - math.exp(-hazard_1d / 4))
    grid = [model.failure_probability(r, h) for h in np.linspace(0, 90, 181)]
    assert all(b >= a for a, b in itertools.pairwise(grid))
    assert model.failure_probability(r, 60) == pytest.approx(1 - 0.8**2)  # the 30-day rate goes on


def test_a_longer_horizon_never_reads_as_safer() -> None:
    model = toy_model({1: 0.2, 7: 0.05})  # inconsistent fits: the 1-day one says more
    fitted = model.probabilities(np.zeros((1, 9)))
    assert fitted[0, 1] == pytest.approx(fitted[0, 0]) == pytest.approx(0.2)
    assert model.failure_probability(SmartReadings({}), 4) == pytest.approx(0.2)


def test_json_round_trip(tmp_path: pathlib.Path) -> None:
    model = toy_model({1: 0.01, 7: 0.05}, {"log1p_197": 0.7})
    model.save(tmp_path)
    loaded = DiskHealthModel.load(tmp_path)
    assert loaded == model
    readings = [SmartReadings({197: 5.0}), SmartReadings({})]
    np.testing.assert_allclose(
        loaded.failure_probabilities(readings, 3), model.failure_probabilities(readings, 3)
    )


def test_an_artifact_with_other_features_or_unordered_horizons_is_refused() -> None:
    body = toy_model({1: 0.01}).to_json()
    body["feature_names"] = [*body["feature_names"][:-1], "something_else"]
    with pytest.raises(ValueError, match="features differ"):
        DiskHealthModel.from_json(body)
    with pytest.raises(ValueError, match="increasing"):
        DiskHealthModel(
            (7.0, 1.0), (0.0, 0.0), ((0.0,) * N_FEATURES,) * 2, (0.0,) * N_FEATURES, (1.0,) * N_FEATURES
        )


def test_every_attribute_maps_to_its_smartctl_exporter_series() -> None:
    assert [a.id for a in disk_health.SMART_ATTRIBUTES] == [5, 10, 12, 187, 188, 189, 196, 197, 198]
    assert set(disk_health.PRECURSORS) <= set(disk_health.ATTRIBUTES)
    for a in disk_health.SMART_ATTRIBUTES:
        assert a.exporter_selector == (
            f'smartctl_device_attribute{{attribute_id="{a.id}",attribute_value_type="raw"}}'
        )
        assert disk_health.exporter_query(a.id, 30).endswith(" offset 30d")
        assert disk_health.exporter_query(a.id) == a.exporter_selector
    with pytest.raises(ValueError):
        disk_health.exporter_query(9)  # not a model input


def test_a_node_fails_if_any_of_its_drives_does() -> None:
    assert disk_health.any_drive_fails([0.5, 0.5]) == pytest.approx(0.75)
    assert disk_health.any_drive_fails([0.0]) == 0.0


def test_shipped_artifact_is_small_and_ranks_drives_sensibly() -> None:
    assert (SHIPPED / disk_health.MODEL_FILE).stat().st_size < 200_000
    assert json.loads((SHIPPED / disk_health.MODEL_FILE).read_text())["horizons_days"] == [1, 7, 30]
    model = DiskHealthModel.load(SHIPPED)
    clean = SmartReadings({12: 10.0})
    steady = SmartReadings({5: 40.0, 12: 10.0}, {w: {5: 40.0} for w in (1, 7, 30)})
    rising = SmartReadings({5: 40.0, 12: 10.0}, {1: {5: 8.0}, 7: {5: 0.0}, 30: {5: 0.0}})
    for horizon in (1, 7, 30):
        p = model.failure_probabilities([clean, steady, rising], horizon)
        assert 0 < p[0] < p[1] < p[2] < 1
        assert 0 < model.threshold(horizon) < 1
