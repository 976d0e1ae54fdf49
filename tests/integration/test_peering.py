"""Two operator replicas with kopf peering: exactly one acts, and the other takes over when it dies."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kubernetes import client
from operator_process import OperatorProcess
from test_predictive_scaler import GROUP, PLURAL, VERSION, _cleanup, _scaler, _status, _workload

from foresight.devcluster.handle import DevCluster, wait_for

INVOKED = "Daemon 'scaler_daemon' is invoked"  # kopf's debug line when a replica starts acting on a scaler
RESUMED = "Resuming operations"  # kopf's line when a paused replica takes over


def test_only_one_replica_acts_and_the_other_takes_over(
    api: client.ApiClient,
    devcluster: DevCluster,
    crds: list[str],
    demo_namespace: str,
    tmp_path: Path,
) -> None:
    custom = client.CustomObjectsApi(api)
    peering = f"it-{uuid.uuid4().hex[:6]}"
    custom.create_cluster_custom_object(
        "kopf.dev",
        "v1",
        "clusterkopfpeerings",
        {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": peering}},
    )
    namespace = demo_namespace  # the backfilled metric's namespace (tenancy)
    app = f"peer-{uuid.uuid4().hex[:6]}"
    _workload(api, namespace, app)
    replicas = [
        OperatorProcess(
            devcluster.kubeconfig,
            devcluster.prometheus_url,
            tmp_path / f"replica-{i}.log",
            FORESIGHT_STANDALONE="false",
            FORESIGHT_PEERING_NAME=peering,
            FORESIGHT_LOG_LEVEL="debug",
        )
        for i in range(2)
    ]
    try:
        for replica in replicas:
            replica.start()
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _scaler(app))
        wait_for(lambda: _status(api, namespace, app).get("appliedMinReplicas"), 180, what="a floor applied")
        acting = [r for r in replicas if INVOKED in r.log_path.read_text()]
        assert len(acting) == 1, f"exactly one replica must act, {len(acting)} did"
        leader = acting[0]
        follower = next(r for r in replicas if r is not leader)
        before = _status(api, namespace, app)["lastDecision"]["time"]
        # A replica that started first resumed once before it paused for the other: only a resumption
        # after the kill counts.
        resumed = follower.log_path.read_text().count(RESUMED)
        leader.kill()
        # The follower resumes once the dead leader's peering record expires, and keeps deciding.
        wait_for(lambda: follower.log_path.read_text().count(RESUMED) > resumed, 150, what="follower resumed")
        wait_for(
            lambda: _status(api, namespace, app)["lastDecision"]["time"] != before, 60, what="new decisions"
        )
    finally:
        for replica in replicas:
            replica.stop()
        _cleanup(api, namespace, app)
        custom.delete_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings", peering)


pytestmark = pytest.mark.integration
