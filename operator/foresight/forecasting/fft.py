"""FFT periodicity forecaster, after Crane's DSP predictor (``gocrane/crane`` ``pkg/prediction/dsp``).

Crane cuts the history to a whole number of cycles (a day; a week if not daily), takes the
spectrum, zeroes every component that is both above one cycle per hour *and* not among the
largest amplitudes (at most 100 kept, at least 3, none below a low-amplitude floor), and uses
the last cycle of the inverse transform as the forecast of the next cycle. This module does
the same, with two documented deviations so it can be scored like every other model:

* The low-amplitude floor is relative (1 % of the mean level) instead of Crane's absolute
  ``1.0``, which only makes sense in the units of one metric; and Crane's 10 % safety margin
  is not added (the planner owns headroom; a margin would bias every quantile).
* Histories shorter than two days use a one-hour cycle (two hours needed), shorter ones
  persistence; Crane declines to predict there.

Sample paths add bootstrapped out-of-sample errors: the estimate of the last cycle made
from the cycles before it (as Crane's ``bestEstimator`` scores estimators) against what
happened, falling back to in-sample residuals when fewer than three cycles exist.

A one-off spike is left out of the spectral estimate (see :func:`despike`) but kept in the
residuals: one huge reading spreads over every frequency, and after the filter it rang
through the whole forecast cycle (a 1000x spike took the median forecast of a steady series
to zero). A burst that recurs at the same time every cycle is periodic and is kept.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from foresight.forecasting import _residuals
from foresight.forecasting._protocol import BaseForecaster
from foresight.forecasting._series import SPIKE_FACTOR, Series, interpolate_gaps

__all__ = ["FFT", "despike", "periodic_estimate"]

HOUR_SECONDS = 3_600


class FFT(BaseForecaster):
    """Crane-style spectral extrapolation with residual-bootstrap paths.

    >>> import numpy as np, pandas as pd
    >>> t = np.arange(288 * 3)
    >>> wave = 50 + 20 * np.sin(2 * np.pi * t / 288)          # 3 days at 5 min, daily cycle
    >>> s = Series(wave, pd.Timestamp("2024-01-01", tz="UTC"), 300)
    >>> med = np.median(FFT().sample([s], 6, 50)[0], axis=0)
    >>> bool(np.allclose(med, 50 + 20 * np.sin(2 * np.pi * (t[-1] + 1 + np.arange(6)) / 288), atol=0.5))
    True
    """

    name: ClassVar[str] = "fft"

    def __init__(
        self,
        max_spectrum_items: int = 100,
        min_spectrum_items: int = 3,
        high_frequency_hz: float = 1.0 / HOUR_SECONDS,
        low_amplitude_fraction: float = 0.01,
        max_cycles: int = 7,
    ) -> None:
        self.max_spectrum_items = max_spectrum_items
        self.min_spectrum_items = min_spectrum_items
        self.high_frequency_hz = high_frequency_hz
        self.low_amplitude_fraction = low_amplitude_fraction
        # Crane reads 7 to 14 days; more cycles only cost time here.
        self.max_cycles = max_cycles

    def config(self) -> dict[str, Any]:
        return {
            "max_spectrum_items": self.max_spectrum_items,
            "min_spectrum_items": self.min_spectrum_items,
            "high_frequency_hz": self.high_frequency_hz,
            "low_amplitude_fraction": self.low_amplitude_fraction,
            "max_cycles": self.max_cycles,
        }

    def _cycle_steps(self, s: Series) -> int:
        for period in (_residuals.DAY_SECONDS, HOUR_SECONDS):
            m = round(period / s.step_seconds)
            if m >= 2 and len(s) >= 2 * m:
                return int(m)
        return 1

    def _sample_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((len(series), n_samples, horizon_steps))
        for i, s in enumerate(series):
            filled, _ = interpolate_gaps(s.clean())
            m = self._cycle_steps(s)
            if m == 1:
                # Persistence with bootstrapped step changes accumulated (a random walk).
                diffs = np.diff(filled)
                noise = np.cumsum(_residuals.bootstrap(diffs, (n_samples, horizon_steps), rng), axis=1)
                out[i] = filled[-1] + noise
                continue
            cycles = min(len(filled) // m, self.max_cycles)
            signal = filled[-cycles * m :]
            estimate = self._estimate(signal, s.step_seconds, m)
            if cycles >= 3:
                backtest = self._estimate(signal[:-m], s.step_seconds, m)
                residuals = signal[-m:] - backtest
            else:
                residuals = signal - np.tile(estimate, cycles)
            point = estimate[np.arange(horizon_steps) % m]
            out[i] = point + _residuals.bootstrap(residuals, (n_samples, horizon_steps), rng)
        return out

    def _estimate(self, signal: np.ndarray, step_seconds: int, cycle_steps: int) -> np.ndarray:
        signal = despike(signal, cycle_steps)
        return periodic_estimate(
            signal,
            step_seconds,
            cycle_steps,
            max_items=self.max_spectrum_items,
            min_items=self.min_spectrum_items,
            high_frequency_hz=self.high_frequency_hz,
            low_amplitude=self.low_amplitude_fraction * float(np.mean(np.abs(signal))),
        )


def despike(signal: np.ndarray, cycle_steps: int) -> np.ndarray:
    """``signal`` (whole cycles) with one-off spikes replaced by the median of their neighbours.

    A reading is a one-off spike when it lies more than ``SPIKE_FACTOR`` times the mean
    magnitude of ``signal`` away from both the median of its two neighbours on each side and
    the median of the same slot in the other cycles; a burst that recurs every cycle is kept.

    >>> flat = np.full(12, 5.0)
    >>> once = flat.copy(); once[5] = 5000.0
    >>> despike(once, 4).tolist() == flat.tolist()
    True
    >>> every_cycle = flat.copy(); every_cycle[[1, 5, 9]] = 5000.0
    >>> despike(every_cycle, 4).tolist() == every_cycle.tolist()
    True
    """
    n = signal.shape[0]
    cycles = n // cycle_steps
    if cycles < 2 or n < 5:
        return signal
    threshold = SPIKE_FACTOR * float(np.mean(np.abs(signal)))
    padded = np.pad(signal, 2, mode="edge")
    local = np.median(np.stack([padded[:n], padded[1 : n + 1], padded[3 : n + 3], padded[4:]]), axis=0)
    grid = signal.reshape(cycles, cycle_steps)
    same_slot = np.concatenate([np.median(np.delete(grid, c, axis=0), axis=0) for c in range(cycles)])
    spike = (np.abs(signal - local) > threshold) & (np.abs(signal - same_slot) > threshold)
    if not spike.any():
        return signal
    out = signal.copy()
    out[spike] = local[spike]
    return out


def periodic_estimate(
    signal: np.ndarray,
    step_seconds: int,
    cycle_steps: int,
    *,
    max_items: int,
    min_items: int,
    high_frequency_hz: float,
    low_amplitude: float,
) -> np.ndarray:
    """Crane's FFT estimator: filtered spectrum, inverse transform, its last ``cycle_steps``.

    ``signal`` should hold whole cycles (the caller cuts it), so the result continues it.
    """
    n = signal.shape[0]
    spectrum = np.fft.fft(signal)
    amplitudes = np.abs(spectrum) / n
    frequencies = np.fft.fftfreq(n, d=step_seconds)
    ranked = np.sort(amplitudes[1 : n // 2])[::-1]
    if ranked.size == 0:
        return signal[-cycle_steps:].copy()
    min_amplitude = ranked[min(max_items, ranked.size) - 1]
    min_amplitude = max(min_amplitude, low_amplitude)
    if ranked.size >= min_items and ranked[min_items - 1] < min_amplitude:
        min_amplitude = ranked[min_items - 1]
    drop = (amplitudes < min_amplitude) & (np.abs(frequencies) > high_frequency_hz)
    spectrum[drop] = 0
    return np.fft.ifft(spectrum).real[-cycle_steps:]
