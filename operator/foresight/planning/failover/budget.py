"""PodDisruptionBudgets in a plan: what each allows now, and what the evictions planned so far used up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from foresight.api import v1alpha1
from foresight.planning.failover.observations import PodObservation, selector_matches

__all__ = ["DisruptionBudget", "PdbBudget"]


@dataclass(frozen=True)
class DisruptionBudget:
    """A PodDisruptionBudget's selector and how many disruptions it allows right now."""

    namespace: str
    name: str
    selector: v1alpha1.LabelSelector
    disruptions_allowed: int


class PdbBudget:
    """Disruptions still allowed per PodDisruptionBudget while a plan is built."""

    def __init__(self, budgets: Sequence[DisruptionBudget]) -> None:
        self._budgets = list(budgets)
        self._left = {(b.namespace, b.name): b.disruptions_allowed for b in budgets}

    def take(self, pod: PodObservation) -> str | None:
        """Consume one disruption from every PDB covering the pod; the blocking PDB's name if none is left."""
        covering = [
            b
            for b in self._budgets
            if b.namespace == pod.namespace and selector_matches(b.selector, pod.labels)
        ]
        for b in covering:
            if self._left[(b.namespace, b.name)] <= 0:
                return f"{b.namespace}/{b.name}"
        for b in covering:
            self._left[(b.namespace, b.name)] -= 1
        return None
