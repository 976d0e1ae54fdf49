"""Saving and loading forecasters as directories: ``forecaster.json`` plus model files.

The JSON names the registered model and holds its constructor config, so any artifact can
be loaded offline with no code other than this package (DeepAR adds a torch ``model.pt``
state dict, loaded on CPU with ``weights_only=True``).
"""

from __future__ import annotations

import json
import pathlib

from foresight.forecasting._protocol import BaseForecaster
from foresight.forecasting._registry import forecaster_class

__all__ = ["load", "save"]


def save(forecaster: BaseForecaster, path: str | pathlib.Path) -> None:
    forecaster.save(path)


def load(path: str | pathlib.Path) -> BaseForecaster:
    """Rebuild a forecaster from a directory written by ``save``.

    >>> import tempfile
    >>> from foresight import forecasting
    >>> with tempfile.TemporaryDirectory() as d:
    ...     forecasting.get("holt-winters", fit_cycles=2.0).save(d)
    ...     load(d)
    HoltWinters(fit_cycles=2.0, max_fit_steps=6000)
    """
    directory = pathlib.Path(path)
    meta = json.loads((directory / "forecaster.json").read_text())
    return forecaster_class(meta["name"]).from_artifact(directory, meta["config"])
