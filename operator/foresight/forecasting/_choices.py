"""Per-series choices scored on a history's own tail: weights from scores, samples by weight, reuse.

``auto`` (which models) and ``analog`` (which settings) both score their options on the last few
horizons of each history, blend them by softmax weights of the relative CRPS gap, allot whole samples
by those weights, and remember each series' weights for a period (one horizon or more). The three pieces
live here once.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from foresight.forecasting._series import Series, clean_values

__all__ = ["ChoiceCache", "allot", "gap_softmax"]

T = TypeVar("T")

FINGERPRINT = 8
"""Readings compared to recognise the history a cached choice was scored on."""


def gap_softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Weights from scores (lower is better): softmax of the relative gap to the best finite score.

    At temperature 0.1, an option 10 % worse than the best gets e^-1 of its weight, one 30 % worse
    e^-3. Non-finite scores get no weight; with none finite, the first option gets all of it.

    >>> np.round(gap_softmax(np.array([1.0, 1.1, np.nan]), 0.1), 3).tolist()
    [0.731, 0.269, 0.0]
    >>> gap_softmax(np.array([np.nan, np.nan]), 0.1).tolist()
    [1.0, 0.0]
    """
    finite = np.isfinite(scores)
    if not finite.any():
        return np.eye(scores.size)[0]
    best = max(float(np.nanmin(scores)), 1e-12)
    logits = np.where(finite, -(scores / best - 1.0) / temperature, -np.inf)
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def allot(weights: np.ndarray, n: int) -> np.ndarray:
    """Integer sample counts proportional to ``weights`` that add up to ``n`` (largest remainders).

    >>> allot(np.array([0.5, 0.3, 0.2]), 10).tolist(), allot(np.array([0.34, 0.33, 0.33]), 2).tolist()
    ([5, 3, 2], [1, 1, 0])
    """
    raw = weights * n
    counts = np.floor(raw).astype(int)
    counts[np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]] += 1
    return counts


@dataclass(frozen=True)
class _Entry(Generic[T]):
    value: T
    scored_end: int  # unix seconds of the scored history's last reading
    expires: int  # unix seconds: rescore from this history end on
    step_seconds: int
    horizon_steps: int
    fingerprint: np.ndarray  # the last readings of the scored history


class ChoiceCache(Generic[T]):
    """A choice per series id, reused for later histories of the same series for one period.

    A choice is reused only for a history that ends at or after the one it was scored on, at the
    same step and horizon, whose readings at the scored history's last times are the same ones: it
    never saw data beyond the decision time it is used for. A series' first choice lives 1..period
    steps (by a hash of its id), so series scored together at a cold start are rescored a few per
    tick. ``period`` ``None`` is ``horizons`` horizons; ``0`` turns reuse off.
    """

    def __init__(self, max_cached: int, period: int | None = None, horizons: int = 1) -> None:
        self.max_cached = max_cached
        self.period = period
        self.horizons = horizons
        self._entries: OrderedDict[str, _Entry[T]] = OrderedDict()

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, s: Series, horizon_steps: int) -> T | None:
        """The choice still valid for history ``s``, if any."""
        entry = self._entries.get(s.item_id) if s.item_id else None
        if entry is None or self.period == 0:
            return None
        end = s.end_seconds
        if (
            entry.step_seconds != s.step_seconds
            or entry.horizon_steps != horizon_steps
            or not entry.scored_end <= end < entry.expires
        ):
            return None
        # The scored history's last readings must sit at the same times in this one.
        stop = len(s) - (end - entry.scored_end) // s.step_seconds
        if stop < len(entry.fingerprint):
            return None
        recent = clean_values(s.values[stop - len(entry.fingerprint) : stop], s.nonnegative)
        same = recent == entry.fingerprint
        if not same.all() and not (same | (np.isnan(recent) & np.isnan(entry.fingerprint))).all():
            return None
        self._entries.move_to_end(s.item_id)
        return entry.value

    def put(self, s: Series, horizon_steps: int, value: T) -> None:
        """Remember ``value``, scored on history ``s`` (series without an id are not remembered)."""
        if not s.item_id or self.period == 0:
            return
        end = s.end_seconds
        period = self.period or self.horizons * horizon_steps
        life = 1 + zlib.crc32(s.item_id.encode()) % period if s.item_id not in self._entries else period
        self._entries[s.item_id] = _Entry(
            value=value,
            scored_end=end,
            expires=end + life * s.step_seconds,
            step_seconds=s.step_seconds,
            horizon_steps=horizon_steps,
            fingerprint=clean_values(s.values[-FINGERPRINT:], s.nonnegative),
        )
        self._entries.move_to_end(s.item_id)
        while len(self._entries) > self.max_cached:
            self._entries.popitem(last=False)
