"""Tenancy for PromQL: a scaler in namespace A may only read series of namespace A.

The operator queries Prometheus with its own credentials, so without this check anybody allowed to
create a PredictiveScaler could read any namespace's metrics through its status. The query is parsed
with a real PromQL parser (``promql-parser``, the Rust parser's bindings) and every vector selector
must carry an exact ``namespace="<ns>"`` matcher (in every ``or`` branch of its matchers).
"""

from __future__ import annotations

import promql_parser


class TenancyError(ValueError):
    """The query could select series outside the scaler's namespace, or does not parse."""


def _selectors(expr: object) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        elif isinstance(node, promql_parser.MatrixSelector):
            stack.append(node.vector_selector)
        elif isinstance(node, promql_parser.AggregateExpr):
            stack.extend(x for x in (node.expr, node.param) if x is not None)
        elif isinstance(node, promql_parser.BinaryExpr):
            stack.extend((node.lhs, node.rhs))
        elif isinstance(node, promql_parser.Call):
            stack.extend(node.args)
        elif isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
            stack.append(node.expr)
    return found


def _pinned(matchers: list[promql_parser.Matcher], namespace: str) -> bool:
    return any(
        m.name == "namespace" and m.op == promql_parser.MatchOp.Equal and m.value == namespace
        for m in matchers
    )


def check_namespace_pinned(query: str, namespace: str) -> None:
    """Raise ``TenancyError`` unless every selector of ``query`` is pinned to ``namespace``.

    >>> check_namespace_pinned('sum(rate(http_requests_total{namespace="shop"}[1m]))', "shop")
    >>> check_namespace_pinned('sum(rate(http_requests_total[1m]))', "shop")
    Traceback (most recent call last):
    ...
    foresight.metrics.tenancy.TenancyError: selector http_requests_total must be pinned with namespace="shop"
    >>> check_namespace_pinned('up{namespace=~"shop|bank"}', "shop")
    Traceback (most recent call last):
    ...
    foresight.metrics.tenancy.TenancyError: selector up must be pinned with namespace="shop"
    """
    try:
        expr = promql_parser.parse(query)
    except Exception as exc:  # the parser raises plain ValueError/RuntimeError variants
        raise TenancyError(f"query does not parse: {exc}") from exc
    for selector in _selectors(expr):
        # With `or` inside the braces the parser leaves `matchers` empty and lists each branch.
        branches = selector.matchers.or_matchers or [selector.matchers.matchers]
        if not all(_pinned(list(branch), namespace) for branch in branches):
            name = selector.name or str(selector)
            raise TenancyError(f'selector {name} must be pinned with namespace="{namespace}"')
