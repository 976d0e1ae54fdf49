"""Kubernetes Events through kopf's poster, for any object given as a plain dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import kopf


def info(obj: Mapping[str, Any], reason: str, message: str) -> None:
    """A Normal event on ``obj`` (kopf posts it asynchronously; needs apiVersion, kind and metadata)."""
    kopf.info(cast(kopf.Body, obj), reason=reason, message=message[:1024])


def warn(obj: Mapping[str, Any], reason: str, message: str) -> None:
    """A Warning event on ``obj``."""
    kopf.warn(cast(kopf.Body, obj), reason=reason, message=message[:1024])
