"""The one list of forecasters: names to classes, each module imported only when its model is asked for.

Adding a model: write ``forecasting/<model>.py`` with a ``BaseForecaster`` subclass that sets
``name`` and implements ``_sample_batch`` (plus ``config``/``_save_files``/``from_artifact`` if
it has state), add a line to ``_BUILTINS`` below, and the contract test in
``tests/unit/forecasting/test_contract.py`` covers it automatically.

Nothing here imports a model module up front: asking for ``analog`` never imports torch (that is
``deepar``'s), and no model module imports this one except to look up another model by name.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from foresight.forecasting._protocol import BaseForecaster

__all__ = ["ModelUnavailable", "available", "forecaster_class", "get", "names", "register"]


class ModelUnavailable(ImportError):
    """A built-in model whose optional dependencies (a ``foresight[<extra>]``) are not installed."""

    def __init__(self, message: str, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


@dataclass(frozen=True)
class _Entry:
    """Where a model's class lives, and which constructor ``get`` calls (``None``: the class)."""

    module: str
    cls: str
    constructor: str | None = None
    extra: str | None = None  # the ``foresight[<extra>]`` that installs ``requires``
    requires: tuple[str, ...] = ()


_BUILTINS: dict[str, _Entry] = {
    "analog": _Entry("foresight.forecasting.analog", "Analog"),
    "naive": _Entry("foresight.forecasting.naive", "Naive"),
    "theta": _Entry("foresight.forecasting.theta", "Theta"),
    "seasonal-naive": _Entry("foresight.forecasting.seasonal_naive", "SeasonalNaive"),
    "holt-winters": _Entry("foresight.forecasting.holt_winters", "HoltWinters"),
    "fft": _Entry("foresight.forecasting.fft", "FFT"),
    # The shipped pretrained weights when they are there, else an untrained network.
    "deepar": _Entry("foresight.forecasting.deepar", "DeepAR", "pretrained_or_new", "deepar", ("torch",)),
    "auto": _Entry("foresight.forecasting.auto", "Auto"),
    # Pretrained zero-shot network from PyPI (torch); opt-in, see its module docstring.
    "fracast": _Entry("foresight.forecasting.zero_shot", "Fracast", None, "fracast", ("fracast", "torch")),
}
_REGISTERED: dict[str, tuple[type[BaseForecaster], str | None]] = {}


def register(name: str, cls: type[BaseForecaster], constructor: str | None = None) -> None:
    """Add (or replace) a model under ``name``: ``get(name)`` calls ``cls`` or ``cls.<constructor>``."""
    _REGISTERED[name] = (cls, constructor)


def names() -> list[str]:
    """Registered forecaster names, sorted (imports nothing).

    >>> "analog" in names() and "deepar" in names()
    True
    """
    return sorted(set(_BUILTINS) | set(_REGISTERED))


def available(name: str) -> bool:
    """Whether model ``name`` can be loaded here: registered, and its optional dependencies installed.

    Looks the dependencies up without importing them.

    >>> available("analog"), available("no-such-model")
    (True, False)
    """
    if name in _REGISTERED:
        return True
    entry = _BUILTINS.get(name)
    return entry is not None and not _missing(entry)


def _missing(entry: _Entry) -> list[str]:
    return [module for module in entry.requires if importlib.util.find_spec(module) is None]


def forecaster_class(name: str) -> type[BaseForecaster]:
    """The class of model ``name``, importing its module now if need be."""
    return _lookup(name)[0]


def get(name: str, **kwargs: Any) -> BaseForecaster:
    """A new forecaster by name; ``kwargs`` go to its constructor.

    >>> get("seasonal-naive").name
    'seasonal-naive'
    """
    cls, constructor = _lookup(name)
    factory = getattr(cls, constructor) if constructor else cls
    forecaster: BaseForecaster = factory(**kwargs)
    return forecaster


def _lookup(name: str) -> tuple[type[BaseForecaster], str | None]:
    if name in _REGISTERED:
        return _REGISTERED[name]
    entry = _BUILTINS.get(name)
    if entry is None:
        raise KeyError(f"unknown forecaster {name!r}; known: {', '.join(names())}") from None
    missing = _missing(entry)
    if missing:
        raise ModelUnavailable(
            f"forecast model {name!r} needs foresight[{entry.extra}] "
            f"(pip install 'foresight[{entry.extra}]'); not installed: {', '.join(missing)}",
            extra=entry.extra or name,
        )
    cls = getattr(importlib.import_module(entry.module), entry.cls)
    if not (isinstance(cls, type) and issubclass(cls, BaseForecaster)):
        raise TypeError(f"{entry.module}.{entry.cls} is not a forecaster class")
    return cls, entry.constructor
