"""``forecasting.get("deepar")`` finds its weights through Settings: FORESIGHT_DEEPAR_ARTIFACT, else
FORESIGHT_MODEL_DIR/deepar-v1, else an untrained network."""

from __future__ import annotations

import pathlib

import pytest

pytest.importorskip("torch")

from foresight import forecasting
from foresight.forecasting import deepar


def _saved(directory: pathlib.Path, hidden_size: int) -> pathlib.Path:
    deepar.DeepAR(hidden_size=hidden_size, context_length=24).save(directory)
    return directory


def test_the_artifact_variable_wins(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORESIGHT_MODEL_DIR", str(tmp_path / "models"))
    _saved(tmp_path / "models" / "deepar-v1", hidden_size=6)
    monkeypatch.setenv("FORESIGHT_DEEPAR_ARTIFACT", str(_saved(tmp_path / "mine", hidden_size=5)))
    model = forecasting.get("deepar")
    assert isinstance(model, deepar.DeepAR) and model.trained and model.cfg.hidden_size == 5


def test_the_model_dir_holds_the_shipped_artifact(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FORESIGHT_DEEPAR_ARTIFACT", raising=False)
    monkeypatch.setenv("FORESIGHT_MODEL_DIR", str(tmp_path))
    _saved(tmp_path / "deepar-v1", hidden_size=6)
    model = forecasting.get("deepar")
    assert isinstance(model, deepar.DeepAR) and model.trained and model.cfg.hidden_size == 6


def test_no_artifact_gives_an_untrained_network(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORESIGHT_DEEPAR_ARTIFACT", str(tmp_path / "missing"))
    model = forecasting.get("deepar")
    assert isinstance(model, deepar.DeepAR) and not model.trained
