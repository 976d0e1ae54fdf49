"""``foresight evaluate`` end to end on a small real slice: JSON schema, plot, metric sanity."""

from __future__ import annotations

import json
import pathlib
from typing import Any, ClassVar

import numpy as np
import pytest

from foresight.commands.evaluate import evaluate
from foresight.forecasting import _metrics, _registry, backtest
from foresight.forecasting.naive import Naive

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
    assert result["protocol"] == "test-split" and "leave-one-trace-out" in result["protocol_note"]
    assert result["lead_window"] == {
        "startup_seconds": 180.0,
        "window_seconds": 600.0,
        "first_step": 0,
        "last_step": 1,
    }
    assert list(result["models"]) == ["seasonal-naive", "fft", "naive"]  # the reference is always added
    for scores in result["models"].values():
        assert set(scores) >= {
            "crps",
            "crps_vs_naive",
            "wql",
            "mase",
            "coverage_80",
            "coverage_90",
            "under_forecast_error",
            "peak",
        }
        assert set(scores["wql"]) == {"0.1", "0.5", "0.9"}
        assert 0.0 <= scores["coverage_80"] <= scores["coverage_90"] <= 1.0
        assert all(np.isfinite(v) for v in (scores["crps"], scores["mase"], scores["under_forecast_error"]))
        assert scores["crps_vs_naive"] == pytest.approx(scores["crps"] / result["models"]["naive"]["crps"])
        assert set(scores["peak"]["wql"]) == set(scores["peak"]["coverage"]) == {"0.9", "0.99"}
        assert 0.0 <= scores["peak"]["coverage"]["0.9"] <= scores["peak"]["coverage"]["0.99"] <= 1.0
    assert result["models"]["naive"]["crps_vs_naive"] == 1.0
    assert png.stat().st_size > 10_000


class _TooLow(Naive):
    """A deliberately biased model: naive's paths, 30 % too low."""

    name: ClassVar[str] = "too-low"

    def _sample_batch(self, series: Any, horizon_steps: int, n_samples: int, seed: int) -> np.ndarray:
        return 0.7 * super()._sample_batch(series, horizon_steps, n_samples, seed)


def test_the_reference_ratio_and_peak_coverage_can_fail(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(_registry._REGISTERED, _TooLow.name, (_TooLow, None))
    out = tmp_path / "scores.json"
    evaluate(trace=DATA / "azure_v2_cpu_usage_test_tail_300s.csv", models="too-low", origins=20, json_out=out)
    models = json.loads(out.read_text())["models"]
    assert list(models) == ["too-low", "naive"]
    assert models["too-low"]["crps_vs_naive"] > 3.0
    assert models["too-low"]["peak"]["coverage"]["0.9"] < 0.2
    assert models["too-low"]["peak"]["wql"]["0.9"] > 3 * models["naive"]["peak"]["wql"]["0.9"]
    assert models["naive"]["peak"]["coverage"]["0.9"] > 0.7


def test_a_horizon_shorter_than_the_lead_window_is_extended(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "scores.json"
    evaluate(
        trace=DATA / "nasa_http_test_tail_60s.csv",
        horizon="5m",
        startup="3m",
        window="10m",
        models="naive",
        origins=5,
        json_out=out,
    )
    result = json.loads(out.read_text())
    assert result["horizon_steps"] == 13
    assert (result["lead_window"]["first_step"], result["lead_window"]["last_step"]) == (2, 12)


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
