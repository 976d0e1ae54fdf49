"""The PredictiveScaler controller end to end: real API server, HPA controller, kwok pods, Prometheus.

The operator runs as a child process (``foresight run``) against the local cluster; Prometheus holds
the NASA trace backfilled up to "now", which the session fixtures place shortly before the morning
ramp of 1995-08-30 (see ``conftest.py``).
"""

from __future__ import annotations

import json
import math
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from objects import create_cpu_hpa
from operator_process import OperatorProcess, free_port, running_operator

from foresight.api.v1alpha1 import parse_time
from foresight.devcluster.handle import DevCluster, wait_for
from foresight.kube import hpa as hpas

GROUP, VERSION, PLURAL = "foresight.dev", "v1alpha1", "predictivescalers"
QUERY = 'sum(foresight_demo_requests_per_minute{namespace="demo", service="web"})'
CAPACITY = 4.0  # requests/minute one replica serves: the trace's 20-100 rpm need 5-25 replicas


class _SwitchableProxy:
    """Forwards to the real Prometheus until switched off; then the port refuses connections."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadingHTTPServer | None = None

    def on(self) -> None:
        upstream = self.upstream

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                response = httpx.get(upstream + self.path, timeout=10)
                self.send_response(response.status_code)
                self.send_header("Content-Type", response.headers.get("content-type", "application/json"))
                self.end_headers()
                self.wfile.write(response.content)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def off(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


OPERATOR_TOKEN = "operator-prometheus-token"


class _TenantPrometheus:
    """A look-alike Prometheus a tenant controls: every range query gets ``value``; headers are kept."""

    def __init__(self, value: float = 7.0) -> None:
        self.value = value
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                params = parse_qs(urlsplit(self.path).query)
                headers = {k.lower(): v for k, v in self.headers.items()}
                received.append({"path": self.path, "headers": headers, "params": params})
                start, end = float(params["start"][0]), float(params["end"][0])
                step = int(params["step"][0].rstrip("s"))
                values = [[start + i * step, str(value)] for i in range(int((end - start) // step) + 1)]
                body = {
                    "status": "success",
                    "data": {"resultType": "matrix", "result": [{"metric": {}, "values": values}]},
                }
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def proxy(devcluster: DevCluster) -> Iterator[_SwitchableProxy]:
    """A switchable proxy in front of the real Prometheus (an allowed endpoint of the operator)."""
    switchable = _SwitchableProxy(devcluster.prometheus_url)
    yield switchable
    switchable.off()


@pytest.fixture(scope="module")
def tenant_prometheus() -> Iterator[_TenantPrometheus]:
    """An endpoint a tenant controls, on the operator's allow-list."""
    server = _TenantPrometheus()
    yield server
    server.close()


@pytest.fixture(scope="module")
def operator(
    devcluster: DevCluster,
    crds: list[str],
    tmp_path_factory: pytest.TempPathFactory,
    proxy: _SwitchableProxy,
    tenant_prometheus: _TenantPrometheus,
) -> Iterator[OperatorProcess]:
    with running_operator(
        devcluster.kubeconfig,
        devcluster.prometheus_url,
        tmp_path_factory.mktemp("operator") / "operator.log",
        FORESIGHT_STALE_FLOOR_SECONDS="20",
        FORESIGHT_PROMETHEUS_TIMEOUT_SECONDS="3",
        FORESIGHT_PROMETHEUS_TOKEN=OPERATOR_TOKEN,
        FORESIGHT_PROMETHEUS_ALLOWED_URLS=json.dumps([proxy.url, tenant_prometheus.url]),
    ) as process:
        yield process


def _workload(api: client.ApiClient, namespace: str, name: str, hpa_min: int = 2) -> None:
    labels = {"app": name}
    client.AppsV1Api(api).create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "replicas": hpa_min,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "nginx:1.27",
                                "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}},
                            }
                        ]
                    },
                },
            },
        },
    )
    create_cpu_hpa(api, namespace, name, min_replicas=hpa_min)


def _scaler(name: str, *, mode: str = "active", url: str | None = None, query: str = QUERY) -> dict[str, Any]:
    prometheus: dict[str, Any] = {"query": query}
    if url:
        prometheus["url"] = url
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PredictiveScaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "hpaRef": {"name": name},
            "metric": {"prometheus": prometheus, "capacityPerReplica": CAPACITY},
            "forecast": {
                "model": "seasonal-naive",
                "history": "3d",
                "step": "1m",
                "horizon": "30m",
                "quantile": 0.9,
            },
            "scaling": {"startupSeconds": 180, "minReplicas": 1, "maxReplicas": 40, "mode": mode},
        },
    }


def _custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def _status(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    return dict(
        _custom(api).get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name).get("status") or {}
    )


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions", []) if c["type"] == type_), {})


def _hpa(api: client.ApiClient, namespace: str, name: str) -> client.V2HorizontalPodAutoscaler:
    return client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler(name, namespace)


def _running_pods(api: client.ApiClient, namespace: str, app: str) -> int:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return sum(p.status.phase == "Running" and p.metadata.deletion_timestamp is None for p in pods)


def _cleanup(api: client.ApiClient, namespace: str, name: str) -> None:
    for delete in (
        lambda: _custom(api).delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name),
        lambda: client.AutoscalingV2Api(api).delete_namespaced_horizontal_pod_autoscaler(name, namespace),
        lambda: client.AppsV1Api(api).delete_namespaced_deployment(name, namespace),
    ):
        try:
            delete()
        except ApiException as exc:
            if exc.status != 404:
                raise


@pytest.fixture
def app(api: client.ApiClient, demo_namespace: str) -> Iterator[str]:
    name = f"web-{uuid.uuid4().hex[:6]}"
    _workload(api, demo_namespace, name)
    yield name
    _cleanup(api, demo_namespace, name)


def test_floor_raised_ahead_then_restored_on_delete(
    api: client.ApiClient, operator: OperatorProcess, demo_namespace: str, app: str, devcluster: DevCluster
) -> None:
    _custom(api).create_namespaced_custom_object(GROUP, VERSION, demo_namespace, PLURAL, _scaler(app))
    status = wait_for(
        lambda: (s := _status(api, demo_namespace, app)).get("appliedMinReplicas") and s,
        180,
        what="a floor applied by the operator",
    )
    floor = status["appliedMinReplicas"]
    # Sized for the forecast peak when a pod asked for now is ready, not for the load of this minute: the
    # lead window opens one HPA sync (the operator is told the cluster's) and one start-up time (180 s) after
    # the decision.
    # (Whether that peak is above or below this minute's load depends on the trace at the hour the test
    # runs, so the test does not ask.)
    decided = parse_time(status["lastDecision"]["time"])
    forecast = status["forecast"]
    lead = timedelta(seconds=int(operator.env["FORESIGHT_HPA_SYNC_SECONDS"]) + 180)
    assert parse_time(forecast["windowStart"]) - decided == lead
    assert parse_time(forecast["windowEnd"]) > parse_time(forecast["windowStart"])
    assert status["observedLoad"] > 0 and forecast["peakAtQuantile"] > 0
    assert floor >= min(40, max(2, math.ceil(status["forecast"]["peakAtQuantile"] / CAPACITY - 1e-9)))
    assert floor > 2, f"the trace needs more than the HPA's floor of 2 (status: {status})"
    assert status["lastDecision"]["reason"].startswith("p90 peak")
    assert _condition(status, "Ready")["reason"] == "Applied"

    hpa = _hpa(api, demo_namespace, app)
    assert hpa.spec.min_replicas == floor
    assert json.loads(hpa.metadata.annotations[hpas.ORIGINAL_ANNOTATION]) == {
        "minReplicas": 2,
        "maxReplicas": 40,
    }

    # The real HPA controller honours the new floor; kwok runs the pods.
    wait_for(lambda: _running_pods(api, demo_namespace, app) >= floor, 120, what=f"{floor} Running pods")

    events = client.CoreV1Api(api).list_namespaced_event(demo_namespace).items
    assert any(e.reason == "FloorChanged" and e.involved_object.name == app for e in events)

    printed = subprocess.run(
        ["kubectl", "--kubeconfig", devcluster.kubeconfig, "get", "ps", "-n", demo_namespace, app],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert {"TARGET", "MODE", "LOAD", "PEAK", "DESIRED", "FLOOR", "MODEL"} <= set(
        printed.split("\n")[0].split()
    )

    _custom(api).delete_namespaced_custom_object(GROUP, VERSION, demo_namespace, PLURAL, app)
    restored = wait_for(
        lambda: (h := _hpa(api, demo_namespace, app)).spec.min_replicas == 2 and h,
        60,
        what="HPA floor restored to 2",
    )
    assert hpas.ORIGINAL_ANNOTATION not in (restored.metadata.annotations or {})
    assert restored.spec.max_replicas == 40


def test_dry_run_computes_but_changes_nothing(
    api: client.ApiClient, operator: OperatorProcess, demo_namespace: str, app: str
) -> None:
    _custom(api).create_namespaced_custom_object(
        GROUP, VERSION, demo_namespace, PLURAL, _scaler(app, mode="dryRun")
    )
    status = wait_for(
        lambda: (s := _status(api, demo_namespace, app)).get("desiredReplicas") and s,
        180,
        what="a dryRun decision",
    )
    assert status["desiredReplicas"] > 2
    assert _condition(status, "Ready")["reason"] == "DryRun"
    wait_for(
        lambda: _status(api, demo_namespace, app)["lastDecision"]["time"] != status["lastDecision"]["time"],
        60,
    )
    hpa = _hpa(api, demo_namespace, app)
    assert hpa.spec.min_replicas == 2 and hpas.ORIGINAL_ANNOTATION not in (hpa.metadata.annotations or {})


def test_prometheus_outage_keeps_floor_then_restores(
    api: client.ApiClient, operator: OperatorProcess, demo_namespace: str, app: str, proxy: _SwitchableProxy
) -> None:
    proxy.on()
    try:
        body = _scaler(app, url=proxy.url)
        _custom(api).create_namespaced_custom_object(GROUP, VERSION, demo_namespace, PLURAL, body)
        status = wait_for(
            lambda: (s := _status(api, demo_namespace, app)).get("appliedMinReplicas") and s,
            180,
            what="floor",
        )
        floor = status["appliedMinReplicas"]
        proxy.off()
        degraded = wait_for(
            lambda: (
                (c := _condition(_status(api, demo_namespace, app), "Degraded")).get("status") == "True" and c
            ),
            60,
            what="Degraded condition",
        )
        assert degraded["reason"] in {"Unreachable", "Timeout"}
        assert "keeping the last good floor" in degraded["message"]
        assert _hpa(api, demo_namespace, app).spec.min_replicas == floor  # no scale-down storm
        # Past the operator's stale-floor limit (20 s here), the original floor comes back.
        wait_for(
            lambda: _hpa(api, demo_namespace, app).spec.min_replicas == 2, 90, what="original floor restored"
        )
        proxy.on()
        wait_for(
            lambda: _condition(_status(api, demo_namespace, app), "Degraded").get("status") == "False",
            90,
            what="recovery",
        )
        wait_for(lambda: _hpa(api, demo_namespace, app).spec.min_replicas > 2, 60, what="floor raised again")
    finally:
        proxy.off()


def test_operator_killed_mid_run_converges(
    api: client.ApiClient, operator: OperatorProcess, demo_namespace: str, app: str
) -> None:
    _custom(api).create_namespaced_custom_object(GROUP, VERSION, demo_namespace, PLURAL, _scaler(app))
    wait_for(lambda: _status(api, demo_namespace, app).get("appliedMinReplicas"), 180, what="floor")
    operator.kill()
    # While it is down, the user caps the scaler: the new operator must apply it from the API alone.
    _custom(api).patch_namespaced_custom_object(
        GROUP, VERSION, demo_namespace, PLURAL, app, {"spec": {"scaling": {"maxReplicas": 3}}}
    )
    operator.start()
    wait_for(lambda: _hpa(api, demo_namespace, app).spec.min_replicas == 3, 120, what="floor capped at 3")
    hpa = _hpa(api, demo_namespace, app)
    assert json.loads(hpa.metadata.annotations[hpas.ORIGINAL_ANNOTATION])["minReplicas"] == 2
    _custom(api).delete_namespaced_custom_object(GROUP, VERSION, demo_namespace, PLURAL, app)
    wait_for(lambda: _hpa(api, demo_namespace, app).spec.min_replicas == 2, 60, what="restored after restart")


def test_query_of_another_namespace_is_refused(
    api: client.ApiClient, operator: OperatorProcess, namespace: str
) -> None:
    name = "web"
    _workload(api, namespace, name)
    _custom(api).create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _scaler(name))
    ready = wait_for(
        lambda: (c := _condition(_status(api, namespace, name), "Ready")).get("reason") and c,
        120,
        what="status",
    )
    assert ready["reason"] == "QueryNotAllowed" and 'namespace="' + namespace + '"' in ready["message"]
    assert _hpa(api, namespace, name).spec.min_replicas == 2


# --- A hostile tenant ---------------------------------------------------------------------------


def _smuggling_url(prometheus_url: str) -> str:
    """The operator's Prometheus with a second, foreign query in the URL (Prometheus uses the first)."""
    return f"{prometheus_url}/api/v1/query_range?query={quote(QUERY)}#"


@pytest.mark.parametrize(
    "make_url",
    [
        pytest.param(_smuggling_url, id="query-smuggling"),
        pytest.param(lambda url: url.replace("http://", "http://user:password@"), id="userinfo"),
        pytest.param(lambda url: url + "/#fragment", id="fragment"),
        pytest.param(lambda url: url.replace("http://", "file://"), id="scheme"),
    ],
)
def test_api_server_refuses_a_prometheus_url_that_is_not_a_base_url(
    api: client.ApiClient, crds: list[str], namespace: str, devcluster: DevCluster, make_url: Any
) -> None:
    query = f'sum(foresight_demo_requests_per_minute{{namespace="{namespace}"}})'
    body = _scaler("web", url=make_url(devcluster.prometheus_url), query=query)
    with pytest.raises(ApiException) as refused:
        _custom(api).create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    assert refused.value.status == 422
    message = json.loads(refused.value.body)["message"]
    assert "spec.metric.prometheus.url" in message and "must be a base URL" in message


@pytest.mark.parametrize("field", ["step", "history", "horizon"])
def test_api_server_refuses_zero_durations(
    api: client.ApiClient, crds: list[str], namespace: str, field: str
) -> None:
    body = _scaler("web")
    body["spec"]["forecast"][field] = "0s"
    with pytest.raises(ApiException) as refused:
        _custom(api).create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    assert refused.value.status == 422
    assert f"spec.forecast.{field}" in json.loads(refused.value.body)["message"]


def _tenant_scaler(namespace: str, url: str, secret: str | None = None) -> dict[str, Any]:
    body = _scaler("web", url=url, query=f'sum(requests_per_minute{{namespace="{namespace}"}})')
    if secret:
        body["spec"]["metric"]["prometheus"]["authSecretRef"] = {"name": secret, "key": "token"}
    return body


def test_operator_credentials_never_reach_a_tenants_endpoint(
    api: client.ApiClient, operator: OperatorProcess, namespace: str, tenant_prometheus: _TenantPrometheus
) -> None:
    _workload(api, namespace, "web")
    client.CoreV1Api(api).create_namespaced_secret(
        namespace, {"metadata": {"name": "tenant-prom"}, "stringData": {"token": "tenant-token"}}
    )
    seen = len(tenant_prometheus.requests)
    _custom(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, _tenant_scaler(namespace, tenant_prometheus.url)
    )
    status = wait_for(
        lambda: (s := _status(api, namespace, "web")).get("observedLoad") and s, 120, what="load"
    )
    assert status["observedLoad"] == tenant_prometheus.value  # the operator did query the tenant's server
    sent = tenant_prometheus.requests[seen:]
    assert sent and all("authorization" not in r["headers"] for r in sent)
    assert all(OPERATOR_TOKEN not in json.dumps(r) for r in sent)
    # Only the operator's own query parameter, joined under the base URL.
    assert all(r["path"].startswith("/api/v1/query_range?") and len(r["params"]["query"]) == 1 for r in sent)

    # With its own Secret, the tenant's token (and only that) is sent.
    seen = len(tenant_prometheus.requests)
    _custom(api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "web",
        _tenant_scaler(namespace, tenant_prometheus.url, "tenant-prom"),
    )
    wait_for(lambda: len(tenant_prometheus.requests) > seen + 1, 60, what="queries with the tenant's Secret")
    tokens = {r["headers"].get("authorization") for r in tenant_prometheus.requests[seen + 1 :]}
    assert tokens == {"Bearer tenant-token"}


def test_a_url_outside_the_allow_list_is_refused_and_never_called(
    api: client.ApiClient, operator: OperatorProcess, namespace: str
) -> None:
    outsider = _TenantPrometheus()  # listening, but not on the operator's allow-list
    try:
        _workload(api, namespace, "web")
        _custom(api).create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, _tenant_scaler(namespace, outsider.url)
        )
        ready = wait_for(
            lambda: (c := _condition(_status(api, namespace, "web"), "Ready")).get("reason") and c,
            120,
            what="status",
        )
        assert ready["reason"] == "URLNotAllowed" and outsider.url in ready["message"]
        assert outsider.requests == []
        assert _hpa(api, namespace, "web").spec.min_replicas == 2
    finally:
        outsider.close()


def test_switch_to_dry_run_clears_the_applied_floor_from_status(
    api: client.ApiClient, operator: OperatorProcess, demo_namespace: str, app: str
) -> None:
    _custom(api).create_namespaced_custom_object(GROUP, VERSION, demo_namespace, PLURAL, _scaler(app))
    wait_for(lambda: _status(api, demo_namespace, app).get("appliedMinReplicas"), 180, what="floor")
    _custom(api).patch_namespaced_custom_object(
        GROUP, VERSION, demo_namespace, PLURAL, app, {"spec": {"scaling": {"mode": "dryRun"}}}
    )
    status = wait_for(
        lambda: (
            (s := _status(api, demo_namespace, app))
            and _condition(s, "Ready").get("reason") == "DryRun"
            and s
        ),
        60,
        what="a dryRun status",
    )
    assert "appliedMinReplicas" not in status, status
    assert status["desiredReplicas"] > 2
    assert _hpa(api, demo_namespace, app).spec.min_replicas == 2


def test_no_forecaster_fell_back_in_this_module(operator: OperatorProcess) -> None:
    """Runs last: every forecast of the tests above came from the model asked for, none from the fallback."""
    log = operator.log_path.read_text()
    assert "starting operator" in log  # the log is the operator's own
    fallbacks = [line for line in log.splitlines() if "forecaster failed" in line]
    assert not fallbacks, fallbacks[:3]
