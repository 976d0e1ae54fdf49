"""Command line of the local control plane: ``python -m foresight.devcluster ensure|up|down|status``.

``hack/cluster`` wraps it, and ``foresight dev-cluster ...`` forwards its arguments to
:func:`main`.  ``feeder`` is the entry point of the live feeder process that ``up`` starts;
``nodes`` adds kwok nodes to a running cluster.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from foresight.api.v1alpha1 import parse_time
from foresight.devcluster import cluster

if TYPE_CHECKING:
    from kubernetes.client import ApiClient


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # Readiness polls would log every request.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return int(args.func(args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m foresight.devcluster", description=__doc__)
    sub = parser.add_subparsers(required=True)

    ensure = sub.add_parser("ensure", help="build or reuse every binary (cached under ~/.cache/foresight)")
    ensure.add_argument("--no-prometheus", action="store_true")
    ensure.set_defaults(func=_ensure)

    up = sub.add_parser("up", help="start etcd, the control plane, kwok, the feeder and Prometheus")
    up.add_argument("--name", default="default")
    up.add_argument("--trace-csv", type=Path, default=None, help="load trace to backfill and replay")
    up.add_argument("--now-at", default=None, help="trace time mapped onto now (ISO 8601)")
    up.add_argument("--history-days", type=float, default=14.0, help="days of history to backfill (0: all)")
    up.add_argument("--acceleration", type=float, default=1.0, help="trace seconds per wall second")
    up.add_argument("--nodes", type=int, default=0, help="kwok nodes to create after start-up")
    up.add_argument("--not-ready-toleration", type=int, default=30, help="seconds (upstream: 300)")
    up.add_argument("--node-monitor-grace", type=int, default=20, help="seconds (upstream: 40)")
    up.add_argument("--no-prometheus", action="store_true")
    up.set_defaults(func=_up)

    down = sub.add_parser("down", help="stop everything and delete the cluster's data")
    down.add_argument("--name", default="default")
    down.set_defaults(func=_down)

    status = sub.add_parser("status", help="print the running cluster as JSON (exit 1 if down)")
    status.add_argument("--name", default="default")
    status.set_defaults(func=_status)

    nodes = sub.add_parser("nodes", help="create kwok nodes in the running cluster")
    nodes.add_argument("count", type=int)
    nodes.add_argument("--name", default="default")
    nodes.add_argument("--prefix", default="kwok-node")
    nodes.set_defaults(func=_nodes)

    which = sub.add_parser("which", help="print the path of a cached tool (building it if needed)")
    which.add_argument("tool", choices=sorted(TOOL_NAMES))
    which.set_defaults(func=_which)

    feeder = sub.add_parser("feeder", help="(internal) run the live feeder")
    feeder.add_argument("--port", type=int, required=True)
    feeder.add_argument("--trace-csv", type=Path, required=True)
    feeder.add_argument("--now-at", required=True)
    feeder.add_argument("--anchor", required=True)
    feeder.add_argument("--acceleration", type=float, default=1.0)
    feeder.set_defaults(func=_feeder)
    return parser


TOOL_NAMES = {
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
    "kwok",
    "helm",
    "prometheus",
    "promtool",
}


def _which(args: argparse.Namespace) -> int:
    from foresight.devcluster import _build, _kwok, _prometheus

    tool: str = args.tool
    if tool.startswith("kube-"):
        path = _build.ensure_kubernetes() / tool
    elif tool == "etcd":
        path = _build.ensure_etcd() / "etcd"
    elif tool == "kwok":
        path = _kwok.ensure_kwok()[0]
    elif tool == "helm":
        path = _build.ensure_helm() / "helm"
    else:
        path = _prometheus.ensure_prometheus() / tool
    print(path)
    return 0


def _ensure(args: argparse.Namespace) -> int:
    started = time.monotonic()
    tools = cluster.ensure_tools(with_prometheus=not args.no_prometheus)
    print(json.dumps({k: str(v) for k, v in asdict(tools).items()}, indent=2))
    print(f"tools ready in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0


def _up(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {
        "name": args.name,
        "trace_acceleration": args.acceleration,
        "trace_history_days": args.history_days,
        "not_ready_toleration_seconds": args.not_ready_toleration,
        "unreachable_toleration_seconds": args.not_ready_toleration,
        "node_monitor_grace_seconds": args.node_monitor_grace,
        "with_prometheus": not args.no_prometheus,
    }
    if args.trace_csv is not None:
        overrides["trace_csv"] = args.trace_csv
    if args.now_at is not None:
        overrides["trace_now_at"] = parse_time(args.now_at)
    started = time.monotonic()
    info = cluster.up(cluster.ClusterConfig(**overrides))  # type: ignore[arg-type]
    if args.nodes:
        from foresight.devcluster import nodes

        nodes.create_nodes(_api_client(info.kubeconfig), args.nodes)
    print(f"cluster up in {time.monotonic() - started:.1f}s", file=sys.stderr)
    _print_info(info)
    return 0


def _down(args: argparse.Namespace) -> int:
    cluster.down(args.name)
    print(f"cluster {args.name!r} stopped; logs kept in {cluster.state_dir(args.name) / 'logs'}")
    return 0


def _status(args: argparse.Namespace) -> int:
    info = cluster.running(args.name)
    if info is None:
        print(f"cluster {args.name!r} is not running")
        return 1
    _print_info(info)
    return 0


def _nodes(args: argparse.Namespace) -> int:
    from foresight.devcluster import nodes

    info = cluster.running(args.name)
    if info is None:
        print(f"cluster {args.name!r} is not running", file=sys.stderr)
        return 1
    for name in nodes.create_nodes(_api_client(info.kubeconfig), args.count, prefix=args.prefix):
        print(name)
    return 0


def _feeder(args: argparse.Namespace) -> int:
    from foresight.devcluster import feeder, trace

    replay = trace.Replay(
        trace.load_csv(args.trace_csv), parse_time(args.now_at), parse_time(args.anchor), args.acceleration
    )
    feeder.serve(replay, "127.0.0.1", args.port, trace.DEFAULT_LABELS)
    return 0


def _print_info(info: cluster.ClusterInfo) -> None:
    print(f"export KUBECONFIG={info.kubeconfig}")
    if info.prometheus_url:
        print(f"prometheus: {info.prometheus_url}")
        print(f"feeder:     {info.feeder_url}  (POST /gauges to set series)")
        print(f"metric:     {info.metric_name}{info.metric_labels}")
    print(f"logs:       {Path(info.state_dir) / 'logs'}")


def _api_client(kubeconfig: str) -> ApiClient:
    from kubernetes import config

    return config.new_client_from_config(config_file=kubeconfig)
