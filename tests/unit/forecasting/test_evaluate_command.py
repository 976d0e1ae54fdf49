"""``foresight evaluate`` end to end on a small real slice: JSON schema, plot, metric sanity."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from foresight.commands.evaluate import evaluate
from foresight.forecasting import _metrics, backtest

from .conftest import DATA


def test_evaluate_writes_the_documented_json_and_a_plot(tmp_path: pathlib.Path) -> None:
    out, png = tmp_path / "scores.json", tmp_path / "fan.png"
    evaluate(
        trace=DATA / "azure_v2_cpu_usage_test_tail_300s.csv",
        horizon="30m",
        models="seasonal-naive,fft",
        origins=10,
        samples=50,
        json_out=out,
        plot=png,
    )
    result = json.loads(out.read_text())
    assert result["trace"].endswith("azure_v2_cpu_usage_test_tail_300s.csv")
    assert (result["step_seconds"], result["horizon_steps"], result["origins"]) == (300, 6, 10)
    for scores in result["models"].values():
        assert set(scores) >= {"crps", "wql", "mase", "coverage_80", "coverage_90", "under_forecast_error"}
        assert set(scores["wql"]) == {"0.1", "0.5", "0.9"}
        assert 0.0 <= scores["coverage_80"] <= scores["coverage_90"] <= 1.0
        assert all(np.isfinite(v) for v in (scores["crps"], scores["mase"], scores["under_forecast_error"]))
    assert png.stat().st_size > 10_000


def test_origins_stay_in_the_test_split() -> None:
    from foresight.forecasting import datasets

    s = datasets.read_trace(DATA / "azure_v2_cpu_usage_test_tail_300s.csv", columns=["cpu_usage"])[0]
    bt = backtest.prepare([s], 6, max_origins=50)
    assert bt.origin_index.min() >= datasets.split_index(len(s))
    assert all(len(h) <= o for h, o in zip(bt.histories, bt.origin_index, strict=True))


def test_crps_of_a_perfect_point_forecast_is_zero_and_grows_with_error() -> None:
    actual = np.array([[10.0, 20.0]])
    exact = np.broadcast_to(actual[:, None, :], (1, 50, 2))
    assert _metrics.crps(exact, actual) == pytest.approx(0.0)
    assert _metrics.crps(exact + 1.0, actual) == pytest.approx(2.0 / 30.0)
