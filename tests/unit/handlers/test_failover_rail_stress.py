"""``maxNodesAtOnce`` under stress: many ticks of the real reconcile against an API that answers late.

Two FailoverPolicies select the same nodes with the same taint key, so the two loops of one operator process
share one rail. Every API call is a request that reaches the server after a random delay and whose answer
comes back after another, so each tick plans on reads that are old by the time it writes. Patches meet
conflicts, a node now and then keeps changing for a while (so a planned release can fail to write), the
risk moves from node to node, and the process is killed and restarted with nothing in memory (requests it
had sent still land, before the new process starts). The fake API checks the rail after every change it
makes: at no moment may more than ``maxNodesAtOnce`` nodes carry the NoSchedule taint with pods left.

Time is virtual: the event loop's clock jumps to its next timer instead of waiting, and nothing runs on
threads, so a seed replays the same run exactly and half an hour of ticks takes a few seconds.
"""

from __future__ import annotations

import asyncio
import copy
import random
import selectors
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from foresight import forecasting
from foresight.api.v1alpha1.failover_policy import DEFAULT_TAINT_KEY
from foresight.config import Settings
from foresight.handlers import failover_policy as fp
from foresight.handlers._status import iso, status_patch
from foresight.handlers.batcher import ForecastBatcher
from foresight.handlers.runtime import Runtime
from foresight.kube import client as kube
from foresight.metrics import SampledSeries

from ._merge import apply_node_patch, merge

EPOCH = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
GIB = 2.0**30
MAX_NODES_AT_ONCE = 1
NODES = [f"n{i}" for i in range(6)]
REPLICAS, MIN_AVAILABLE = 12, 11  # two pods a node, one eviction at a time: a drain spans several ticks
POLICIES = ("memory-a", "memory-b")
TICK_SECONDS = 5.0


# --- virtual time --------------------------------------------------------------------------------


class _Clock:
    now = 0.0


class _JumpingSelector(selectors.SelectSelector):
    """Never sleeps: with nothing ready, the clock jumps by the loop's timeout (to its next timer)."""

    def __init__(self, clock: _Clock) -> None:
        super().__init__()
        self.clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if not ready and timeout is not None and timeout > 0:
            self.clock.now += timeout
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.clock = _Clock()
        super().__init__(selector=_JumpingSelector(self.clock))

    def time(self) -> float:
        return self.clock.now


def run_virtual(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    loop = VirtualTimeLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


# --- the cluster -----------------------------------------------------------------------------------


@dataclass
class Stress:
    """Knobs of one run; ``delay`` is the most one leg of a request takes (it usually takes far less)."""

    seed: int
    minutes: float = 30.0
    delay: float = 2.0
    conflict: float = 0.15  # a patch meets a concurrent writer
    restarts: bool = True


@dataclass
class Tally:
    """What happened, so that a run that exercised nothing cannot pass."""

    escalations: int = 0
    drains_finished: int = 0
    waits: int = 0  # changes seen while a node drained and another at-risk node waited for the slot
    restarts: int = 0
    held_back_at_write: int = 0
    most_draining: int = 0
    violations: list[str] = field(default_factory=list)


class Cluster:
    """Nodes, one Deployment's pods, its PodDisruptionBudget, and the controllers that move pods.

    Reads return deep copies (snapshots); every change ends with :meth:`_check`, so a broken rail is
    seen at the moment it breaks. Evicted pods terminate, and their replacements are created and
    scheduled a little later onto a node without a NoSchedule taint (fewest pods first).
    """

    def __init__(self, stress: Stress, tally: Tally) -> None:
        self.rng = random.Random(stress.seed)
        self.stress, self.tally = stress, tally
        self.version = 100
        self.nodes = {name: self._node(name) for name in NODES}
        self.pods: dict[str, dict[str, Any]] = {}
        for k in range(REPLICAS):
            self._create_pod(NODES[k % len(NODES)])
        self.at_risk: set[str] = set()
        self.at_risk_for: dict[str, set[str]] = {}  # per policy, where the policies should disagree
        self.flaky_until: dict[str, float] = {}
        self.statuses: dict[str, list[dict[str, Any]]] = {p: [{}] for p in POLICIES}
        self._draining: set[str] = set()

    # time and randomness
    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def leg(self) -> float:
        """One leg of a request: usually milliseconds, now and then seconds (a starved process)."""
        if self.rng.random() < 0.1:
            return self.rng.uniform(0.5, self.stress.delay)
        return self.rng.uniform(0.0, 0.2)

    # objects
    def _node(self, name: str) -> dict[str, Any]:
        self.version += 1
        return {
            "metadata": {
                "name": name,
                "resourceVersion": str(self.version),
                "labels": {"pool": "a"},
                "creationTimestamp": "2026-01-01T00:00:00Z",
            },
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }

    def _create_pod(self, node: str) -> None:
        self.version += 1
        name = f"web-{self.version}"
        self.pods[name] = {
            "metadata": {
                "namespace": "shop",
                "name": name,
                "labels": {"app": "web"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "controller": True}],
            },
            "spec": {"nodeName": node},
            "status": {"phase": "Running"},
        }

    def _effects(self, node: str) -> set[str]:
        taints = self.nodes[node]["spec"].get("taints") or []
        return {t["effect"] for t in taints if t["key"] == DEFAULT_TAINT_KEY}

    def _pods_left(self, node: str) -> int:
        return sum(
            p["spec"]["nodeName"] == node and "deletionTimestamp" not in p["metadata"]
            for p in self.pods.values()
        )

    def _check(self, what: str) -> None:
        draining = {n for n in NODES if "NoSchedule" in self._effects(n) and self._pods_left(n)}
        self.tally.escalations += len(draining - self._draining)
        self.tally.drains_finished += sum(not self._pods_left(n) for n in self._draining - draining)
        self._draining = draining
        self.tally.most_draining = max(self.tally.most_draining, len(draining))
        waiting = [n for n in NODES if self._effects(n) == {"PreferNoSchedule"} and n in self.at_risk]
        if draining and waiting:
            self.tally.waits += 1
        if len(draining) > MAX_NODES_AT_ONCE:
            self.tally.violations.append(
                f"t={self.now():.1f}s {what}: NoSchedule, pods on {sorted(draining)}"
            )

    # the API (the operator's kube.* functions)
    def list_nodes(self, label_selector: str = "") -> list[dict[str, Any]]:
        return [copy.deepcopy(n) for n in self.nodes.values()]

    def get_node(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.nodes[name])

    def list_leases(self, namespace: str = "kube-node-lease") -> list[dict[str, Any]]:
        renew = iso(EPOCH + timedelta(seconds=self.now())).replace("Z", ".000000Z")
        return [
            {"metadata": {"name": n}, "spec": {"renewTime": renew, "leaseDurationSeconds": 40}} for n in NODES
        ]

    def list_pods(self, field_selector: str = "", label_selector: str = "") -> list[dict[str, Any]]:
        return [copy.deepcopy(p) for p in self.pods.values()]

    def list_namespaces(self, label_selector: str = "") -> list[dict[str, Any]]:
        return [{"metadata": {"name": "shop"}}]

    def _disruptions_allowed(self) -> int:
        return sum("deletionTimestamp" not in p["metadata"] for p in self.pods.values()) - MIN_AVAILABLE

    def list_pdbs(self) -> list[dict[str, Any]]:
        return [
            {
                "metadata": {"namespace": "shop", "name": "web"},
                "spec": {"selector": {"matchLabels": {"app": "web"}}},
                "status": {"disruptionsAllowed": max(0, self._disruptions_allowed())},
            }
        ]

    def patch_node(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        node = self.nodes[name]
        if self.now() < self.flaky_until.get(name, -1.0) or self.rng.random() < self.stress.conflict:
            self.version += 1  # the kubelet (or anyone) wrote the node just before us
            node["metadata"]["resourceVersion"] = str(self.version)
        apply_node_patch(node, patch, self.version + 1)  # raises the conflict before any write
        self.version += 1
        self._check(f"patch node {name}")
        return copy.deepcopy(node)

    def evict(self, namespace: str, pod: str) -> None:
        found = self.pods.get(pod)
        if found is None:
            raise kube.NotFound(f"pods {pod!r} not found")
        if "deletionTimestamp" in found["metadata"]:
            return
        if self._disruptions_allowed() <= 0:
            raise kube.TooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.")
        found["metadata"]["deletionTimestamp"] = iso(EPOCH + timedelta(seconds=self.now()))
        self._check(f"evict {pod}")
        loop = asyncio.get_running_loop()
        loop.call_later(self.rng.uniform(0.5, 3.0), self._remove, pod)
        loop.call_later(self.rng.uniform(1.0, 6.0), self._replace)

    def _remove(self, pod: str) -> None:
        self.pods.pop(pod, None)
        self._check(f"pod {pod} gone")

    def _replace(self) -> None:
        """The ReplicaSet's new pod, scheduled: never onto a NoSchedule node, PreferNoSchedule if it must."""
        open_nodes = [n for n in NODES if "NoSchedule" not in self._effects(n)]
        if not open_nodes:
            asyncio.get_running_loop().call_later(5.0, self._replace)
            return
        node = min(open_nodes, key=lambda n: (bool(self._effects(n)), self._pods_left(n), self.rng.random()))
        self._create_pod(node)
        self._check(f"pod created on {node}")

    def patch_status(self, policy: str, patch: dict[str, Any]) -> None:
        history = self.statuses[policy]
        history.append(merge(history[-1], patch))
        del history[:-2]

    def policy_body(self, policy: str) -> dict[str, Any]:
        """The policy as its loop sees it: kopf's body may not have caught up with the last status write."""
        status = self.rng.choice(self.statuses[policy])
        return {
            "metadata": {"name": policy, "namespace": "ops", "uid": policy, "generation": 1},
            "spec": {
                "nodeSelector": {"matchLabels": {"pool": "a"}},
                "signals": [
                    {
                        "name": "memory-available",
                        "query": f'free_memory_bytes{{pool="a",policy="{policy}"}}',
                        "nodeLabel": "node",
                        "threshold": 1 * GIB,
                        "direction": "below",
                    }
                ],
                "horizon": "5m",
                "failureProbabilityThreshold": 0.5,
                "actions": {"maxNodesAtOnce": MAX_NODES_AT_ONCE, "cooldownSeconds": 0, "minHealthyNodes": 1},
            },
            "status": copy.deepcopy(status),
        }

    # Prometheus: free memory per node, low on the nodes at risk now
    def range(self, query: str, start: datetime, end: datetime, step: int) -> list[SampledSeries]:
        points = int((end - start).total_seconds() // step) + 1
        at_risk = next((s for p, s in self.at_risk_for.items() if f'policy="{p}"' in query), self.at_risk)
        return [
            SampledSeries(start, step, np.full(points, 0.5 * GIB if n in at_risk else 8 * GIB), {"node": n})
            for n in NODES
        ]

    # the world moving under the operator
    async def weather(self) -> None:
        """Risk moves from node to node, and now and then a node keeps changing for a while."""
        while True:
            self.at_risk = set(self.rng.sample(NODES, self.rng.choice([1, 2, 2, 3])))
            if self.rng.random() < 0.5:
                self.flaky_until[self.rng.choice(NODES)] = self.now() + self.rng.uniform(5, 30)
            self._check("risk moved")
            await asyncio.sleep(self.rng.uniform(10, 60))


class Forecasts:
    """Stands in for the forecast batcher: a random share (60-100 %) of the paths of a node reading below
    the threshold cross it, as sampled forecasts do, so which at-risk node is riskiest changes per read."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    async def sample(
        self, model: str, series: forecasting.Series, horizon_steps: int, n_samples: int
    ) -> tuple[np.ndarray, str]:
        paths = np.full((n_samples, horizon_steps), 8 * GIB)
        if series.values[-1] < 1 * GIB:
            paths[: self.rng.randint(n_samples * 6 // 10, n_samples)] = series.values[-1]
        return paths, model


def fresh_runtime(cluster: Cluster) -> Runtime:
    """What a new operator process starts with: nothing in memory."""
    runtime = Runtime(
        settings=Settings(prometheus_url="https://prom.monitoring.svc:9090"), batcher=ForecastBatcher()
    )
    runtime.batcher = Forecasts(cluster.rng)  # type: ignore[assignment]
    runtime.prometheus.get = lambda *a, **k: cluster  # type: ignore[method-assign]
    return runtime


async def tick(
    cluster: Cluster, runtime: Runtime, policy: str, memory: fp.FailoverMemory | None = None
) -> Any:
    """One pass of a policy's loop: reconcile, then write the status."""
    now = EPOCH + timedelta(seconds=cluster.now())
    body = cluster.policy_body(policy)
    memory = memory or fp.FailoverMemory()
    status = await fp.reconcile(runtime, memory, name=policy, namespace="ops", body=body, now=now)
    await asyncio.to_thread(cluster.patch_status, policy, status_patch(status))
    return status


class Process:
    """One operator process: a fresh runtime and both policies' loops, until killed."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.runtime = fresh_runtime(cluster)
        self.loops = [asyncio.get_running_loop().create_task(self._loop(p)) for p in POLICIES]

    async def _loop(self, policy: str) -> None:
        memory = fp.FailoverMemory()
        await asyncio.sleep(self.cluster.rng.uniform(0, TICK_SECONDS))
        while True:
            await tick(self.cluster, self.runtime, policy, memory)
            await asyncio.sleep(TICK_SECONDS)

    def kill(self) -> None:
        for task in self.loops:
            task.cancel()


def install(monkeypatch: pytest.MonkeyPatch, cluster: Cluster) -> None:
    """The cluster as the operator's API, and every call a request with two random legs."""

    async def request(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        async def server() -> Any:
            await asyncio.sleep(cluster.leg())
            return fn(*args, **kwargs)

        # Shielded: a request already sent lands even if the process that sent it is killed meanwhile
        # (and then nobody reads its answer).
        sent = asyncio.get_running_loop().create_task(server())
        sent.add_done_callback(lambda task: task.cancelled() or task.exception())
        answer = await asyncio.shield(sent)
        await asyncio.sleep(cluster.leg())
        return answer

    monkeypatch.setattr(asyncio, "to_thread", request)
    for name in ("list_nodes", "list_leases", "list_pods", "list_pdbs", "list_namespaces", "get_node"):
        monkeypatch.setattr(kube, name, getattr(cluster, name))
    monkeypatch.setattr(kube, "patch_node", cluster.patch_node)
    monkeypatch.setattr(kube, "evict", cluster.evict)
    monkeypatch.setattr(fp.events, "info", lambda *a, **k: None)
    monkeypatch.setattr(fp.events, "warn", lambda *a, **k: None)
    held_back = fp.fo.escalation_held_back

    def counted(*args: Any, **kwargs: Any) -> str | None:
        why = held_back(*args, **kwargs)
        cluster.tally.held_back_at_write += why is not None
        return why

    monkeypatch.setattr(fp.fo, "escalation_held_back", counted)


def stress(monkeypatch: pytest.MonkeyPatch, knobs: Stress) -> Tally:
    """One run: a process (killed and restarted now and then) against the moving cluster."""
    tally = Tally()

    async def main() -> None:
        cluster = Cluster(knobs, tally)
        install(monkeypatch, cluster)
        weather = asyncio.get_running_loop().create_task(cluster.weather())
        end = cluster.now() + knobs.minutes * 60
        process = Process(cluster)
        while cluster.now() < end:
            await asyncio.sleep(cluster.rng.uniform(30, 120) if knobs.restarts else end - cluster.now())
            process.kill()
            if knobs.restarts:
                # A new process takes longer to start than any request takes to land.
                await asyncio.sleep(cluster.rng.uniform(2 * knobs.delay + 1, 20))
                tally.restarts += 1
                process = Process(cluster)
        process.kill()
        weather.cancel()
        await asyncio.sleep(2 * knobs.delay + 1)  # let the last requests land, and be checked

    run_virtual(main)
    return tally


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_max_nodes_at_once_holds_at_every_moment(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    tally = stress(monkeypatch, Stress(seed=seed))
    assert tally.violations == [], tally.violations[:5]
    assert tally.most_draining == MAX_NODES_AT_ONCE
    # Not vacuous: drains began and finished, nodes waited for the slot, the process was restarted, and
    # the check at write time refused escalations that the tick's reads had allowed.
    assert tally.escalations >= 10 and tally.drains_finished >= 5, tally
    assert tally.waits >= 10 and tally.restarts >= 10, tally
    assert tally.held_back_at_write >= 1, tally


def test_the_stress_catches_a_rail_checked_only_on_the_ticks_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the check at write time the same run breaks the rail: the stress can fail."""
    monkeypatch.setattr(fp.fo, "escalation_held_back", lambda *a, **k: None)
    broken = stress(monkeypatch, Stress(seed=1))
    assert broken.violations, broken


# --- the two races, one at a time ----------------------------------------------------------------


def _escalated(cluster: Cluster) -> list[str]:
    return [n for n in NODES if "NoSchedule" in cluster._effects(n)]


def test_a_release_that_fails_to_write_keeps_its_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """n0 drains behind a PDB; its risk subsides and n1's rises in the same tick. The plan frees n0's slot
    for n1, but n0 keeps changing and its release is not written: n1 must wait."""
    tally = Tally()

    async def main() -> None:
        cluster = Cluster(Stress(seed=0, conflict=0.0), tally)
        install(monkeypatch, cluster)
        cluster.leg = lambda: 0.1  # type: ignore[method-assign]
        cluster.nodes["n0"]["spec"]["taints"] = [
            {"key": DEFAULT_TAINT_KEY, "value": "true", "effect": effect}
            for effect in ("PreferNoSchedule", "NoSchedule")
        ]
        cluster.at_risk, cluster.flaky_until["n0"] = {"n1"}, float("inf")
        status = await tick(cluster, fresh_runtime(cluster), POLICIES[0])

        assert _escalated(cluster) == ["n0"] and cluster._effects("n1") == {"PreferNoSchedule"}
        assert cluster._pods_left("n1") == 2, "no eviction from a node whose escalation was refused"
        skips = [a.detail for a in status.recent_actions if a.action == "skip" and a.node == "n1"]
        assert skips and "maxNodesAtOnce=1 reached (n0)" in skips[0] and "checked again" in skips[0]

    run_virtual(main)
    assert tally.violations == []


def test_two_policies_on_the_same_nodes_escalate_one_node_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both loops read the cluster before either writes, and each finds a different node at risk."""
    tally = Tally()

    async def main() -> None:
        cluster = Cluster(Stress(seed=0, conflict=0.0), tally)
        install(monkeypatch, cluster)
        cluster.leg = lambda: 0.5  # type: ignore[method-assign]
        cluster.at_risk_for = {POLICIES[0]: {"n1"}, POLICIES[1]: {"n2"}}
        runtime = fresh_runtime(cluster)
        await asyncio.gather(*(tick(cluster, runtime, p) for p in POLICIES))
        assert len(_escalated(cluster)) == 1, _escalated(cluster)

    run_virtual(main)
    assert tally.violations == [] and tally.held_back_at_write == 1
