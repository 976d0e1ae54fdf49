"""Models behind an optional extra: a clear error when it is missing, and ``auto`` runs without them."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from foresight import forecasting
from foresight.forecasting import _registry, auto


@pytest.fixture
def without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``torch`` and ``fracast`` look uninstalled to the registry's lookup."""
    find_spec = importlib.util.find_spec

    def hidden(name: str, *args: object, **kwargs: object) -> object:
        return None if name in ("torch", "fracast") else find_spec(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", hidden)


def test_a_model_without_its_extra_names_the_extra(without_torch: None) -> None:
    assert not forecasting.available("deepar")
    assert forecasting.available("analog")
    with pytest.raises(forecasting.ModelUnavailable, match=r"foresight\[deepar\].*torch"):
        forecasting.get("deepar")
    with pytest.raises(ImportError, match=r"foresight\[fracast\]"):
        _registry.forecaster_class("fracast")


def test_auto_leaves_out_default_candidates_that_cannot_load(without_torch: None) -> None:
    model = auto.Auto()
    assert "deepar" not in model.candidates
    assert model.candidates[0] == "analog"
    series = forecasting.Series(10 + np.sin(np.arange(600) / 7), pd.Timestamp("2024-01-01", tz="UTC"), 60)
    paths = model.sample([series], horizon_steps=5, n_samples=8)
    assert paths.shape == (1, 8, 5) and np.isfinite(paths).all()


def test_candidates_named_explicitly_are_kept(without_torch: None) -> None:
    assert auto.Auto(candidates=["analog", "deepar"]).candidates == ["analog", "deepar"]


def test_everything_loads_where_the_extras_are_installed() -> None:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed here")
    assert all(forecasting.available(name) for name in forecasting.names())
