"""Start the operator: kopf settings, the shared runtime, the /metrics endpoint, and the run loop."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import kopf
import prometheus_client

from foresight import logs
from foresight.config import Settings
from foresight.handlers import failover_policy, predictive_scaler  # noqa: F401  (registers the handlers)
from foresight.handlers.runtime import build_runtime

log = logs.get(__name__)


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    """kopf's own knobs: where it keeps its state on our objects, and how it posts events."""
    settings.persistence.finalizer = "foresight.dev/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="foresight.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="foresight.dev")
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 30


def run(settings: Settings) -> None:
    """Run until interrupted; with peering, only the highest-priority replica acts."""
    if settings.metrics_port:
        prometheus_client.start_http_server(settings.metrics_port)
    memo = kopf.Memo(runtime=build_runtime(settings))
    # Equal priorities make kopf pause all replicas; a random one elects the highest as the leader.
    priority = settings.priority if settings.priority is not None else secrets.randbelow(2**31 - 1) + 1
    log.info(
        "starting operator",
        namespaces=settings.namespaces or "cluster-wide",
        prometheus=settings.prometheus_url,
        peering=None if settings.standalone else settings.peering_name,
        priority=priority,
    )
    asyncio.run(
        kopf.operator(
            clusterwide=not settings.namespaces,
            namespaces=settings.namespaces,
            standalone=settings.standalone,
            priority=priority,
            # A peering name makes peering mandatory in kopf, even with standalone=True.
            peering_name=None if settings.standalone else settings.peering_name,
            liveness_endpoint=f"http://0.0.0.0:{settings.liveness_port}/healthz"
            if settings.liveness_port
            else None,
            memo=memo,
        )
    )
