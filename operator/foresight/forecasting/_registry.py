"""The one list of forecasters: names to factories.

Adding a model: write ``forecasting/<model>.py`` with a ``BaseForecaster`` subclass that sets
``name`` and implements ``_sample_batch`` (plus ``config``/``_save_files``/``from_artifact`` if
it has state), register it below, and the contract test in
``tests/unit/forecasting/test_contract.py`` covers it automatically.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from foresight.forecasting._protocol import BaseForecaster

__all__ = ["get", "names", "register"]

_FACTORIES: dict[str, Callable[..., BaseForecaster]] = {}


def register(name: str, factory: Callable[..., BaseForecaster]) -> None:
    _FACTORIES[name] = factory


def names() -> list[str]:
    """Registered forecaster names, sorted."""
    _ensure_builtins()
    return sorted(_FACTORIES)


def get(name: str, **kwargs: Any) -> BaseForecaster:
    """A new forecaster by name; ``kwargs`` go to its constructor.

    >>> get("seasonal-naive").name
    'seasonal-naive'
    """
    _ensure_builtins()
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise KeyError(f"unknown forecaster {name!r}; known: {', '.join(sorted(_FACTORIES))}") from None
    return factory(**kwargs)


def factory_for(name: str) -> Callable[..., BaseForecaster]:
    _ensure_builtins()
    return _FACTORIES[name]


def _ensure_builtins() -> None:
    # Imported lazily so that `import foresight.forecasting` stays cheap and torch is only
    # imported when a torch model is actually asked for.
    if _FACTORIES:
        return
    from foresight.forecasting import auto, deepar, fft, holt_winters, naive, seasonal_naive, theta

    register(naive.Naive.name, naive.Naive)
    register(theta.Theta.name, theta.Theta)
    register(seasonal_naive.SeasonalNaive.name, seasonal_naive.SeasonalNaive)
    register(holt_winters.HoltWinters.name, holt_winters.HoltWinters)
    register(fft.FFT.name, fft.FFT)
    register(deepar.DeepAR.name, deepar.DeepAR.pretrained_or_new)
    register(auto.Auto.name, auto.Auto)
