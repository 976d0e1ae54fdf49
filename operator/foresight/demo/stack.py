"""The demo's moving parts: its own local cluster, the chart's RBAC, and the operator as a process.

The demo cluster is called ``demo`` and uses the test cluster's ports + 100, so it runs beside a
``hack/cluster up`` cluster. The chart is installed with helm but without its Deployment
(``replicaCount=0``): the operator runs here as ``python -m foresight run``, yet with the chart's
ServiceAccount credentials (a TokenRequest token in its own kubeconfig), so it can do exactly what
the chart's ClusterRole allows and nothing more.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from foresight.demo import scenario
from foresight.devcluster import ProcessTable, cluster

REPO = Path(__file__).resolve().parents[3]
CLUSTER_NAME = "demo"
PORT_OFFSET = 100
RELEASE, RELEASE_NAMESPACE = "foresight", "foresight-system"


def cluster_config(trace_csv: Path, kwok_stages: Path, history_days: float = 1.0) -> cluster.ClusterConfig:
    """The demo cluster: its own name and ports, the accelerated trace and kwok's slow-starting pods.

    The accelerated trace (:func:`write_trace`) is replayed as it is, its "now" on the cluster's
    start; a day of it holds the log's whole history before that. Prometheus scrapes every second, a
    minute of the log.
    """
    defaults = cluster.ClusterConfig()
    return cluster.ClusterConfig(
        name=CLUSTER_NAME,
        etcd_port=defaults.etcd_port + PORT_OFFSET,
        etcd_peer_port=defaults.etcd_peer_port + PORT_OFFSET,
        apiserver_port=defaults.apiserver_port + PORT_OFFSET,
        kwok_port=defaults.kwok_port + PORT_OFFSET,
        prometheus_port=defaults.prometheus_port + PORT_OFFSET,
        feeder_port=defaults.feeder_port + PORT_OFFSET,
        scrape_interval_seconds=scenario.SCRAPE_SECONDS,
        trace_csv=trace_csv,
        trace_now_at=scenario.NOW_AT,
        trace_history_days=history_days,
        kwok_stages=kwok_stages,
    )


def shared_trace() -> Path:
    """The NASA trace in the shared datasets next to the checkout (``../shared/datasets/load``)."""
    return cluster.default_trace_csv().parent / scenario.TRACE_FILE


def write_trace(source: Path, path: Path) -> Path:
    """The shared trace on the demo's clock (:func:`scenario.accelerated`), as a CSV the cluster replays."""
    from foresight.devcluster import trace as trace_mod

    samples = [(s.at, s.value) for s in trace_mod.load_csv(source).samples]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        handle.write("timestamp,value\n")
        for at, value in scenario.accelerated(samples):
            handle.write(f"{at.strftime('%Y-%m-%dT%H:%M:%SZ')},{value:g}\n")
    return path


def write_stages(stock: Path, path: Path) -> Path:
    """kwok's stages with pods that take the demo's start-up time to become Ready."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scenario.stages_file(stock.read_text()))
    return path


def helm_install(helm: Path, api: client.ApiClient, state: Path) -> list[str]:
    """Apply the chart's CRDs, ServiceAccount, ClusterRole/Binding and PriorityClass (rendered by helm).

    Only these templates: the operator runs as a local process (below), so neither its Deployment
    nor its Service belong here, and one standalone operator needs no peering object. Returns the
    ``Kind/name`` of every object applied.
    """
    from kubernetes import utils

    env = {
        **os.environ,
        # Keep helm's own state with the cluster's, not in the user's home.
        "HELM_CACHE_HOME": str(state / "helm" / "cache"),
        "HELM_CONFIG_HOME": str(state / "helm" / "config"),
        "HELM_DATA_HOME": str(state / "helm" / "data"),
    }
    argv = [
        str(helm), "template", RELEASE, str(REPO / "charts" / "foresight"),
        "--namespace", RELEASE_NAMESPACE,
        "--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/rbac.yaml",
        "--show-only", "templates/priorityclass.yaml",
    ]  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"helm template failed: {done.stderr.strip()}")
    crds = [
        yaml.safe_load(p.read_text()) for p in sorted((REPO / "charts" / "foresight" / "crds").glob("*.yaml"))
    ]
    rendered = [body for body in yaml.safe_load_all(done.stdout) if body]
    try:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": RELEASE_NAMESPACE}})  # type: ignore[arg-type]
    except ApiException as exc:
        if exc.status != 409:
            raise
    applied = []
    for body in crds + rendered:
        try:
            utils.create_from_dict(api, body, namespace=RELEASE_NAMESPACE)
        except utils.FailToCreateError as exc:
            if any(getattr(e, "status", None) != 409 for e in exc.api_exceptions):
                raise
        applied.append(f"{body['kind']}/{body['metadata']['name']}")
    return applied


def wait_crds_established(
    api: client.ApiClient, group: str = "foresight.dev", timeout_seconds: float = 60
) -> None:
    extensions = client.ApiextensionsV1Api(api)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        crds: list[Any] = [
            c for c in extensions.list_custom_resource_definition().items if c.spec.group == group
        ]
        if len(crds) >= 2 and all(
            any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or []))
            for crd in crds
        ):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the {group} CRDs were not established after {timeout_seconds}s")


def service_account_kubeconfig(
    api: client.ApiClient, admin_kubeconfig: str, path: Path, expiration_seconds: int = 24 * 3600
) -> Path:
    """A kubeconfig authenticating as the chart's ServiceAccount with a TokenRequest bearer token."""
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=expiration_seconds)
    )
    token: Any = client.CoreV1Api(api).create_namespaced_service_account_token(
        RELEASE, RELEASE_NAMESPACE, request
    )
    admin = yaml.safe_load(Path(admin_kubeconfig).read_text())
    cluster_entry = admin["clusters"][0]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster_entry],
        "users": [{"name": "foresight-operator", "user": {"token": token.status.token}}],
        "contexts": [
            {
                "name": "foresight-operator",
                "context": {"cluster": cluster_entry["name"], "user": "foresight-operator"},
            }
        ],
        "current-context": "foresight-operator",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def apply(api: client.ApiClient, body: dict[str, Any]) -> None:
    """Create ``body``; an object that already exists is left as it is."""
    from kubernetes import utils

    kind, namespace = body["kind"], body["metadata"].get("namespace")
    plural = {"PredictiveScaler": "predictivescalers", "FailoverPolicy": "failoverpolicies"}.get(kind)
    if plural is None:
        try:
            utils.create_from_dict(api, body)
        except utils.FailToCreateError as exc:
            if any(getattr(e, "status", None) != 409 for e in exc.api_exceptions):
                raise
        return
    group, version = body["apiVersion"].split("/")
    try:
        client.CustomObjectsApi(api).create_namespaced_custom_object(group, version, namespace, plural, body)
    except ApiException as exc:
        if exc.status != 409:
            raise


def wait_default_service_account(api: client.ApiClient, namespace: str, timeout_seconds: float = 60) -> None:
    """Pods are rejected until the ServiceAccount controller creates ``default`` in the namespace."""
    core = client.CoreV1Api(api)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        accounts: list[Any] = core.list_namespaced_service_account(namespace).items
        if any(sa.metadata.name == "default" for sa in accounts):
            return
        time.sleep(0.5)
    raise TimeoutError(f"no default ServiceAccount in {namespace} after {timeout_seconds}s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OperatorProcess:
    """``python -m foresight run`` in its own process group, logging next to the cluster's components."""

    kubeconfig: Path
    prometheus_url: str
    state: Path
    tick_seconds: float = 5.0
    hpa_sync_seconds: int = cluster.ClusterConfig().hpa_sync_seconds

    def __post_init__(self) -> None:
        self.table = ProcessTable(self.state)
        self.liveness_port = _free_port()
        self.metrics_port = _free_port()

    @property
    def log_path(self) -> Path:
        return self.table.log_path("operator")

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO / "operator"), os.environ.get("PYTHONPATH")) if p
            ),
            "KUBECONFIG": str(self.kubeconfig),
            "FORESIGHT_PROMETHEUS_URL": self.prometheus_url,
            "FORESIGHT_STANDALONE": "true",
            # Faster than the chart's 30 s so that a few-minute demo sees many decisions.
            "FORESIGHT_TICK_SECONDS": str(self.tick_seconds),
            # The demo cluster's HPA syncs every few seconds, not the upstream 15.
            "FORESIGHT_HPA_SYNC_SECONDS": str(self.hpa_sync_seconds),
            "FORESIGHT_METRICS_PORT": str(self.metrics_port),
            "FORESIGHT_LIVENESS_PORT": str(self.liveness_port),
            "FORESIGHT_LOG_FORMAT": "json",
        }
        self.table.start("operator", [sys.executable, "-m", "foresight", "run"], env=env)

    def healthy(self) -> bool:
        if self.table.pid("operator") is None:
            raise RuntimeError(f"the operator exited; see {self.log_path}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.liveness_port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.table.stop("operator", grace_seconds=15)


class MemoryDriver:
    """Publishes every node's free memory to the feeder each second; one node can be made to leak.

    Prometheus scrapes the feeder, and the FailoverPolicy's signal query reads it back: the operator
    sees the leak the way it would see a real node exporter's ``MemAvailable``.
    """

    def __init__(self, feeder: Any, metric: str, nodes: list[str], healthy_bytes: float) -> None:
        import threading

        self.feeder = feeder
        self.metric = metric
        self.values = dict.fromkeys(nodes, healthy_bytes)
        self.leaks: dict[str, float] = {}
        self.floor_bytes = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-driver", daemon=True)

    def leak(self, node: str, start_bytes: float, bytes_per_second: float) -> None:
        self.values[node] = start_bytes
        self.leaks[node] = bytes_per_second

    def _run(self) -> None:
        while not self._stop.is_set():
            for node, rate in self.leaks.items():
                self.values[node] = max(self.floor_bytes, self.values[node] - rate)
            try:
                self.feeder.set_many(
                    [{"name": self.metric, "labels": {"node": n}, "value": v} for n, v in self.values.items()]
                )
            except httpx.HTTPError:
                pass  # the feeder is going away (teardown); the next second tries again
            self._stop.wait(1.0)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
