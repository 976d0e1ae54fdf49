"""DeepAR specifics: the fast sampler matches gluonts' unroll, and the shipped model is useful."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
import torch

from foresight import forecasting
from foresight.forecasting import backtest, deepar

from .conftest import tiny


@pytest.mark.filterwarnings("ignore::UserWarning:gluonts")
def test_fast_sampler_matches_gluonts_unroll(
    azure: forecasting.Series, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the Student-t draw replaced by its location, our horizon loop must produce exactly the
    locations that gluonts' own teacher-forced unroll computes for that path."""
    model = tiny("deepar")
    model.fit([azure])
    monkeypatch.setattr(deepar, "_student_t", lambda df, loc, scale, generator: loc)
    monkeypatch.setattr(deepar, "PATH_BOUND", 1e9)  # no clamping: compare the raw recursion
    horizon = 7
    batch = [dataclasses.replace(azure.head(n), nonnegative=False) for n in (300, 500)]
    window = model._batch(batch, horizon)
    with torch.inference_mode():
        path = model._sample_scaled(window, horizon, 1, torch.Generator())[:, 0]  # [B, H]
        gluonts_module = deepar._build_module(model.cfg)
        gluonts_module.load_state_dict(model.network.state_dict())
        gluonts_module.eval()
        params, *_ = gluonts_module.unroll_lagged_rnn(
            torch.zeros(len(batch), 1, dtype=torch.long),
            torch.as_tensor(window.static_real, dtype=torch.float32),
            torch.as_tensor(window.past_features, dtype=torch.float32),
            torch.as_tensor(window.past_target, dtype=torch.float32),
            torch.as_tensor(window.past_observed, dtype=torch.float32),
            torch.as_tensor(window.future_features, dtype=torch.float32),
            path,
        )
    locations = params[1][:, -horizon:]
    torch.testing.assert_close(path, locations, rtol=1e-4, atol=1e-5)


def test_short_history_uses_the_network(azure: forecasting.Series) -> None:
    """Twenty minutes of history (fewer steps than the context) is a normal DeepAR input."""
    model = tiny("deepar")
    model.fit([azure])
    paths = model.sample([azure.tail(4)], 6, 50, seed=0)
    assert paths.shape == (1, 50, 6) and np.isfinite(paths).all() and (paths >= 0).all()
    assert paths.max() > 0


def test_untrained_model_refuses_to_forecast(azure: forecasting.Series) -> None:
    with pytest.raises(RuntimeError, match="not trained"):
        deepar.DeepAR(hidden_size=8).sample([azure], 3, 5)


shipped = pytest.mark.skipif(
    not (deepar.DEFAULT_ARTIFACT / "model.pt").exists(), reason="models/deepar-v1 not built"
)


@shipped
def test_shipped_model_loads_fast_and_small() -> None:
    started = time.perf_counter()
    model = forecasting.get("deepar")
    assert time.perf_counter() - started < 10.0
    assert isinstance(model, deepar.DeepAR) and model.trained
    assert (deepar.DEFAULT_ARTIFACT / "model.pt").stat().st_size < 5_000_000


@shipped
@pytest.mark.parametrize("fixture", ["azure", "nasa"])
def test_shipped_model_beats_seasonal_naive_on_held_out_data(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """Held-out slices (test split, never trained on): CRPS below seasonal naive's."""
    series: forecasting.Series = request.getfixturevalue(fixture)
    horizon = 1800 // series.step_seconds
    # Origins over the second half of the slice, with at least a day of history before them.
    bt = backtest.prepare([series], horizon, max_origins=20, test_fraction=0.45)
    scores = {
        name: backtest.score(backtest.sample(forecasting.get(name), bt.histories, horizon, 100, 0), bt)[
            "crps"
        ]
        for name in ("deepar", "seasonal-naive")
    }
    assert scores["deepar"] < scores["seasonal-naive"], scores


def test_training_is_reproducible_for_a_seed(azure: forecasting.Series) -> None:
    a, b = tiny("deepar"), tiny("deepar")
    a.fit([azure])
    b.fit([azure])
    for (name, x), (_, y) in zip(a.network.state_dict().items(), b.network.state_dict().items(), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0, msg=name)
