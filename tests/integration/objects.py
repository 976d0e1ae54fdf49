"""Kubernetes objects several integration tests create the same way."""

from __future__ import annotations

from kubernetes import client


def create_cpu_hpa(
    api: client.ApiClient, namespace: str, name: str, min_replicas: int = 1, max_replicas: int = 40
) -> None:
    """An autoscaling/v2 HPA on Deployment ``name`` at 70 % CPU (kwok pods report none: its floor decides)."""
    client.AutoscalingV2Api(api).create_namespaced_horizontal_pod_autoscaler(
        namespace,
        {
            "metadata": {"name": name},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": min_replicas,
                "maxReplicas": max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },  # type: ignore[arg-type]  # the client sends plain dicts as they are
    )
