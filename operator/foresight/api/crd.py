"""Generate the CustomResourceDefinitions from the pydantic models (the single source of the schema).

pydantic emits JSON Schema 2020-12; Kubernetes wants a *structural* OpenAPI v3.0 schema. The
conversion inlines ``$ref``s, turns ``anyOf [X, null]`` into ``X`` (optional fields are simply not
required), rewrites numeric ``exclusiveMinimum``/``exclusiveMaximum`` into the v3.0 boolean form and
drops keys Kubernetes rejects (``title``, ``$defs``, ``const``).
"""

from __future__ import annotations

import sys
from typing import Any

import yaml
from pydantic import BaseModel

from foresight.api import GROUP
from foresight.api.v1alpha1 import VERSION, failover_policy, predictive_scaler

_DROPPED_KEYS = {"title", "$defs", "discriminator"}


def _to_openapi(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_to_openapi(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _to_openapi(merged, defs)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        if len(options) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            if rest.get("default", 0) is None:
                rest.pop("default")
            return _to_openapi({**options[0], **rest}, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "properties":
            out[key] = {name: _to_openapi(prop, defs) for name, prop in value.items()}
        elif key == "additionalProperties":
            # Structural schemas forbid `additionalProperties` beside `properties`; Kubernetes prunes
            # (and kubectl's strict field validation reports) unknown fields instead.
            if isinstance(value, dict):
                out[key] = _to_openapi(value, defs)
        else:
            out[key] = _to_openapi(value, defs)
    if "properties" in out:
        out.setdefault("type", "object")
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


def openapi_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural OpenAPI v3.0 schema of a pydantic model, as Kubernetes accepts it.

    >>> from foresight.api.v1alpha1 import ScaleTargetRef
    >>> schema = openapi_schema(ScaleTargetRef)
    >>> schema["required"], schema["properties"]["kind"]["enum"]
    (['kind', 'name'], ['Deployment', 'StatefulSet'])
    """
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _to_openapi(raw, raw.get("$defs", {}))


def _crd(
    kind: str,
    plural: str,
    short_names: list[str],
    spec_model: type[BaseModel],
    status_model: type[BaseModel],
    printer_columns: list[dict[str, str]],
) -> dict[str, Any]:
    spec_schema = openapi_schema(spec_model)
    spec_schema["description"] = (spec_model.__doc__ or "").strip()
    status_schema = openapi_schema(status_model)
    status_schema["description"] = (status_model.__doc__ or "").strip()
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}", "labels": {"app.kubernetes.io/part-of": "foresight"}},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
                "categories": ["foresight"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": printer_columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": _module_doc(spec_model),
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }


def _module_doc(model: type[BaseModel]) -> str:
    doc = sys.modules[model.__module__].__doc__ or ""
    return doc.strip().split("\n\n", 1)[0]


def _kopf_peering_crd(kind: str, scope: str) -> dict[str, Any]:
    """kopf's peering resource (leader election between operator replicas), as kopf documents it."""
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.kopf.dev", "labels": {"app.kubernetes.io/part-of": "foresight"}},
        "spec": {
            "group": "kopf.dev",
            "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                            },
                        }
                    },
                }
            ],
        },
    }


def custom_resource_definitions() -> dict[str, dict[str, Any]]:
    """All CRDs the operator needs, keyed by their file name in ``crds/``: its own and kopf's peering."""
    ps, fp = predictive_scaler, failover_policy
    return {
        "clusterkopfpeerings.kopf.dev.yaml": _kopf_peering_crd("ClusterKopfPeering", "Cluster"),
        "kopfpeerings.kopf.dev.yaml": _kopf_peering_crd("KopfPeering", "Namespaced"),
        f"{ps.PLURAL}.{GROUP}.yaml": _crd(
            ps.KIND,
            ps.PLURAL,
            ps.SHORT_NAMES,
            ps.PredictiveScalerSpec,
            ps.PredictiveScalerStatus,
            ps.PRINTER_COLUMNS,
        ),
        f"{fp.PLURAL}.{GROUP}.yaml": _crd(
            fp.KIND,
            fp.PLURAL,
            fp.SHORT_NAMES,
            fp.FailoverPolicySpec,
            fp.FailoverPolicyStatus,
            fp.PRINTER_COLUMNS,
        ),
    }


def render(crd: dict[str, Any]) -> str:
    """Deterministic YAML text of one CRD, as written to ``crds/`` and the chart."""
    header = "# Generated by `foresight crds` from operator/foresight/api; do not edit by hand.\n"
    return header + yaml.safe_dump(crd, sort_keys=False, width=100, allow_unicode=True)
