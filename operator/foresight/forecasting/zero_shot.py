"""Fracast: a pretrained zero-shot network (``fracast`` 0.1.0 on PyPI), opt-in as ``forecast.model: fracast``.

Fracast-0 is a compact time-series foundation model: 85,001 parameters, a causal dilated-convolution
block reused over a ladder of time scales, 9 quantiles (0.1-0.9) of the next 48 steps. Its weights ship
inside the wheel (Apache-2.0), so it loads offline, pinned by ``uv.lock``. We do not train it.

**Why opt-in, not the default** (figures in ``models/fracast-0/MODEL_CARD.md``):

* It is slower: about 0.1 s of CPU per series per call, about a hundred times ``analog``, so a tick for
  1,000 scalers would take minutes. It suits a cluster with tens of scalers.
* It imports torch (about 500 MB of RSS).
* Its pretraining corpora include LOTSA (``Salesforce/lotsa_data``), which holds the Alibaba 2018
  cluster trace and the Azure 2017 VM traces (CloudOps), so its scores on those shared traces are not
  scores on unseen workloads.

**Paths from quantiles.** The network gives quantiles 0.1-0.9 per step. A path draws one level per
step through a Gaussian copula with correlation 0.9 between neighbouring steps (so a high path stays
high for a while, as real deviations do). It reads the quantile function at that level: linear
between the network's quantiles, and beyond 0.1 and 0.9 linear with the slope of the outermost pair,
up to 0.005 and 0.995. Histories with fewer than the network's minimum of 8 readings get persistence
paths (:func:`short_history_paths`).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtr

from foresight.forecasting._protocol import BaseForecaster, short_history_paths
from foresight.forecasting._series import Series, despike, interpolate_gaps

__all__ = ["Fracast"]

MIN_READINGS = 8
"""The network refuses shorter contexts."""

STEP_CORRELATION = 0.9
TAIL = (0.005, 0.995)
BATCH = 256


@functools.cache
def _network() -> Any:
    from fracast import FracastModel  # torch: imported only when this model is asked for

    return FracastModel.from_pretrained()


class Fracast(BaseForecaster):
    """Quantiles from the pretrained network, turned into correlated sample paths."""

    name: ClassVar[str] = "fracast"

    def _sample_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        network = _network()
        levels = np.asarray(network.quantiles)
        rng = np.random.default_rng(seed)
        out = np.empty((len(series), n_samples, horizon_steps))
        rows: list[np.ndarray] = []
        usable: list[int] = []
        for i, s in enumerate(series):
            filled, _ = interpolate_gaps(s.clean())
            # One-off spikes are smoothed over: the network scales its context by its range, and one
            # reading 1000x the rest squashes the whole window to zero.
            filled = despike(filled[np.isfinite(filled)][-network.context_length :])
            if filled.size < MIN_READINGS:
                out[i] = short_history_paths(s, horizon_steps, n_samples, rng)
            else:
                rows.append(filled.astype(np.float32))
                usable.append(i)
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            width = max(r.size for r in chunk)
            padded = np.full((len(chunk), width), np.nan, dtype=np.float32)
            for k, r in enumerate(chunk):
                padded[k, width - r.size :] = r
            forecast = network.forecast_batch(padded, horizon=horizon_steps)  # [batch, horizon, 9]
            for k, quantiles in enumerate(forecast):
                i = usable[start + k]
                out[i] = _paths(np.sort(quantiles, axis=1), levels, n_samples, rng)
        return out


def _paths(quantiles: np.ndarray, levels: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Sample paths ``[n_samples, horizon]`` from per-step quantiles ``[horizon, len(levels)]``.

    >>> q = np.tile(np.linspace(10.0, 18.0, 9), (3, 1))  # 10 at 0.1 ... 18 at 0.9, every step
    >>> p = _paths(q, np.linspace(0.1, 0.9, 9), 4000, np.random.default_rng(0))
    >>> p.shape, bool(abs(np.median(p) - 14.0) < 0.2), bool(17.5 < np.quantile(p, 0.9) < 18.5)
    ((4000, 3), True, True)
    """
    horizon = quantiles.shape[0]
    z = np.empty((n_samples, horizon))
    z[:, 0] = rng.standard_normal(n_samples)
    innovation = np.sqrt(1.0 - STEP_CORRELATION**2)
    for h in range(1, horizon):
        z[:, h] = STEP_CORRELATION * z[:, h - 1] + innovation * rng.standard_normal(n_samples)
    u = np.clip(ndtr(z), *TAIL)
    low_slope = (quantiles[:, 1] - quantiles[:, 0]) / (levels[1] - levels[0])
    high_slope = (quantiles[:, -1] - quantiles[:, -2]) / (levels[-1] - levels[-2])
    grid_levels = np.concatenate([[TAIL[0]], levels, [TAIL[1]]])
    grid = np.concatenate(
        [
            (quantiles[:, 0] - low_slope * (levels[0] - TAIL[0]))[:, None],
            quantiles,
            (quantiles[:, -1] + high_slope * (TAIL[1] - levels[-1]))[:, None],
        ],
        axis=1,
    )
    return np.stack([np.interp(u[:, h], grid_levels, grid[h]) for h in range(horizon)], axis=1)
