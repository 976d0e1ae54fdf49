"""Session fixtures for integration tests: one real control plane + Prometheus per test run.

If ``hack/cluster up`` already started the cluster, the tests use it and leave it running;
otherwise the session starts one (building the binaries the first time) and stops it at the
end.  ``FORESIGHT_KEEP_CLUSTER=1`` keeps a cluster the session started, for debugging.

Prometheus holds the NASA trace up to "now", and "now" is trace time 1995-08-30T10:30Z, just
before that day's morning ramp (``foresight.devcluster.trace.NASA_MORNING_RAMP``); the feeder
replays the trace from there at real speed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from foresight.devcluster import cluster
from foresight.devcluster.handle import DevCluster, wait_for


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/integration needs the cluster; mark it so `-m "not integration"` skips it.
    for item in items:
        if "tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


def pytest_collection_finish(session: pytest.Session) -> None:
    # Build the binaries (tens of minutes on a fresh machine) before any test starts, so the
    # build does not count against the first test's time-out; a no-op once they are cached.
    if any("tests/integration/" in str(item.path) for item in session.items):
        cluster.ensure_tools()


@pytest.fixture(scope="session")
def devcluster() -> Iterator[DevCluster]:
    """The running local cluster (started for this session unless one is already up)."""
    info = cluster.running()
    started_here = info is None
    if info is None:
        info = cluster.up(cluster.ClusterConfig())
    try:
        yield DevCluster(info)
    finally:
        if started_here and os.environ.get("FORESIGHT_KEEP_CLUSTER") != "1":
            cluster.down(info.name)


@pytest.fixture(scope="session")
def api(devcluster: DevCluster) -> Iterator[client.ApiClient]:
    """One admin ApiClient shared by the session."""
    with devcluster.api_client() as api_client:
        yield api_client


@pytest.fixture(scope="session")
def worker_nodes(devcluster: DevCluster) -> list[str]:
    """Three healthy kwok nodes in three zones for ordinary workloads (never broken by tests)."""
    return devcluster.create_nodes(3, prefix=f"pool-{uuid.uuid4().hex[:5]}")


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    """A fresh namespace whose `default` ServiceAccount exists (pods are admitted), deleted after."""
    core = client.CoreV1Api(api)
    name = f"it-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})  # type: ignore[arg-type]
    wait_for(
        lambda: any(sa.metadata.name == "default" for sa in core.list_namespaced_service_account(name).items),
        60,
        what=f"default ServiceAccount in {name}",
    )
    yield name
    core.delete_namespace(name)
