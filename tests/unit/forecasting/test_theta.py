"""statsmodels' Theta as a reference: paths agree with the library's own intervals, lazy import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from foresight import forecasting
from foresight.forecasting import theta


def test_paths_reproduce_the_library_intervals_at_every_level(azure: forecasting.Series) -> None:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    history = azure.head(700)  # 2.4 days at 5 minutes: the daily season is tested for
    paths = forecasting.get("theta").sample([history], horizon_steps=6, n_samples=20_000, seed=0)[0]
    # The library, called directly with the settings the module documents.
    result = ThetaModel(history.clean(), period=288, method="additive").fit()
    for alpha in (0.1, 0.2, 0.5):
        band = result.prediction_intervals(6, alpha=alpha)
        lower, upper = np.quantile(paths, [alpha / 2, 1 - alpha / 2], axis=0)
        width = np.asarray(band["upper"] - band["lower"])
        np.testing.assert_allclose(lower, band["lower"], atol=0.03 * width.max())
        np.testing.assert_allclose(upper, band["upper"], atol=0.03 * width.max())
    np.testing.assert_allclose(np.median(paths, axis=0), result.forecast(6), atol=0.02 * width.max())


def test_steps_are_correlated_like_the_model_says() -> None:
    noise = np.random.default_rng(0).standard_normal((50_000, 4))
    walk = theta._unit_ma_paths(noise, 1.0)  # alpha = 1: a random walk
    assert np.corrcoef(walk[:, 0], walk[:, 3])[0, 1] == pytest.approx(0.5, abs=0.02)  # sqrt(1/4)
    white = theta._unit_ma_paths(noise, 0.0)  # alpha = 0: independent errors
    assert abs(np.corrcoef(white[:, 0], white[:, 3])[0, 1]) < 0.02


def test_a_constant_history_is_forecast_exactly_without_the_library() -> None:
    s = forecasting.Series(np.full(50, 7.0), pd.Timestamp("2024-01-01", tz="UTC"), 60)
    np.testing.assert_array_equal(forecasting.get("theta").sample([s], 5, 10), 7.0)


def test_a_history_the_library_refuses_gets_the_shared_short_history_paths(
    monkeypatch: pytest.MonkeyPatch, azure: forecasting.Series
) -> None:
    def refuse(*_: object) -> None:
        raise np.linalg.LinAlgError("singular")

    monkeypatch.setattr(theta, "_fit", refuse)
    paths = forecasting.get("theta").sample([azure.head(100)], 5, 50)
    assert np.isfinite(paths).all() and np.median(paths) > 0.5 * np.nanmean(azure.values[90:100])


def test_importing_the_package_does_not_import_statsmodels() -> None:
    code = "import sys, foresight.forecasting as f; f.names(); print('statsmodels' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout.strip() == "False"
