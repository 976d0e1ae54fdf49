"""What the handlers share in one operator process: settings, the forecast batcher, Prometheus clients,
and each PredictiveScaler's memory between ticks.

Built once at start-up (:mod:`foresight.handlers.startup`) and handed to every handler through kopf's
memo. Nothing here is needed to resume after a restart: the API holds the state that matters.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from foresight import planning
from foresight.api.v1alpha1 import PredictiveScalerSpec
from foresight.config import Settings
from foresight.handlers.batcher import ForecastBatcher
from foresight.kube import client as kube
from foresight.metrics import PrometheusClient, PrometheusClients, SecretRef
from foresight.planning.accuracy import AccuracyTracker


@dataclass
class ScalerMemory:
    """What one scaler keeps between ticks in memory; losing it (restart) is safe by construction."""

    desired_history: tuple[tuple[datetime, int], ...] = ()
    accuracy: AccuracyTracker = field(default_factory=AccuracyTracker)
    calibration: planning.PeakCalibration = field(default_factory=planning.PeakCalibration)


@dataclass
class Runtime:
    """Process-wide collaborators, built once at start-up and shared by all handlers."""

    settings: Settings
    batcher: ForecastBatcher
    scalers: dict[str, ScalerMemory] = field(default_factory=dict)
    # Held from a node's last rail check to its NoSchedule write, so that the FailoverPolicy loops of this
    # process (policies may select the same nodes) escalate one node at a time, each seeing the last.
    escalations: asyncio.Lock = field(default_factory=asyncio.Lock)
    prometheus: PrometheusClients = field(init=False)

    def __post_init__(self) -> None:
        self.prometheus = PrometheusClients(self.settings, read_secret=kube.get_secret_value)

    def prometheus_for(self, spec: PredictiveScalerSpec, namespace: str) -> PrometheusClient:
        """A client for the scaler's Prometheus, with only the credentials that endpoint may have."""
        source = spec.metric.prometheus
        ref = source.auth_secret_ref
        secret = SecretRef(namespace, ref.name, ref.key) if ref is not None else None
        return self.prometheus.get(source.url, secret)


def build_runtime(settings: Settings) -> Runtime:
    """The collaborators every handler shares, built once."""
    return Runtime(settings=settings, batcher=ForecastBatcher())
