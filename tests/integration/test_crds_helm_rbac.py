"""The generated CRDs, the Helm chart and its RBAC on a real API server.

* CRDs from ``crds/`` install; invalid PredictiveScaler/FailoverPolicy objects are rejected by
  the API server with a message naming the offending field; the examples are accepted; the
  status subresource is separate from spec.
* ``helm install`` of ``charts/foresight`` runs the operator pod (on a kwok node) and
  ``helm uninstall`` removes what it created.
* The chart's ServiceAccount, through a real token, may do exactly what the operator needs.
* The chart's ValidatingAdmissionPolicy narrows that ServiceAccount's pod create/delete to headroom
  placeholders in opted-in namespaces; evictions (which respect PDBs) still go through.
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

from foresight.config import Settings
from foresight.devcluster import _build
from foresight.devcluster.handle import DevCluster, wait_for
from foresight.kube import headroom

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
        _mutated("predictivescaler.yaml", ["spec", "scaling", "targetMissRate"], 0.5),
        "spec.scaling.targetMissRate",
        id="miss-rate-above-0.2",
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


def test_the_chart_acts_on_failover_policies_only_in_its_own_namespace_by_default(
    api: client.ApiClient, release: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pods = (
        client.CoreV1Api(api)
        .list_namespaced_pod(release["namespace"], label_selector="app.kubernetes.io/name=foresight")
        .items
    )
    env = {e.name: e.value for e in pods[0].spec.containers[0].env}
    monkeypatch.setenv("FORESIGHT_FAILOVER_NAMESPACES", env["FORESIGHT_FAILOVER_NAMESPACES"])
    settings = Settings()  # read as the operator reads it
    assert settings.failover_namespaces == [release["namespace"]]
    assert not settings.failover_allowed("demo")


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


HEADROOM_POLICY = f"{RELEASE}-headroom-pods"
HEADROOM_PRIORITY_CLASS = "foresight-headroom"  # the chart's headroom.priorityClass.name


def _ordinary_pod(name: str) -> dict[str, Any]:
    """What a hijacked operator would like to start: a shell that mounts a Secret."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "busybox:1.36",
                    "command": ["sleep", "3600"],
                    "volumeMounts": [{"name": "loot", "mountPath": "/loot"}],
                }
            ],
            "volumes": [{"name": "loot", "secret": {"secretName": "anything"}}],
        },
    }


def _placeholder(api: client.ApiClient, namespace: str, name: str = "web") -> dict[str, Any]:
    """A placeholder exactly as the operator builds it, owned by a ConfigMap (ownerReferences need a uid)."""
    config_map: Any = {"metadata": {"name": f"{name}-owner"}}
    owner = client.CoreV1Api(api).create_namespaced_config_map(namespace, config_map)
    return headroom.placeholder_pod(
        scaler=name,
        namespace=namespace,
        index=0,
        priority_class_name=HEADROOM_PRIORITY_CLASS,
        cpu="10m",
        memory="16Mi",
        owner={
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": owner.metadata.name,
            "uid": owner.metadata.uid,
        },
    )


def _opt_in(api: client.ApiClient, namespace: str) -> None:
    """Label the namespace as one where the operator may place headroom pods."""
    patch = {"metadata": {"labels": {"foresight.dev/headroom": "enabled"}}}
    client.CoreV1Api(api).patch_namespace(namespace, patch)


def _denied(call: Any, *args: Any) -> str:
    """The message of the policy's denial of ``call(*args)`` (fails the test if anything else happens)."""
    with pytest.raises(ApiException) as denied:
        call(*args)
    message = str(json.loads(denied.value.body)["message"])
    assert denied.value.status == 403, message
    assert f"ValidatingAdmissionPolicy '{HEADROOM_POLICY}'" in message, message
    return message


@pytest.fixture(scope="module")
def headroom_policy(operator_api: client.ApiClient) -> str:
    """The chart's headroom policy, once the API server enforces it (it is type-checked after install)."""
    core = client.CoreV1Api(operator_api)

    def enforced() -> bool:
        probe: Any = _ordinary_pod("probe")
        try:
            core.create_namespaced_pod("kube-system", probe, dry_run="All")
        except ApiException as exc:
            return exc.status == 403 and HEADROOM_POLICY in exc.body
        return False

    wait_for(enforced, 60, what=f"ValidatingAdmissionPolicy {HEADROOM_POLICY} enforced")
    return HEADROOM_POLICY


def test_service_account_cannot_create_an_ordinary_pod(
    operator_api: client.ApiClient, headroom_policy: str
) -> None:
    message = _denied(
        client.CoreV1Api(operator_api).create_namespaced_pod, "kube-system", _ordinary_pod("loot")
    )
    assert "may only create headroom placeholder pods" in message


def test_service_account_cannot_create_a_placeholder_in_a_namespace_not_opted_in(
    api: client.ApiClient, operator_api: client.ApiClient, headroom_policy: str, namespace: str
) -> None:
    message = _denied(
        client.CoreV1Api(operator_api).create_namespaced_pod, namespace, _placeholder(api, namespace)
    )
    assert "namespaces labelled foresight.dev/headroom=enabled" in message


def test_service_account_creates_and_deletes_a_placeholder_in_an_opted_in_namespace(
    api: client.ApiClient, operator_api: client.ApiClient, headroom_policy: str, namespace: str
) -> None:
    core = client.CoreV1Api(operator_api)
    _opt_in(api, namespace)
    placeholder: Any = _placeholder(api, namespace)
    created = core.create_namespaced_pod(namespace, placeholder)
    # The ServiceAccount admission plugin filled in "default" before the policy looked.
    assert created.spec.service_account_name == "default"
    core.delete_namespaced_pod(created.metadata.name, namespace)


def _with_secret_volume(pod: dict[str, Any]) -> None:
    pod["spec"]["volumes"] = [{"name": "loot", "secret": {"secretName": "anything"}}]
    pod["spec"]["containers"][0]["volumeMounts"] = [{"name": "loot", "mountPath": "/loot"}]


# (change to a correct placeholder, part of the refusal) -- each alone must be refused.
BAD_PLACEHOLDERS = [
    pytest.param(_with_secret_volume, "no volumes", id="secret-volume"),
    pytest.param(
        lambda pod: pod["spec"].update(automountServiceAccountToken=True),
        "automountServiceAccountToken must be false",
        id="service-account-token",
    ),
    pytest.param(
        lambda pod: pod["spec"]["containers"][0].update(image="busybox:1.36"),
        "image registry.k8s.io/pause:3.10",
        id="other-image",
    ),
    pytest.param(
        lambda pod: pod["spec"].update(priorityClassName="system-cluster-critical"),
        f"priorityClassName must be {HEADROOM_PRIORITY_CLASS}",
        id="other-priority-class",
    ),
    pytest.param(
        lambda pod: pod["spec"].update(serviceAccountName="other"),
        "default ServiceAccount",
        id="other-service-account",
    ),
    pytest.param(lambda pod: pod["spec"].update(hostNetwork=True), "no hostNetwork", id="host-network"),
    pytest.param(
        lambda pod: pod["spec"]["containers"].append({"name": "second", "image": headroom.PAUSE_IMAGE}),
        "exactly one container",
        id="second-container",
    ),
    pytest.param(
        lambda pod: pod["metadata"]["labels"].pop(headroom.HEADROOM_LABEL),
        "labels foresight.dev/headroom-for",
        id="unlabelled",
    ),
]


@pytest.mark.parametrize(("change", "refusal"), BAD_PLACEHOLDERS)
def test_service_account_cannot_create_a_placeholder_that_differs(
    api: client.ApiClient,
    operator_api: client.ApiClient,
    headroom_policy: str,
    namespace: str,
    change: Any,
    refusal: str,
) -> None:
    _opt_in(api, namespace)
    # For other-service-account: the ServiceAccount admission plugin would refuse a missing account
    # before the policy runs.
    account: Any = {"metadata": {"name": "other"}}
    client.CoreV1Api(api).create_namespaced_service_account(namespace, account)
    pod = _placeholder(api, namespace)
    change(pod)
    message = _denied(client.CoreV1Api(operator_api).create_namespaced_pod, namespace, pod)
    assert refusal in message


def test_service_account_cannot_delete_an_ordinary_pod_but_can_evict_it(
    api: client.ApiClient, operator_api: client.ApiClient, headroom_policy: str, namespace: str
) -> None:
    admin, core = client.CoreV1Api(api), client.CoreV1Api(operator_api)
    pod: Any = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}
    admin.create_namespaced_pod(namespace, pod)

    message = _denied(core.delete_namespaced_pod, "web", namespace)
    assert "may only delete headroom placeholder pods" in message

    # No PodDisruptionBudget covers it, so the eviction API lets it go.
    eviction: Any = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web"}}
    core.create_namespaced_pod_eviction("web", namespace, eviction)

    def gone_or_going() -> bool:
        try:
            return admin.read_namespaced_pod("web", namespace).metadata.deletion_timestamp is not None
        except ApiException as exc:
            return exc.status == 404

    wait_for(gone_or_going, 30, what="evicted pod deleted")


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
    admission = client.AdmissionregistrationV1Api(api)
    instance = "app.kubernetes.io/instance=foresight"
    assert not admission.list_validating_admission_policy(label_selector=instance).items
    assert not admission.list_validating_admission_policy_binding(label_selector=instance).items
    wait_for(
        lambda: not core.list_namespaced_pod(release["namespace"]).items, 60, what="operator pod deleted"
    )
