"""Thin Kubernetes I/O: the API client (``client``, with the one retry loop for conflicting writes) and
pure builders that turn API objects into what the planners take and decisions into patches: ``hpa``
(the floor), ``headroom`` (placeholder pods), ``nodes`` (node, pod and PDB observations, taints, the
annotations kept on nodes). Builders return plain dicts."""
