"""Failure prior: how likely a node is to fail soon, from its failure history and drive SMART counters.

The numbers come from real failure records (``models/failure-prior-v1``, fitted by
``foresight evaluate-failover --prior-out``): LANL's 1996-2005 node outages give a hazard that depends on
the hours since the node last recovered (failures cluster: a node that just came back fails again far more
often than the base rate), Backblaze's 2013-2016 drive stats give the hazard of a drive with any of SMART
5/187/197/198 above zero versus all zero. Both are piecewise-constant hazards per hour; a probability
over a horizon integrates the hazard across the bins that the horizon spans.

The same artifact carries the calibration of the forecast cause's crossing probability (fitted by the same
command on real per-VM utilisation series, see ``docs/failover-eval.md``): the share of sampled paths that
cross a threshold is not, as such, the frequency with which the series then crosses it.
"""

from __future__ import annotations

import itertools
import json
import math
import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PRIOR_DIR",
    "PRIOR_FILE",
    "SMART_PRECURSORS",
    "FailurePrior",
    "probability_from_hazard",
    "smart_any_nonzero",
]

# The controller loads the shipped prior once: FailurePrior.load(settings.model_dir / PRIOR_DIR).
PRIOR_DIR = "failure-prior-v1"
PRIOR_FILE = "prior.json"

# The four counters Backblaze and the drive-failure literature single out: reallocated sectors (5),
# reported uncorrectable errors (187), pending (197) and offline-uncorrectable (198) sectors.
SMART_PRECURSORS: tuple[int, ...] = (5, 187, 197, 198)


def probability_from_hazard(cumulative_hazard: float) -> float:
    """``P(at least one failure)`` for a Poisson process with this integrated hazard.

    >>> round(probability_from_hazard(0.0), 3), round(probability_from_hazard(math.log(2)), 3)
    (0.0, 0.5)
    """
    return 1.0 - math.exp(-max(cumulative_hazard, 0.0))


@dataclass(frozen=True)
class FailurePrior:
    """Piecewise-constant failure hazards (per hour) derived from failure records.

    ``since_recovery_edges_hours[i]`` is the lower edge of bin ``i`` of "hours since the node last recovered
    from a failure"; the last bin is open-ended. ``no_failure_hazard_per_hour`` applies to a node with no
    recorded failure. ``smart_hazard_per_hour`` holds ``{"all_zero": ..., "any_nonzero": ...}``.
    ``crossing_calibration``: ``(share of paths, observed frequency)`` knots, both increasing, that map a
    forecast's crossing share to a probability (linear in between); empty: the share is used as it is.

    >>> prior = FailurePrior((0.0, 1.0), (0.5, 0.01), 0.001, {"all_zero": 0.0, "any_nonzero": 0.0})
    >>> round(prior.cumulative_hazard_after_failure(0.5, 1.0), 3)  # 0.5 h at 0.5/h + 0.5 h at 0.01/h
    0.255
    >>> prior.cumulative_hazard_after_failure(None, 2.0)
    0.002
    """

    since_recovery_edges_hours: tuple[float, ...]
    since_recovery_hazard_per_hour: tuple[float, ...]
    no_failure_hazard_per_hour: float
    smart_hazard_per_hour: Mapping[str, float]
    source: str = ""
    details: Mapping[str, Any] = field(default_factory=dict, compare=False)
    crossing_calibration: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        edges = self.since_recovery_edges_hours
        if len(edges) != len(self.since_recovery_hazard_per_hour) or not edges or edges[0] != 0:
            raise ValueError("need one hazard per bin and a first bin edge of 0 hours")
        if any(b <= a for a, b in itertools.pairwise(edges)):
            raise ValueError("bin edges must increase")
        knots = self.crossing_calibration
        if any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in knots) or any(
            b[0] <= a[0] or b[1] < a[1] for a, b in itertools.pairwise(knots)
        ):
            raise ValueError("crossing calibration knots must lie in [0, 1] and increase")

    def cumulative_hazard_after_failure(
        self, hours_since_recovery: float | None, horizon_hours: float
    ) -> float:
        """Integrated hazard over ``[t, t + horizon]`` with ``t`` hours since the last recovery.

        ``None`` (no recorded failure) uses the no-failure base rate.
        """
        if hours_since_recovery is None:
            return self.no_failure_hazard_per_hour * horizon_hours
        start = max(hours_since_recovery, 0.0)
        end = start + horizon_hours
        edges = self.since_recovery_edges_hours
        total = 0.0
        for i, hazard in enumerate(self.since_recovery_hazard_per_hour):
            lo = edges[i]
            hi = edges[i + 1] if i + 1 < len(edges) else math.inf
            overlap = min(end, hi) - max(start, lo)
            if overlap > 0:
                total += hazard * overlap
        return total

    def probability_after_failure(self, hours_since_recovery: float | None, horizon_hours: float) -> float:
        """``P(failure within the horizon)`` given the hours since the node last recovered."""
        return probability_from_hazard(
            self.cumulative_hazard_after_failure(hours_since_recovery, horizon_hours)
        )

    def smart_probability(self, any_nonzero: bool, horizon_hours: float) -> float:
        """``P(a drive of the node fails within the horizon)`` given its SMART precursor counters."""
        hazard = self.smart_hazard_per_hour["any_nonzero" if any_nonzero else "all_zero"]
        return probability_from_hazard(hazard * horizon_hours)

    def to_json(self) -> dict[str, Any]:
        """The artifact's JSON body (``prior.json``)."""
        return {
            "since_recovery_edges_hours": list(self.since_recovery_edges_hours),
            "since_recovery_hazard_per_hour": list(self.since_recovery_hazard_per_hour),
            "no_failure_hazard_per_hour": self.no_failure_hazard_per_hour,
            "smart_hazard_per_hour": dict(self.smart_hazard_per_hour),
            "source": self.source,
            "details": dict(self.details),
            "crossing_calibration": [list(k) for k in self.crossing_calibration],
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> FailurePrior:
        return cls(
            since_recovery_edges_hours=tuple(float(x) for x in body["since_recovery_edges_hours"]),
            since_recovery_hazard_per_hour=tuple(float(x) for x in body["since_recovery_hazard_per_hour"]),
            no_failure_hazard_per_hour=float(body["no_failure_hazard_per_hour"]),
            smart_hazard_per_hour={k: float(v) for k, v in body["smart_hazard_per_hour"].items()},
            source=str(body.get("source", "")),
            details=dict(body.get("details", {})),
            crossing_calibration=tuple((float(x), float(y)) for x, y in body.get("crossing_calibration", ())),
        )

    def save(self, directory: str | pathlib.Path) -> pathlib.Path:
        path = pathlib.Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        target = path / PRIOR_FILE
        target.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        return target

    @classmethod
    def load(cls, directory: str | pathlib.Path) -> FailurePrior:
        """Load ``prior.json`` from an artifact directory (e.g. ``models/failure-prior-v1``)."""
        return cls.from_json(json.loads((pathlib.Path(directory) / PRIOR_FILE).read_text()))


def smart_any_nonzero(counters: Mapping[int, float], precursors: Sequence[int] = SMART_PRECURSORS) -> bool:
    """Whether any precursor counter is above zero (missing counters count as zero, as in the data)."""
    return any((counters.get(k) or 0.0) > 0 for k in precursors)
