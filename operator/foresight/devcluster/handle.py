"""A handle on a running local cluster for tests, the demo and scripts.

Wraps :class:`foresight.devcluster.cluster.ClusterInfo` with the things every caller wants: a
Kubernetes ``ApiClient`` factory, the Prometheus URL, the feeder client, kwok node helpers and a
generic ``wait_for``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from foresight.devcluster import nodes
from foresight.devcluster.cluster import ClusterInfo
from foresight.devcluster.feeder import FeederClient

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T | None],
    timeout_seconds: float = 60.0,
    interval_seconds: float = 0.5,
    what: str = "condition",
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    >>> wait_for(lambda: 42, timeout_seconds=1)
    42
    """
    deadline = time.monotonic() + timeout_seconds
    last: T | None = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not met after {timeout_seconds}s (last value: {last!r})")
        time.sleep(interval_seconds)


@dataclass(frozen=True)
class DevCluster:
    """Everything needed to use the local cluster and its Prometheus."""

    info: ClusterInfo

    @property
    def kubeconfig(self) -> str:
        return self.info.kubeconfig

    @property
    def prometheus_url(self) -> str:
        if self.info.prometheus_url is None:
            raise RuntimeError("this cluster was started without Prometheus")
        return self.info.prometheus_url

    @property
    def feeder(self) -> FeederClient:
        if self.info.feeder_url is None:
            raise RuntimeError("this cluster was started without the feeder")
        return FeederClient(self.info.feeder_url)

    def api_client(self) -> client.ApiClient:
        """A new admin ``ApiClient`` (system:masters); close it when done."""
        return config.new_client_from_config(config_file=self.kubeconfig)

    def create_nodes(
        self,
        count: int,
        prefix: str,
        zones: Sequence[str] = ("zone-a", "zone-b", "zone-c"),
        labels: Mapping[str, str] | None = None,
        cpu: str = "16",
        memory: str = "64Gi",
        taints: Sequence[Mapping[str, str]] = (),
        wait_ready_seconds: float = 60.0,
    ) -> list[str]:
        """Create kwok nodes and wait until the scheduler may place pods on them."""
        with self.api_client() as api:
            names = nodes.create_nodes(api, count, prefix, zones, labels, cpu, memory, taints)
            core = client.CoreV1Api(api)
            for name in names:
                wait_for(
                    lambda name=name: nodes.is_schedulable(core.read_node(name)),  # type: ignore[misc]
                    wait_ready_seconds,
                    what=f"node {name} Ready and schedulable",
                )
        return names

    def delete_nodes(self, names: Sequence[str], missing_ok: bool = False) -> None:
        """Delete nodes; with ``missing_ok`` a node that is already gone is not an error."""
        with self.api_client() as api:
            core = client.CoreV1Api(api)
            for name in names:
                try:
                    core.delete_node(name)
                except ApiException as exc:
                    if not (missing_ok and exc.status == 404):
                        raise

    wait_for = staticmethod(wait_for)
