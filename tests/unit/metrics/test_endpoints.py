"""Which Prometheus endpoints the operator calls, and with which credentials (the tenant's view)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from foresight.config import Settings
from foresight.metrics import EndpointNotAllowed, MetricSourceError, PrometheusClients, SecretRef

START = datetime(2026, 1, 5, tzinfo=UTC)
MATRIX = {
    "status": "success",
    "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[0, "1"]]}]},
}


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json=MATRIX)


def _clients(
    tmp_path: Path, recorder: Recorder, secrets: dict[tuple[str, str, str], str] | None = None
) -> PrometheusClients:
    ca = tmp_path / "ca.crt"
    ca.write_text("not used by the fake transport")
    settings = Settings(
        prometheus_url="https://prom.monitoring.svc:9090",
        prometheus_token="operator-token",
        prometheus_ca_file=ca,
        prometheus_allowed_urls=[
            "http://team-prom.shop.svc:9090",
            "https://prom.monitoring.svc:9090/tenant-a",
        ],
    )

    def read_secret(namespace: str, name: str, key: str) -> str:
        return (secrets or {})[(namespace, name, key)]

    return PrometheusClients(settings, read_secret, transport=httpx.MockTransport(recorder))


def _query(
    clients: PrometheusClients, recorder: Recorder, url: str | None, secret: SecretRef | None = None
) -> httpx.Request:
    clients.get(url, secret).range("up", START, START + timedelta(minutes=5), 60)
    return recorder.requests[-1]


def test_operator_token_goes_to_its_own_prometheus_only(tmp_path: Path) -> None:
    recorder = Recorder()
    clients = _clients(tmp_path, recorder)
    own = _query(clients, recorder, None)
    assert own.headers["authorization"] == "Bearer operator-token"
    other = _query(clients, recorder, "http://team-prom.shop.svc:9090")
    assert "authorization" not in other.headers
    assert other.url.host == "team-prom.shop.svc"


def test_same_origin_other_path_keeps_the_operators_credentials(tmp_path: Path) -> None:
    recorder = Recorder()
    clients = _clients(tmp_path, recorder)
    request = _query(clients, recorder, "https://prom.monitoring.svc:9090/tenant-a/")
    assert request.url.path == "/tenant-a/api/v1/query_range"
    assert request.headers["authorization"] == "Bearer operator-token"


def test_ca_bundle_is_used_for_the_operators_origin_only(tmp_path: Path) -> None:
    clients = _clients(tmp_path, Recorder())
    own, other = clients.get(None), clients.get("http://team-prom.shop.svc:9090")
    assert own is not other
    keys = list(clients._cache)
    assert keys[0][2] is not None and keys[0][2].endswith("ca.crt")
    assert keys[1][2] is None


def test_a_tenants_secret_is_used_for_its_endpoint_and_never_the_operators_token(tmp_path: Path) -> None:
    recorder = Recorder()
    clients = _clients(tmp_path, recorder, {("shop", "prom-token", "token"): "shop-token"})
    request = _query(
        clients, recorder, "http://team-prom.shop.svc:9090", SecretRef("shop", "prom-token", "token")
    )
    assert request.headers["authorization"] == "Bearer shop-token"


def test_a_missing_secret_is_a_clear_metric_error(tmp_path: Path) -> None:
    clients = _clients(tmp_path, Recorder())
    with pytest.raises(MetricSourceError) as failed:
        clients.get("http://team-prom.shop.svc:9090", SecretRef("shop", "absent", "token")).range(
            "up", START, START + timedelta(minutes=5), 60
        )
    assert failed.value.reason == "SecretUnavailable"
    assert "shop/absent" in str(failed.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://attacker.example:8080",  # exfiltration of credentials, if any were sent
        "http://kube-dns.kube-system.svc:53",  # SSRF into the cluster
        "http://team-prom.shop.svc:9091",  # another port of an allowed host
        "https://team-prom.shop.svc:9090",  # another scheme of an allowed URL
        "https://prom.monitoring.svc:9090/tenant-b",  # another path of the operator's origin
        "http://prom.monitoring.svc:9090/api/v1/query_range?query=up#",  # query smuggling
    ],
)
def test_urls_outside_the_allow_list_are_refused_before_any_request(tmp_path: Path, url: str) -> None:
    recorder = Recorder()
    clients = _clients(tmp_path, recorder)
    with pytest.raises(EndpointNotAllowed):
        clients.get(url)
    assert not recorder.requests


def test_clients_are_cached_by_everything_that_makes_them_different(tmp_path: Path) -> None:
    clients = _clients(tmp_path, Recorder(), {("a", "s", "token"): "x", ("b", "s", "token"): "y"})
    url = "http://team-prom.shop.svc:9090"
    assert clients.get(url) is clients.get(url + "/")
    assert clients.get(url, SecretRef("a", "s", "token")) is not clients.get(
        url, SecretRef("b", "s", "token")
    )
    assert clients.get(url, SecretRef("a", "s", "token")) is not clients.get(url)
    assert clients.get(None) is not clients.get(url)


def test_a_bad_allow_list_entry_fails_at_start_up() -> None:
    with pytest.raises(ValueError, match="must be a base URL"):
        PrometheusClients(
            Settings(prometheus_allowed_urls=["http://prom:9090/?query=up"]), read_secret=lambda *a: ""
        )
