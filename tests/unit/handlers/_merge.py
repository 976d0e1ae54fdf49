"""What the API server does with a status patch: an RFC 7386 JSON merge patch."""

from __future__ import annotations

from typing import Any


def merge(target: Any, patch: Any) -> Any:
    """``patch`` merged into ``target``: ``None`` removes a key, dicts merge, anything else replaces.

    >>> merge({"a": 1, "b": {"c": 2, "d": 3}}, {"a": None, "b": {"c": None, "e": 4}})
    {'b': {'d': 3, 'e': 4}}
    """
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def apply_node_patch(node: dict[str, Any], patch: dict[str, Any], version: int) -> None:
    """What the API server does with the operator's node patch: refuse a stale ``resourceVersion`` with
    a conflict, merge the annotations (``None`` removes one), replace the spec fields given, and stamp
    ``version`` as the new ``resourceVersion``."""
    from foresight.kube import client as kube

    if patch["metadata"].get("resourceVersion") != node["metadata"]["resourceVersion"]:
        raise kube.Conflict("the object has been modified")
    annotations = node["metadata"].setdefault("annotations", {})
    node["metadata"]["annotations"] = merge(annotations, patch["metadata"].get("annotations") or {})
    if "spec" in patch:
        node["spec"].update(patch["spec"])
    node["metadata"]["resourceVersion"] = str(version)
