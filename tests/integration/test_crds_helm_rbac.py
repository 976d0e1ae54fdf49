"""The generated CRDs, the Helm chart and its RBAC on a real API server.

* CRDs from ``crds/`` install; invalid PredictiveScaler/FailoverPolicy objects are rejected by
  the API server with a message naming the offending field; the examples are accepted; the
  status subresource is separate from spec.
* ``helm install`` of ``charts/foresight`` runs the operator pod (on a kwok node) and
  ``helm uninstall`` removes what it created.
* The chart's ServiceAccount, through a real token, may do exactly what the operator needs.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from foresight.devcluster import _build
from foresight.devcluster.handle import DevCluster, wait_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
GROUP, VERSION = "foresight.dev", "v1alpha1"
RELEASE, RELEASE_NAMESPACE = "foresight", "foresight-system"


def load_example(name: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "examples" / name).read_text())


def _plural(kind: str) -> str:
    return {"PredictiveScaler": "predictivescalers", "FailoverPolicy": "failoverpolicies"}[kind]


def _create(api: client.ApiClient, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["metadata"]["namespace"] = namespace
    return client.CustomObjectsApi(api).create_namespaced_custom_object(  # type: ignore[no-any-return]
        GROUP, VERSION, namespace, _plural(body["kind"]), body
    )


def _mutated(example: str, path: list[str | int], value: Any) -> dict[str, Any]:
    """The example with ``path`` set to ``value`` (or removed if value is ...)."""
    body = load_example(example)
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


INVALID = [
    pytest.param(
        _mutated("predictivescaler.yaml", ["spec", "scaling", "minReplicas"], 50),
        "scaling.minReplicas must be <= scaling.maxReplicas",
        id="min-above-max",
    ),
    pytest.param(
        _mutated("predictivescaler.yaml", ["spec", "forecast", "quantile"], 1.5),
        "spec.forecast.quantile",
        id="quantile-above-1",
    ),
    pytest.param(
        _mutated("predictivescaler.yaml", ["spec", "forecast", "horizon"], "half an hour"),
        "spec.forecast.horizon",
        id="horizon-not-a-duration",
    ),
    pytest.param(
        _mutated("predictivescaler.yaml", ["spec", "forecast", "model"], "crystal-ball"),
        "spec.forecast.model",
        id="unknown-model",
    ),
    pytest.param(
        _mutated("predictivescaler.yaml", ["spec", "metric", "capacityPerReplica"], 0),
        "spec.metric.capacityPerReplica",
        id="zero-capacity",
    ),
    pytest.param(
        _mutated("predictivescaler.yaml", ["spec", "scaleTargetRef"], ...),
        "spec.scaleTargetRef",
        id="missing-target",
    ),
    pytest.param(
        _mutated("failoverpolicy.yaml", ["spec", "failureProbabilityThreshold"], 1.5),
        "spec.failureProbabilityThreshold",
        id="probability-above-1",
    ),
    pytest.param(
        _mutated("failoverpolicy.yaml", ["spec", "signals", 0, "direction"], "sideways"),
        "spec.signals[0].direction",
        id="unknown-direction",
    ),
    pytest.param(
        _mutated("failoverpolicy.yaml", ["spec", "signals", 0, "name"], "Not_A_DNS_Label"),
        "spec.signals[0].name",
        id="bad-signal-name",
    ),
]


@pytest.mark.parametrize(("body", "field"), INVALID)
def test_api_server_rejects_invalid_objects_naming_the_field(
    api: client.ApiClient, crds: list[str], namespace: str, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ApiException) as rejected:
        _create(api, namespace, body)
    assert rejected.value.status == 422
    assert field in json.loads(rejected.value.body)["message"]


@pytest.mark.parametrize("example", ["predictivescaler.yaml", "failoverpolicy.yaml"])
def test_examples_are_accepted_and_status_is_a_subresource(
    api: client.ApiClient, crds: list[str], namespace: str, example: str
) -> None:
    objects = client.CustomObjectsApi(api)
    body = load_example(example)
    created = _create(api, namespace, body)
    name, plural = created["metadata"]["name"], _plural(body["kind"])
    # Defaults from the schema are applied by the API server.
    assert created["spec"]["horizon" if body["kind"] == "FailoverPolicy" else "forecast"]

    # Status written through the main resource is dropped...
    objects.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, plural, name, {"status": {"conditions": []}}
    )
    assert "status" not in objects.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    # ...and accepted through /status.
    condition = {"type": "Ready", "status": "True", "reason": "Test", "message": "set by the test"}
    objects.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, plural, name, {"status": {"conditions": [condition]}}
    )
    stored = objects.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    assert stored["status"]["conditions"][0]["reason"] == "Test"


@pytest.fixture(scope="module")
def helm(devcluster: DevCluster) -> Iterator[list[str]]:
    """The helm command line for this cluster, with helm's own state in a temporary directory."""
    binary = _build.ensure_helm() / "helm"
    with tempfile.TemporaryDirectory(prefix="foresight-helm-") as home:
        os.environ.update(
            HELM_CACHE_HOME=f"{home}/cache", HELM_CONFIG_HOME=f"{home}/config", HELM_DATA_HOME=f"{home}/data"
        )
        yield [str(binary), f"--kubeconfig={devcluster.kubeconfig}"]


@pytest.fixture(scope="module")
def release(
    helm: list[str], api: client.ApiClient, crds: list[str], worker_nodes: list[str]
) -> Iterator[dict[str, str]]:
    """The chart installed as release `foresight` in `foresight-system`; uninstalled after."""
    install = [
        *helm, "install", RELEASE, str(REPO / "charts" / "foresight"),
        "--namespace", RELEASE_NAMESPACE, "--create-namespace", "--wait", "--timeout", "3m",
    ]  # fmt: skip
    result = subprocess.run(install, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    yield {"namespace": RELEASE_NAMESPACE, "serviceAccount": RELEASE}
    subprocess.run([*helm, "uninstall", RELEASE, "--namespace", RELEASE_NAMESPACE, "--wait"], check=False)


def test_helm_install_runs_the_operator_on_a_kwok_node(
    api: client.ApiClient, release: dict[str, str], worker_nodes: list[str]
) -> None:
    core = client.CoreV1Api(api)
    pods = core.list_namespaced_pod(
        release["namespace"], label_selector="app.kubernetes.io/name=foresight"
    ).items
    assert len(pods) == 1
    assert pods[0].status.phase == "Running"
    node = core.read_node(pods[0].spec.node_name)
    assert node.metadata.labels.get("type") == "kwok"
    assert pods[0].spec.service_account_name == release["serviceAccount"]


# (verb, group, resource, subresource, namespace or None for cluster-wide)
ALLOWED = [
    ("list", GROUP, "predictivescalers", "", None),
    ("watch", GROUP, "failoverpolicies", "", None),
    ("patch", GROUP, "predictivescalers", "status", "demo"),
    ("patch", GROUP, "failoverpolicies", "status", "demo"),
    ("get", "autoscaling", "horizontalpodautoscalers", "", "demo"),
    ("patch", "autoscaling", "horizontalpodautoscalers", "", "demo"),
    ("list", "", "pods", "", None),
    ("list", "", "nodes", "", None),
    ("patch", "", "nodes", "", None),
    ("create", "", "pods", "eviction", "demo"),
    ("create", "", "events", "", "demo"),
    ("patch", "kopf.dev", "clusterkopfpeerings", "", None),
    ("list", "kopf.dev", "kopfpeerings", "", None),
]
DENIED = [
    ("get", "", "secrets", "", None),
    ("list", "", "secrets", "", None),
    ("get", "", "secrets", "", "demo"),
    ("delete", "apps", "deployments", "", "demo"),
    ("delete", "", "nodes", "", None),
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings", "", None),
]


@pytest.fixture(scope="module")
def operator_api(
    devcluster: DevCluster, api: client.ApiClient, release: dict[str, str]
) -> Iterator[client.ApiClient]:
    """An ApiClient authenticated as the chart's ServiceAccount through a TokenRequest token."""
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
    )
    token = client.CoreV1Api(api).create_namespaced_service_account_token(
        release["serviceAccount"], release["namespace"], request
    )
    admin = api.configuration
    configuration = client.Configuration()
    configuration.host = admin.host
    configuration.ssl_ca_cert = admin.ssl_ca_cert
    configuration.api_key = {"authorization": f"Bearer {token.status.token}"}
    with client.ApiClient(configuration) as sa_api:
        yield sa_api


def _can(
    sa_api: client.ApiClient, verb: str, group: str, resource: str, sub: str, namespace: str | None
) -> bool:
    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, group=group, resource=resource, subresource=sub or None, namespace=namespace
            )
        )
    )
    result = client.AuthorizationV1Api(sa_api).create_self_subject_access_review(review)
    return bool(result.status.allowed)


@pytest.mark.parametrize(("verb", "group", "resource", "sub", "namespace"), ALLOWED)
def test_service_account_may(
    operator_api: client.ApiClient, verb: str, group: str, resource: str, sub: str, namespace: str | None
) -> None:
    assert _can(operator_api, verb, group, resource, sub, namespace)


@pytest.mark.parametrize(("verb", "group", "resource", "sub", "namespace"), DENIED)
def test_service_account_may_not(
    operator_api: client.ApiClient, verb: str, group: str, resource: str, sub: str, namespace: str | None
) -> None:
    assert not _can(operator_api, verb, group, resource, sub, namespace)


def test_service_account_token_works_end_to_end(operator_api: client.ApiClient) -> None:
    core = client.CoreV1Api(operator_api)
    assert core.list_node().items  # allowed
    with pytest.raises(ApiException) as denied:
        core.list_secret_for_all_namespaces()
    assert denied.value.status == 403


def test_helm_uninstall_cleans_up(helm: list[str], api: client.ApiClient, release: dict[str, str]) -> None:
    result = subprocess.run(
        [*helm, "uninstall", RELEASE, "--namespace", release["namespace"], "--wait"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    apps, rbac, core = client.AppsV1Api(api), client.RbacAuthorizationV1Api(api), client.CoreV1Api(api)
    assert not apps.list_namespaced_deployment(release["namespace"]).items
    assert not core.list_namespaced_service_account(
        release["namespace"], label_selector="app.kubernetes.io/instance=foresight"
    ).items
    assert not rbac.list_cluster_role(label_selector="app.kubernetes.io/instance=foresight").items
    assert not rbac.list_cluster_role_binding(label_selector="app.kubernetes.io/instance=foresight").items
    wait_for(
        lambda: not core.list_namespaced_pod(release["namespace"]).items, 60, what="operator pod deleted"
    )
