"""Times as the API's status fields carry them (RFC 3339, ``Z`` for UTC)."""

from __future__ import annotations

from datetime import datetime

__all__ = ["iso"]


def iso(t: datetime) -> str:
    """``t`` in RFC 3339, with ``Z`` for UTC."""
    return t.isoformat().replace("+00:00", "Z")
