"""Pinned versions of every tool the local control plane uses.

Bump a version here and the next ``ensure`` builds it into a new cache directory.
"""

from __future__ import annotations

KUBERNETES = "v1.33.13"
ETCD = "v3.5.35"
KWOK = "v0.7.0"
HELM = "v3.17.4"
