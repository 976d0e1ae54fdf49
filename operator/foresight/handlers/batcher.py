"""One batched forecaster call per tick, however many scalers ask.

Each scaler's reconcile awaits ``sample()``; requests that arrive within a short window and share a
model, horizon and sample count are stacked into one ``Forecaster.forecast`` call run off the event
loop. 1,000 scalers therefore cost about one batch, not 1,000 calls.

What comes back is checked before any waiter sees it: paths of the wrong shape, or paths that are
not finite for a history with readings, count as a failure of that model, and the batch is
forecast again by the fallback model. A history with no reading at all gets all-``NaN`` paths,
the forecasting protocol's one documented "no forecast". If the fallback fails too, every waiter
gets its exception; none is left waiting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from foresight import forecasting, logs
from foresight.handlers import telemetry

_Key = tuple[str, int, int]
log = logs.get(__name__)


@dataclass
class _Pending:
    series: list[forecasting.Series] = field(default_factory=list)
    futures: list[asyncio.Future[tuple[np.ndarray, str]]] = field(default_factory=list)


class ForecastBatcher:
    """Coalesces concurrent forecast requests into batched model calls."""

    def __init__(
        self,
        *,
        window_seconds: float = 0.05,
        max_batch: int = 4096,
        get_model: Callable[[str], Any] | None = None,
        seed: int = 0,
        fallback: str = "holt-winters",
    ) -> None:
        self._window = window_seconds
        self._max_batch = max_batch
        self._get_model = get_model or forecasting.get
        self._models: dict[str, Any] = {}
        self._pending: dict[_Key, _Pending] = {}
        self._seed = seed
        self._fallback = fallback
        self._locks: dict[str, threading.Lock] = {}
        self.calls = 0

    def model(self, name: str) -> forecasting.Forecaster:
        """The forecaster ``name``, loaded once per process."""
        if name not in self._models:
            self._models[name] = self._get_model(name)
        return self._models[name]

    async def sample(
        self, model: str, series: forecasting.Series, horizon_steps: int, n_samples: int
    ) -> tuple[np.ndarray, str]:
        """Sample paths ``[n_samples, horizon_steps]`` for one series, batched with concurrent callers.

        Also returns the model that produced them (``auto`` names the one it chose for this series).
        """
        key = (model, horizon_steps, n_samples)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[np.ndarray, str]] = loop.create_future()
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending()
            loop.call_later(self._window, lambda: asyncio.ensure_future(self._flush(key)))
        pending.series.append(series)
        pending.futures.append(future)
        if len(pending.series) >= self._max_batch:
            await self._flush(key)
        return await future

    async def _flush(self, key: _Key) -> None:
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        name, horizon_steps, n_samples = key
        self.calls += 1
        started = time.perf_counter()
        try:
            try:
                forecaster = await asyncio.to_thread(self.model, name)
                paths, used = await asyncio.to_thread(
                    self._call, forecaster, name, pending.series, horizon_steps, n_samples
                )
            except Exception as exc:
                if name == self._fallback:
                    raise
                paths, used = await self._fall_back(name, exc, pending.series, horizon_steps, n_samples)
        except Exception as exc:  # every waiter must learn of the failure, not hang
            for future in pending.futures:
                if not future.done():
                    future.set_exception(exc)
            return
        finally:
            telemetry.inference_seconds.labels(name).observe(time.perf_counter() - started)
            telemetry.inference_batch_size.observe(len(pending.series))
        for future, path, model in zip(pending.futures, paths, used, strict=True):
            if not future.done():
                future.set_result((path, model))

    async def _fall_back(
        self, name: str, exc: Exception, series: list[forecasting.Series], horizon_steps: int, n_samples: int
    ) -> tuple[np.ndarray, list[str]]:
        """Forecast ``series`` with the fallback model because ``name`` failed with ``exc``.

        A model that fails on a batch must not leave the scalers blind: the classical fallback has no
        learned parts and handles any history the protocol accepts.
        """
        log.warning(
            "forecaster failed, using the fallback",
            model=name,
            fallback=self._fallback,
            series=len(series),
            error=f"{type(exc).__name__}: {exc}",
        )
        fallback = await asyncio.to_thread(self.model, self._fallback)
        paths, _ = await asyncio.to_thread(
            self._call, fallback, self._fallback, series, horizon_steps, n_samples
        )
        why = f"needs foresight[{exc.extra}]" if isinstance(exc, forecasting.ModelUnavailable) else "failed"
        return paths, [f"{self._fallback} (fallback: {name} {why})"] * len(series)

    def _call(
        self, forecaster: Any, name: str, series: list[forecasting.Series], horizon_steps: int, n_samples: int
    ) -> tuple[np.ndarray, list[str]]:
        # One call at a time per model instance: models keep per-series caches (auto's and analog's
        # choices) that are not safe to update from two threads.
        with self._locks.setdefault(name, threading.Lock()):
            paths, used = forecaster.forecast(
                series, horizon_steps=horizon_steps, n_samples=n_samples, seed=self._seed
            )
        _check_paths(name, paths, series, horizon_steps, n_samples)
        if len(used) != len(series):
            raise ValueError(f"{name} named {len(used)} models for {len(series)} series")
        return paths, list(used)


def _check_paths(
    name: str, paths: Any, series: list[forecasting.Series], horizon_steps: int, n_samples: int
) -> None:
    """Raise ``ValueError`` unless ``paths`` is ``[len(series), n_samples, horizon_steps]`` and finite
    for every history with readings (NaN paths would reach the planner as if they were a forecast)."""
    expected = (len(series), n_samples, horizon_steps)
    shape = getattr(paths, "shape", None)
    if shape != expected:
        raise ValueError(f"{name} returned paths of shape {shape}, expected {expected}")
    broken = forecasting.nonfinite_items(paths, series)
    if broken:
        listed = ", ".join(broken[:5])
        raise ValueError(f"{name} returned non-finite paths for {len(broken)} series with readings: {listed}")
