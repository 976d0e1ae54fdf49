"""`foresight forecast`: the workload's day reaches the model, and a day shorter than two steps is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from foresight import forecasting
from foresight.cli import app


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    """Six replayed days of 24 one-minute steps: low for 8 steps, then high."""
    values = np.tile(np.r_[np.full(8, 50.0), np.full(16, 200.0)], 6)
    stamps = pd.Timestamp("2026-01-05", tz="UTC") + pd.to_timedelta(np.arange(values.size), unit="min")
    path = tmp_path / "load.csv"
    pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": values}).to_csv(path)
    return path


def test_the_season_reaches_the_model(trace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    original = forecasting.BaseForecaster.forecast

    def recording(self: Any, series: list[forecasting.Series], *args: Any, **kwargs: Any) -> Any:
        seen.extend(s.season_seconds for s in series)
        return original(self, series, *args, **kwargs)

    monkeypatch.setattr(forecasting.BaseForecaster, "forecast", recording)
    args = [
        "forecast",
        "--csv",
        str(trace),
        "--model",
        "seasonal-naive",
        "--horizon",
        "10m",
        "--samples",
        "20",
    ]
    runner = CliRunner()
    assert runner.invoke(app, [*args, "--season", "24m"]).exit_code == 0
    assert runner.invoke(app, args).exit_code == 0
    assert seen == [1440, 86_400]
    refused = runner.invoke(app, [*args, "--season", "90s"])
    assert refused.exit_code != 0 and "--season" in refused.output
