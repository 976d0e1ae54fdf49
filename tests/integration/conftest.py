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
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from operator_process import install_crds

from foresight.devcluster import cluster
from foresight.devcluster.handle import DevCluster, wait_for

ROOT = Path(__file__).resolve().parents[2]
# The backfilled trace's `namespace` label: PredictiveScalers reading it must live there (tenancy).
DEMO_NAMESPACE = "demo"


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
def crds(api: client.ApiClient) -> list[str]:
    """Every CRD in crds/ installed (or updated) and Established; left installed after the session."""
    return install_crds(api, ROOT / "crds")


@pytest.fixture(scope="session")
def worker_nodes(devcluster: DevCluster) -> list[str]:
    """Three healthy kwok nodes in three zones for ordinary workloads (never broken by tests)."""
    return devcluster.create_nodes(3, prefix=f"pool-{uuid.uuid4().hex[:5]}")


@pytest.fixture(scope="session")
def demo_namespace(api: client.ApiClient, worker_nodes: list[str]) -> str:
    """The namespace of the backfilled trace, with its `default` ServiceAccount; kept after the session."""
    core = client.CoreV1Api(api)
    try:
        core.create_namespace({"metadata": {"name": DEMO_NAMESPACE}})  # type: ignore[arg-type]
    except ApiException as exc:
        if exc.status != 409:
            raise
    wait_for(
        lambda: any(
            sa.metadata.name == "default" for sa in core.list_namespaced_service_account(DEMO_NAMESPACE).items
        ),
        60,
        what=f"default ServiceAccount in {DEMO_NAMESPACE}",
    )
    return DEMO_NAMESPACE


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


@pytest.fixture
def pool(devcluster: DevCluster) -> Iterator[tuple[str, list[str]]]:
    """Three fresh kwok nodes labelled ``pool=<name>`` (a FailoverPolicy selects them), deleted afterwards."""
    pool = f"fo-{uuid.uuid4().hex[:5]}"
    names = devcluster.create_nodes(3, prefix=pool, labels={"pool": pool})
    yield pool, names
    devcluster.delete_nodes(names, missing_ok=True)
