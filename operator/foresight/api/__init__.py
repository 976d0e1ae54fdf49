"""Typed custom resources of the ``foresight.dev`` API group, one sub-package per version."""

from foresight.api import v1alpha1

GROUP = "foresight.dev"

__all__ = ["GROUP", "v1alpha1"]
