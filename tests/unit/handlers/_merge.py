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
