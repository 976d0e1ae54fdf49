"""A real Kubernetes control plane and Prometheus on 127.0.0.1, without Docker.

Builds kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok and helm from the Go
module proxy (cached under ``~/.cache/foresight``), starts them with locally generated
certificates, and starts Prometheus with a real load trace backfilled plus a live feeder.
Used by ``hack/cluster``, the integration test fixtures and the demo.
"""

from foresight.devcluster._paths import cache_root
from foresight.devcluster._procs import ProcessTable

__all__ = ["ProcessTable", "cache_root"]
