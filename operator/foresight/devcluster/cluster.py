"""Bring the local control plane and Prometheus up and down.

``up()`` starts, in order: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok,
the live feeder and Prometheus (with the trace backfilled), each waiting for the previous one
to be ready, and writes ``cluster.json`` describing it.  ``up()`` on a running cluster returns
the running one.  ``down()`` stops every process group and removes the data, keeping the logs.
"""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from foresight.devcluster import _build, _certs, _kwok, _paths, _procs, _prometheus
from foresight.devcluster import trace as trace_mod

log = logging.getLogger(__name__)

# Stop dependents before what they depend on, so nothing logs connection errors for long.
STOP_ORDER = (
    "prometheus",
    "feeder",
    "kwok",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "etcd",
)


def default_trace_csv() -> Path:
    """The shared NASA trace: ``<repo>/../shared/datasets/load/...`` next to the repository."""
    repo = Path(__file__).resolve().parents[3]
    return repo.parent / "shared" / "datasets" / "load" / "nasa_http_1995_requests_per_minute.csv"


@dataclass(frozen=True)
class ClusterConfig:
    """Everything that shapes one local cluster; defaults suit fast integration tests."""

    name: str = "default"
    etcd_port: int = 12379
    etcd_peer_port: int = 12380
    apiserver_port: int = 16443
    kwok_port: int = 16444
    prometheus_port: int = 19090
    feeder_port: int = 19091
    # Node failure detection: how long without a heartbeat before a node is NotReady/Unknown,
    # and how long pods tolerate the not-ready/unreachable taints (upstream default: 300 s).
    node_monitor_grace_seconds: int = 20
    node_lease_seconds: int = 10
    not_ready_toleration_seconds: int = 30
    unreachable_toleration_seconds: int = 30
    hpa_sync_seconds: int = 5
    scrape_interval_seconds: int = 5
    trace_csv: Path = field(default_factory=default_trace_csv)
    # Trace instant mapped onto the start-up time; None = one day before the trace ends.
    trace_now_at: datetime | None = None
    # Backfilled span: promtool 2.42 writes one block per 2 h, so two months would be ~700 blocks.
    trace_history_days: float | None = 14.0
    trace_acceleration: float = 1.0
    with_prometheus: bool = True
    # kwok's Stage file; None = the stock fast stages (pods Ready at once). The demo passes its own,
    # where pods take their real start-up time to become Ready.
    kwok_stages: Path | None = None


@dataclass(frozen=True)
class ClusterInfo:
    """What clients need to use a running cluster (persisted as ``cluster.json``)."""

    name: str
    state_dir: str
    kubeconfig: str
    apiserver_url: str
    prometheus_url: str | None
    feeder_url: str | None
    trace_csv: str | None
    trace_now_at: str | None
    trace_anchor: str | None
    trace_acceleration: float
    metric_name: str
    metric_labels: dict[str, str]
    versions: dict[str, str]

    @staticmethod
    def load(path: Path) -> ClusterInfo:
        return ClusterInfo(**json.loads(path.read_text()))


@dataclass(frozen=True)
class Tools:
    """Paths of every binary the cluster runs."""

    kube_bin: Path
    etcd: Path
    kwok: Path
    kwok_stages: Path
    helm: Path
    prometheus_bin: Path | None


def ensure_tools(with_prometheus: bool = True) -> Tools:
    """Build or reuse every binary (idempotent; the first run takes a while)."""
    kube_bin = _build.ensure_kubernetes()
    etcd_bin = _build.ensure_etcd()
    kwok, stages = _kwok.ensure_kwok()
    helm_bin = _build.ensure_helm()
    prom = _prometheus.ensure_prometheus() if with_prometheus else None
    return Tools(kube_bin, etcd_bin / "etcd", kwok, stages, helm_bin / "helm", prom)


def state_dir(name: str = "default") -> Path:
    return _paths.run_root(name)


def info_path(name: str = "default") -> Path:
    return state_dir(name) / "cluster.json"


def running(name: str = "default") -> ClusterInfo | None:
    """The running cluster called ``name``, if its API server answers."""
    path = info_path(name)
    if not path.exists():
        return None
    info = ClusterInfo.load(path)
    table = _procs.ProcessTable(Path(info.state_dir))
    if table.pid("kube-apiserver") is None or not _apiserver_ready(
        info.apiserver_url, Path(info.state_dir) / "pki"
    ):
        return None
    return info


def up(
    config: ClusterConfig | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> ClusterInfo:
    """Start (or return the already running) local cluster described by ``config``."""
    config = config or ClusterConfig()
    existing = running(config.name)
    if existing is not None:
        return existing
    tools = ensure_tools(config.with_prometheus)
    state = state_dir(config.name)
    table = _procs.ProcessTable(state)
    table.stop_all(STOP_ORDER)  # leftovers of a crashed run
    for data in ("etcd", "prometheus", "cluster.json"):
        _remove(state / data)
    pki = _certs.ensure_pki(state / "pki")
    kubeconfig = write_kubeconfig(state / "kubeconfig", pki, config.apiserver_port)
    try:
        _start_control_plane(config, tools, table, state, pki, kubeconfig)
        trace_fields = _start_prometheus(config, tools, table, state, clock) if config.with_prometheus else {}
    except Exception:
        log.error("start-up failed; logs are in %s", table.logs)
        table.stop_all(STOP_ORDER)
        raise
    info = ClusterInfo(
        name=config.name,
        state_dir=str(state),
        kubeconfig=str(kubeconfig),
        apiserver_url=f"https://127.0.0.1:{config.apiserver_port}",
        prometheus_url=f"http://127.0.0.1:{config.prometheus_port}" if config.with_prometheus else None,
        feeder_url=f"http://127.0.0.1:{config.feeder_port}" if config.with_prometheus else None,
        trace_csv=trace_fields.get("trace_csv"),
        trace_now_at=trace_fields.get("trace_now_at"),
        trace_anchor=trace_fields.get("trace_anchor"),
        trace_acceleration=config.trace_acceleration,
        metric_name=trace_mod.METRIC_NAME,
        metric_labels=dict(trace_mod.DEFAULT_LABELS),
        versions=_versions(tools),
    )
    info_path(config.name).write_text(json.dumps(asdict(info), indent=2) + "\n")
    return info


def down(name: str = "default") -> None:
    """Stop every process of the cluster and delete its data (logs are kept)."""
    state = state_dir(name)
    _procs.ProcessTable(state).stop_all(STOP_ORDER)
    if state.exists():
        for child in state.iterdir():
            if child.name != "logs":
                _remove(child)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _versions(tools: Tools) -> dict[str, str]:
    from foresight.devcluster import versions

    result = {
        "kubernetes": versions.KUBERNETES,
        "etcd": versions.ETCD,
        "kwok": versions.KWOK,
        "helm": versions.HELM,
    }
    if tools.prometheus_bin is not None:
        result["prometheus"] = tools.prometheus_bin.parents[1].name.removeprefix("prometheus-")
    return result


def write_kubeconfig(path: Path, pki: _certs.Pki, port: int) -> Path:
    """An admin kubeconfig (system:masters client certificate) for 127.0.0.1."""
    import yaml

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "foresight-local",
                "cluster": {"server": f"https://127.0.0.1:{port}", "certificate-authority": str(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": "foresight-admin",
                "user": {"client-certificate": str(pki.admin_cert), "client-key": str(pki.admin_key)},
            }
        ],
        "contexts": [
            {"name": "foresight-local", "context": {"cluster": "foresight-local", "user": "foresight-admin"}}
        ],
        "current-context": "foresight-local",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _start_control_plane(
    config: ClusterConfig,
    tools: Tools,
    table: _procs.ProcessTable,
    state: Path,
    pki: _certs.Pki,
    kubeconfig: Path,
) -> None:
    etcd_url = f"http://127.0.0.1:{config.etcd_port}"
    peer_url = f"http://127.0.0.1:{config.etcd_peer_port}"
    table.start(
        "etcd",
        [
            str(tools.etcd),
            "--name=foresight",
            f"--data-dir={state / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=foresight={peer_url}",
            # Throw-away test data: durability is not worth the fsync latency.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ],
    )
    wait_for(lambda: _http_ok(f"{etcd_url}/health"), 60, "etcd /health", table.log_path("etcd"))

    apiserver_url = f"https://127.0.0.1:{config.apiserver_port}"
    table.start("kube-apiserver", _apiserver_argv(config, tools, state, pki, etcd_url))
    wait_for(
        lambda: _apiserver_ready(apiserver_url, pki.directory),
        120,
        "kube-apiserver /readyz",
        table.log_path("kube-apiserver"),
    )
    table.start("kube-controller-manager", _controller_manager_argv(config, tools, pki, kubeconfig))
    table.start(
        "kube-scheduler",
        [str(tools.kube_bin / "kube-scheduler"), f"--kubeconfig={kubeconfig}", "--leader-elect=false",
         "--secure-port=0", "--v=1"],
    )  # fmt: skip
    table.start(
        "kwok",
        _kwok.kwok_argv(
            tools.kwok,
            config.kwok_stages or tools.kwok_stages,
            kubeconfig,
            config.kwok_port,
            config.node_lease_seconds,
        ),
    )
    # Pods are rejected until the service-account controller creates `default` in a namespace.
    wait_for(
        lambda: _api_get(apiserver_url, pki.directory, "/api/v1/namespaces/default/serviceaccounts/default"),
        90,
        "default ServiceAccount",
        table.log_path("kube-controller-manager"),
    )


def _apiserver_argv(
    config: ClusterConfig, tools: Tools, state: Path, pki: _certs.Pki, etcd_url: str
) -> list[str]:
    return [
        str(tools.kube_bin / "kube-apiserver"),
        f"--etcd-servers={etcd_url}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={config.apiserver_port}",
        f"--cert-dir={state / 'pki'}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        f"--service-account-key-file={pki.service_account_pub}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range=10.96.0.0/16",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        # 127.0.0.1 is not a valid endpoint address for the `kubernetes` Service; nothing in
        # this cluster dials it from a pod anyway.
        "--endpoint-reconciler-type=none",
        f"--default-not-ready-toleration-seconds={config.not_ready_toleration_seconds}",
        f"--default-unreachable-toleration-seconds={config.unreachable_toleration_seconds}",
        "--profiling=false",
        "--v=1",
    ]


def _controller_manager_argv(
    config: ClusterConfig, tools: Tools, pki: _certs.Pki, kubeconfig: Path
) -> list[str]:
    return [
        str(tools.kube_bin / "kube-controller-manager"),
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--secure-port=0",
        "--controllers=*",
        f"--service-account-private-key-file={pki.service_account_key}",
        f"--root-ca-file={pki.ca_cert}",
        f"--cluster-signing-cert-file={pki.ca_cert}",
        f"--cluster-signing-key-file={pki.ca_key}",
        "--node-monitor-period=2s",
        f"--node-monitor-grace-period={config.node_monitor_grace_seconds}s",
        f"--horizontal-pod-autoscaler-sync-period={config.hpa_sync_seconds}s",
        "--allocate-node-cidrs=false",
        "--v=1",
    ]


def _start_prometheus(
    config: ClusterConfig,
    tools: Tools,
    table: _procs.ProcessTable,
    state: Path,
    clock: Callable[[], datetime],
) -> dict[str, str]:
    """Backfill the trace history, start the feeder and Prometheus; returns the trace mapping."""
    assert tools.prometheus_bin is not None
    trace = trace_mod.load_csv(config.trace_csv)
    now_at = config.trace_now_at or trace_mod.default_now_at(trace)
    replay = trace_mod.Replay(trace, now_at, trace_mod.floor_minute(clock()), config.trace_acceleration)
    span = timedelta(days=config.trace_history_days) if config.trace_history_days else None
    tsdb = state / "prometheus" / "data"
    samples = _prometheus.backfill(
        tools.prometheus_bin / "promtool", replay, trace_mod.DEFAULT_LABELS, tsdb, span
    )
    log.info("backfilled %d samples ending at %s", samples, replay.anchor.isoformat())

    feeder_address = f"127.0.0.1:{config.feeder_port}"
    table.start(
        "feeder",
        [
            sys.executable, "-m", "foresight.devcluster", "feeder", f"--port={config.feeder_port}",
            f"--trace-csv={config.trace_csv}", f"--now-at={now_at.isoformat()}",
            f"--anchor={replay.anchor.isoformat()}", f"--acceleration={config.trace_acceleration}",
        ],
        env=_python_env(),
    )  # fmt: skip
    wait_for(lambda: _http_ok(f"http://{feeder_address}/healthz"), 60, "feeder", table.log_path("feeder"))

    prom_config = state / "prometheus" / "prometheus.yml"
    prom_config.write_text(_prometheus.scrape_config(feeder_address, config.scrape_interval_seconds))
    listen = f"127.0.0.1:{config.prometheus_port}"
    table.start(
        "prometheus",
        _prometheus.prometheus_argv(tools.prometheus_bin / "prometheus", prom_config, tsdb, listen),
    )
    wait_for(
        lambda: _http_ok(f"http://{listen}/-/ready"), 120, "prometheus /-/ready", table.log_path("prometheus")
    )
    return {
        "trace_csv": str(config.trace_csv),
        "trace_now_at": now_at.isoformat(),
        "trace_anchor": replay.anchor.isoformat(),
    }


def _python_env() -> dict[str, str]:
    """Environment for child Python processes that can import this package from the source tree."""
    import os

    env = dict(os.environ)
    source_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
    return env


def wait_for(
    predicate: Callable[[], bool], timeout_seconds: float, what: str, log_file: Path | None = None
) -> None:
    """Poll ``predicate`` until it is true; on time-out raise with the tail of ``log_file``."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.5)
    tail = ""
    if log_file is not None and log_file.exists():
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-30:])
    raise TimeoutError(f"{what} not ready after {timeout_seconds}s; log tail:\n{tail}")


def _http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


def _tls_context(pki_dir: Path) -> ssl.SSLContext:
    pki = _certs.Pki(pki_dir)
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
    return context


def _api_get(base_url: str, pki_dir: Path, path: str) -> bool:
    return httpx.get(f"{base_url}{path}", verify=_tls_context(pki_dir), timeout=2).status_code == 200


def _apiserver_ready(base_url: str, pki_dir: Path) -> bool:
    try:
        return _api_get(base_url, pki_dir, "/readyz")
    except (httpx.HTTPError, OSError):
        return False
