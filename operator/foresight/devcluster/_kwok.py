"""kwok: fake nodes whose pods become Running without a kubelet or images.

kwok is driven by Stage objects; they are passed explicitly (newer kwok releases refuse to run
without any).  The stage YAMLs ship inside the kwok module, so they are copied from the Go
module cache next to the binary when kwok is built.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from foresight.devcluster import _build, _paths, versions

# Stage files from the kwok module: node lifecycle with leases, the NotReady chaos stage
# (triggered by a node label), and the fast pod lifecycle.
STAGE_FILES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/node/chaos/node-not-ready.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)

MANAGED_LABEL = "type"
MANAGED_VALUE = "kwok"
NOT_READY_LABEL = "node-not-ready.stage.kwok.x-k8s.io"


def ensure_kwok(version: str = versions.KWOK) -> tuple[Path, Path]:
    """kwok binary and its stages file (``<cache>/kwok-<v>/stages.yaml``)."""
    bin_dir = _build.ensure_kwok(version)
    stages = bin_dir.parent / "stages.yaml"
    if not stages.exists():
        module_dir = _paths.cache_root() / "go" / "mod" / "sigs.k8s.io" / f"kwok@{version}"
        parts = [(module_dir / name).read_text().strip() for name in STAGE_FILES]
        partial = stages.with_suffix(".partial")
        partial.write_text("\n---\n".join(parts) + "\n")
        shutil.move(partial, stages)
    return bin_dir / "kwok", stages


def kwok_argv(
    binary: Path, stages: Path, kubeconfig: Path, server_port: int, lease_seconds: int
) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--config={stages}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-label-selector={MANAGED_LABEL}={MANAGED_VALUE}",
        f"--node-lease-duration-seconds={lease_seconds}",
        "--cidr=10.244.0.0/16",
        "--node-ip=127.0.0.1",
        f"--server-address=127.0.0.1:{server_port}",
    ]
