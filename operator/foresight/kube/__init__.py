"""Thin Kubernetes I/O: HPA patches, evictions, taints, events. Builders return plain dicts."""
