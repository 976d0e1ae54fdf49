"""Theta: statsmodels' Theta method, a well-kept library's automatic model as an outside reference.

The model is ``statsmodels.tsa.forecasting.theta.ThetaModel`` (Assimakopoulos & Nikolopoulos, in
Hyndman & Billah's form: SES with drift), fitted per history with the library's default
two-step estimate (OLS drift, then SES). It is automatic in the M3/M4 sense: a daily season is
tested for (statsmodels' ACF test at the daily lag, when two days of history exist) and removed
additively before the fit, then put back. Gaps are filled by the shared linear interpolation;
a constant history (an idle workload) is forecast as that constant without calling the
library. One-off spikes (a single reading more than ``SPIKE_FACTOR`` times the mean
magnitude away from both neighbours) are replaced by their mean before the fit, as FFT leaves
them out of its spectrum: SES is not robust, and a single 1000x reading in the middle of a
history moved its median forecast by a quarter. The last reading is never touched, and a burst
of two readings or more is kept.

Sample paths come from the library's own prediction intervals: its interval is Gaussian,
``forecast ± z sigma_h``, so ``sigma_h`` is read back from one 90 % interval
(``(upper - forecast) / z_0.95``) and every path has exactly those marginals at every step
(statsmodels' variance ``sigma^2 (1 + (h - 1)(1 + (alpha - 1)^2))``, which is wider than the
ARIMA(0,1,1) one when ``alpha`` is small, and whose ``sigma^2`` is fitted on the series before
deseasonalising: kept as the library states it; on NASA 1995 at one minute its 90 % interval
held 99.6 % of the test split, 60 origins). The dependence between steps is the model's own:
the error at step ``h`` is ``e_h + alpha * sum_{j<h} e_j`` of iid normal innovations, rescaled
to unit variance before ``sigma_h`` multiplies it.

Why statsmodels' Theta, measured on 2 shared cores (Python 3.11, December 2026); fits are of a
2-week history, origins spread over the Google 2019 trace's last days:

==============================  =============  =======  ======================================
library and model               added install   import   fit of one 2-week history
==============================  =============  =======  ======================================
statsmodels 0.15 ThetaModel     ~48 MB          ~0.7 s   0.47 s at 5 min (100 origins: 47 s);
                                                         1.7 s at 1 min
statsforecast 2.1 AutoTheta     ~218 MB         ~1.8 s   1.0 s at 5 min (100 origins: 101 s);
                                (pyarrow,                125 s at 1 min (24 s for one week)
                                statsmodels)
statsforecast 2.1 AutoETS       same            same     > 8 s at 5 min with the daily season
                                                         (m = 288): 100 origins unfinished
                                                         after 14 minutes
statsmodels 0.15 ETSModel AAdA  ~48 MB          ~0.7 s   183 s at 5 min (m = 288)
==============================  =============  =======  ======================================

Import times are on top of numpy, pandas and scipy, which the operator imports anyway. An ETS
with a daily season is out of reach at 1-5 minute steps; statsforecast's AutoTheta costs four
times the install (pyarrow) and minutes per fit at 1-minute steps, for the same accuracy as
statsmodels' Theta (mean absolute one-step error 0.01157 vs 0.01156 over those 100 origins). The
import is lazy, so ``import foresight.forecasting`` does not pay for statsmodels. Fits see at
most the last ``max_history_seconds`` (4 days by default: four daily cycles for the seasonal
estimate), which bounds the cost of a call (0.3-0.9 s at one-minute steps for 4-7 days; several
seconds on a noiseless sine, where the likelihood is degenerate).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar

import numpy as np

from foresight.forecasting import _residuals
from foresight.forecasting._protocol import BaseForecaster, short_history_paths
from foresight.forecasting._series import Series, despike, interpolate_gaps

__all__ = ["Theta"]

# z of the 95th percentile: the upper end of the 90 % interval the library is asked for.
_Z95 = 1.6448536269514722


class Theta(BaseForecaster):
    """statsmodels' Theta method, with Gaussian paths matching its prediction intervals.

    >>> import numpy as np, pandas as pd
    >>> noisy = 10 + np.random.default_rng(0).normal(0, 1, 200)
    >>> paths = Theta().sample([Series(noisy, pd.Timestamp("2024-01-01", tz="UTC"), 60)], 3, 400)[0]
    >>> bool(abs(np.median(paths) - 10) < 0.5), bool(paths[:, 2].std() > paths[:, 0].std())
    (True, True)
    """

    name: ClassVar[str] = "theta"

    def __init__(self, max_history_seconds: int = 4 * _residuals.DAY_SECONDS) -> None:
        self.max_history_seconds = max_history_seconds

    def config(self) -> dict[str, Any]:
        return {"max_history_seconds": self.max_history_seconds}

    def _sample_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((len(series), n_samples, horizon_steps))
        for i, s in enumerate(series):
            keep = max(2, int(self.max_history_seconds // s.step_seconds))
            y = despike(interpolate_gaps(s.clean())[0][-keep:])
            innovations = rng.standard_normal((n_samples, horizon_steps))
            try:
                mean, sigma, alpha = _fit(y, s.step_seconds, horizon_steps)
            except (ValueError, np.linalg.LinAlgError):
                # The library refused this history (too short to estimate): say "unknown"
                # the way every model does for a brand-new workload.
                out[i] = short_history_paths(s, horizon_steps, n_samples, rng)
                continue
            out[i] = mean + sigma * _unit_ma_paths(innovations, alpha)
        return out


def _fit(y: np.ndarray, step_seconds: int, horizon_steps: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Forecast, per-step sigma of the library's interval and the SES ``alpha`` for one history."""
    if np.ptp(y) == 0.0:
        return np.full(horizon_steps, y[-1]), np.zeros(horizon_steps), 1.0
    from statsmodels.tsa.forecasting.theta import ThetaModel

    day = max(1, round(_residuals.DAY_SECONDS / step_seconds))
    seasonal = day > 1 and len(y) >= 2 * day
    model = ThetaModel(y, period=day if seasonal else None, deseasonalize=seasonal, method="additive")
    with warnings.catch_warnings():
        # The ARIMA(0,1,1) fit behind the interval's sigma often stops at its iteration cap
        # (ConvergenceWarning) with a usable estimate; the warnings would flood a backtest.
        warnings.simplefilter("ignore")
        result = model.fit()
        mean = np.asarray(result.forecast(horizon_steps), dtype=float)
        upper = np.asarray(result.prediction_intervals(horizon_steps, alpha=0.1)["upper"], dtype=float)
    alpha = float(result.params.iloc[1])
    sigma = (upper - mean) / _Z95
    if not (np.isfinite(mean).all() and np.isfinite(sigma).all() and math.isfinite(alpha)):
        raise ValueError("statsmodels returned a non-finite forecast")
    return mean, np.maximum(sigma, 0.0), alpha


def _unit_ma_paths(innovations: np.ndarray, alpha: float) -> np.ndarray:
    """ARIMA(0,1,1) forecast errors ``e_h + alpha * sum_{j<h} e_j``, scaled to unit variance.

    >>> paths = _unit_ma_paths(np.random.default_rng(0).standard_normal((20_000, 3)), 0.5)
    >>> np.round(paths.std(axis=0), 1).tolist(), round(float(np.corrcoef(paths[:, 0], paths[:, 2])[0, 1]), 1)
    ([1.0, 1.0, 1.0], 0.4)
    """
    before = np.cumsum(innovations, axis=-1) - innovations
    steps = np.arange(innovations.shape[-1])
    return (innovations + alpha * before) / np.sqrt(1.0 + steps * alpha**2)
