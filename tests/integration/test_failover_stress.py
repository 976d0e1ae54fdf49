"""``maxNodesAtOnce`` on the real control plane while the operator is starved, slowed and killed mid-drain.

The operator runs at the lowest CPU priority beside busy loops that fill every core (at a priority above
it, below everything else on the machine), and its API calls pass through a proxy that holds requests
back a random while, so every tick writes on reads that are seconds old. It is killed (SIGKILL) and
restarted while nodes drain. Two watches, on the pool's nodes and on the workload's pods, record every
change; one etcd numbers them all, so replayed in resourceVersion order they give every state the cluster
went through. In none may more than ``maxNodesAtOnce`` nodes carry the policy's NoSchedule taint with
pods left, and the run must have drained every at-risk node, with one waiting while another drained.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from operator_process import OperatorProcess
from test_failover_policy import SignalDriver, _deployment, _pdb, _policy

from foresight.api.v1alpha1.failover_policy import DEFAULT_TAINT_KEY
from foresight.devcluster.handle import DevCluster, wait_for

GROUP, VERSION, PLURAL = "foresight.dev", "v1alpha1", "failoverpolicies"
GIB = 2**30
SEED = 15
AT_RISK, SPARE = 3, 2
REPLICAS = 2 * (AT_RISK + SPARE)  # two pods a node; the PDB lets one go at a time, so drains span ticks
OPERATOR_NICE, BUSY_NICE = 15, 10  # CPU weights 36 and 110: the operator gets about a quarter of a core
# Up to four kills mid-drain, each after the operator was up this long. How many fit depends on how fast
# the starved operator drains and restarts: four fitted in 86 s, three in a 76-s drain. At least two must
# land, so the run restarts the operator mid-drain more than once whatever the machine's pace.
KILLS, MIN_KILLS, UP_SECONDS = 4, 2, (3.0, 10.0)
DRAIN_SECONDS = 210


class DelayingProxy:
    """A TCP proxy to the API server that holds each chunk a client sends back a random while.

    TLS passes through untouched (the server's certificate names 127.0.0.1); answers are not delayed, so
    watches stay live. Runs its own event loop on a thread for the ``with`` block.
    """

    def __init__(
        self, target: str, rng: random.Random, slow_share: float = 0.4, slowest: float = 2.0
    ) -> None:
        self.host, self.port = target.rsplit(":", 1)
        self.rng, self.slow_share, self.slowest = rng, slow_share, slowest
        self.held = 0  # chunks held back more than a tenth of a second
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.listen_port = 0

    def _pause(self) -> float:
        if self.rng.random() < self.slow_share:
            self.held += 1
            return self.rng.uniform(0.1, self.slowest)
        return 0.0

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hold: bool) -> None:
        try:
            while data := await reader.read(65536):
                if hold and (pause := self._pause()):
                    await asyncio.sleep(pause)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, int(self.port))
        await asyncio.gather(
            self._pipe(reader, upstream_writer, hold=True), self._pipe(upstream_reader, writer, hold=False)
        )

    def __enter__(self) -> DelayingProxy:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop
        )
        self._server = started.result(10)
        self.listen_port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self._server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


def kubeconfig_through(kubeconfig: str, port: int, path: Path) -> str:
    """A copy of ``kubeconfig`` whose clusters are reached through 127.0.0.1:``port``."""
    config = yaml.safe_load(Path(kubeconfig).read_text())
    for entry in config["clusters"]:
        entry["cluster"]["server"] = f"https://127.0.0.1:{port}"
    path.write_text(yaml.safe_dump(config))
    return str(path)


class BusyLoops:
    """One busy loop per core, at a priority above the operator's and below everything else here."""

    def __init__(self, nice: int) -> None:
        self.nice = nice
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> BusyLoops:
        for _ in range(os.cpu_count() or 2):
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", "while True: pass"],
                    preexec_fn=functools.partial(os.nice, self.nice),
                )
            )
        return self

    def running(self) -> bool:
        return all(p.poll() is None for p in self.processes)

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.kill()
            process.wait(10)


def _effects(node: client.V1Node) -> frozenset[str]:
    return frozenset(t.effect for t in node.spec.taints or [] if t.key == DEFAULT_TAINT_KEY)


def _placement(pod: client.V1Pod) -> tuple[str | None, bool]:
    return pod.spec.node_name, pod.metadata.deletion_timestamp is not None


@dataclass
class Replay:
    """Every state the watches saw, in resourceVersion order, summed up."""

    states: int = 0
    most_draining: int = 0
    violations: list[str] = field(default_factory=list)
    escalated: set[str] = field(default_factory=set)  # nodes that took the NoSchedule taint
    drains_finished: int = 0
    waits: int = 0  # states in which a node drained while another at-risk node waited for the slot


class History:
    """Lists the pool's nodes and the workload's pods, then watches both from there, on two threads."""

    def __init__(self, api: client.ApiClient, pool: str, namespace: str) -> None:
        core = client.CoreV1Api(api)
        nodes = core.list_node(label_selector=f"pool={pool}")
        pods = core.list_namespaced_pod(namespace, label_selector="app=svc")
        self.first_nodes = {n.metadata.name: _effects(n) for n in nodes.items}
        self.first_pods = {p.metadata.name: _placement(p) for p in pods.items}
        self.events: list[tuple[int, str, str, Any]] = []
        self.errors: list[str] = []
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._threads = [
            threading.Thread(
                target=self._watch,
                args=("node", core.list_node, {"label_selector": f"pool={pool}"}, nodes, _effects),
                daemon=True,
            ),
            threading.Thread(
                target=self._watch,
                args=(
                    "pod",
                    core.list_namespaced_pod,
                    {"namespace": namespace, "label_selector": "app=svc"},
                    pods,
                    _placement,
                ),
                daemon=True,
            ),
        ]

    def _watch(
        self,
        kind: str,
        list_fn: Callable[..., Any],
        kwargs: dict[str, str],
        listed: Any,
        state: Callable[..., Any],
    ) -> None:
        version = listed.metadata.resource_version
        while not self._stop.is_set():
            try:
                for event in watch.Watch().stream(
                    list_fn, resource_version=version, timeout_seconds=5, **kwargs
                ):
                    if event["type"] == "ERROR":
                        self.errors.append(f"{kind} watch: {event['raw_object']}")
                        return
                    obj = event["object"]
                    version = obj.metadata.resource_version
                    seen = None if event["type"] == "DELETED" else state(obj)
                    with self._lock:
                        self.events.append((int(version), kind, obj.metadata.name, seen))
            except ApiException as exc:  # e.g. 410: the history has a gap, so nothing can be proved
                self.errors.append(f"{kind} watch: {exc.status} {exc.reason}")
                return

    def __enter__(self) -> History:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def replay(self, at_risk: list[str]) -> Replay:
        nodes, pods = dict(self.first_nodes), dict(self.first_pods)
        out, draining = Replay(), set()
        with self._lock:
            events = sorted(self.events, key=lambda event: event[0])
        for version, kind, name, seen in events:
            objects: dict[str, Any] = nodes if kind == "node" else pods
            if seen is None:
                objects.pop(name, None)
            else:
                objects[name] = seen
            busy = {on for on, terminating in pods.values() if on is not None and not terminating}
            now = {n for n, effects in nodes.items() if "NoSchedule" in effects and n in busy}
            out.states += 1
            out.escalated |= {n for n, effects in nodes.items() if "NoSchedule" in effects}
            out.drains_finished += sum("NoSchedule" in nodes.get(n, ()) for n in draining - now)
            draining = now
            out.most_draining = max(out.most_draining, len(now))
            if now and any(nodes.get(n) == {"PreferNoSchedule"} for n in at_risk):
                out.waits += 1
            if len(now) > 1:
                out.violations.append(
                    f"resourceVersion {version}: NoSchedule with pods left on {sorted(now)}"
                )
        return out


def _pods_on(api: client.ApiClient, namespace: str, node: str) -> int:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, field_selector=f"spec.nodeName={node}").items
    return sum(p.metadata.deletion_timestamp is None for p in pods)


def _running_on(api: client.ApiClient, namespace: str) -> list[str | None]:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector="app=svc").items
    return [
        p.spec.node_name
        for p in pods
        if p.status.phase == "Running" and p.metadata.deletion_timestamp is None
    ]


def _draining(api: client.ApiClient, namespace: str, pool: str) -> list[str]:
    nodes = client.CoreV1Api(api).list_node(label_selector=f"pool={pool}").items
    return [
        n.metadata.name
        for n in nodes
        if "NoSchedule" in _effects(n) and _pods_on(api, namespace, n.metadata.name)
    ]


def _delete_without_finalizers(objects: client.CustomObjectsApi, namespace: str, name: str) -> None:
    """The policy goes with the operator stopped: its nodes are deleted next, taints and all."""
    try:
        patch = {"metadata": {"finalizers": None}}
        objects.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, patch)
        objects.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture
def pool(devcluster: DevCluster) -> Iterator[tuple[str, list[str]]]:
    label = f"st-{uuid.uuid4().hex[:5]}"
    names = devcluster.create_nodes(AT_RISK + SPARE, prefix=label, labels={"pool": label})
    yield label, names
    devcluster.delete_nodes(names, missing_ok=True)


def test_max_nodes_at_once_holds_while_the_operator_is_starved_slowed_and_killed(
    api: client.ApiClient,
    devcluster: DevCluster,
    crds: list[str],
    namespace: str,
    pool: tuple[str, list[str]],
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    label, names = pool
    at_risk, spares = names[:AT_RISK], names[AT_RISK:]
    _deployment(api, namespace, label, replicas=REPLICAS, spread="DoNotSchedule")
    _pdb(api, namespace, min_available=REPLICAS - 1)
    wait_for(lambda: len(_running_on(api, namespace)) == REPLICAS, 120, what=f"{REPLICAS} Running pods")
    assert all(_pods_on(api, namespace, n) for n in at_risk), "an at-risk node without pods drains at once"

    policy = f"p-{uuid.uuid4().hex[:5]}"
    objects = client.CustomObjectsApi(api)
    apiserver = urlsplit(devcluster.info.apiserver_url).netloc
    kills = 0
    started = time.monotonic()
    with (
        DelayingProxy(apiserver, rng) as proxy,
        History(api, label, namespace) as history,
        SignalDriver(devcluster, policy, names) as driver,
    ):
        for node in at_risk:
            driver.values[node] = 0.5 * GIB  # past the 1 GiB threshold: all three at once, one slot
        operator = OperatorProcess(
            kubeconfig_through(devcluster.kubeconfig, proxy.listen_port, tmp_path / "kubeconfig"),
            devcluster.prometheus_url,
            tmp_path / "operator.log",
            nice=OPERATOR_NICE,
            FORESIGHT_TICK_SECONDS="3",
        )
        try:
            with BusyLoops(BUSY_NICE) as busy:
                operator.start(timeout_seconds=180)
                objects.create_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, _policy(policy, label)
                )

                def done() -> bool:
                    return set(_running_on(api, namespace)) <= set(spares) and not _draining(
                        api, namespace, label
                    )

                # Until every pod is on a spare: kill the operator when a node is caught draining, at a
                # random moment once it has been up a while (a starved start takes many seconds).
                kill_at = time.monotonic() + rng.uniform(*UP_SECONDS)
                while not done():
                    elapsed = time.monotonic() - started
                    assert elapsed < DRAIN_SECONDS, (
                        f"not drained in {DRAIN_SECONDS} s",
                        kills,
                        history.replay(at_risk),
                    )
                    time.sleep(1)
                    if kills < KILLS and time.monotonic() > kill_at and _draining(api, namespace, label):
                        operator.kill()
                        kills += 1
                        time.sleep(rng.uniform(0, 3))
                        operator.start(timeout_seconds=180)
                        kill_at = time.monotonic() + rng.uniform(*UP_SECONDS)
                drained_after = time.monotonic() - started
                starved = busy.running()
            wait_for(
                lambda: len(_running_on(api, namespace)) == REPLICAS, 60, what=f"{REPLICAS} Running pods"
            )
            time.sleep(2)  # the watches catch up
        finally:
            operator.stop()
            _delete_without_finalizers(objects, namespace, policy)

    replay = history.replay(at_risk)
    print(f"drained in {drained_after:.0f} s, {kills} kills, {proxy.held} chunks held back; {replay}")
    assert not history.errors, history.errors
    assert replay.violations == [], replay.violations[:5]
    # Not vacuous: every at-risk node (and no spare) was escalated and drained, one waited while another
    # drained, the operator was killed mid-drain, starved all along, and its requests were held back.
    assert replay.escalated == set(at_risk) and replay.drains_finished >= AT_RISK, replay
    assert replay.most_draining == 1 and replay.waits > 0, replay
    assert MIN_KILLS <= kills <= KILLS, f"killed mid-drain {kills} time(s) in {drained_after:.0f} s"
    assert starved and proxy.held >= 20, (starved, proxy.held)
    assert set(_running_on(api, namespace)) == set(spares)
