"""The live view, the plain lines and the chart, on made-up snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rich.console import Console

from foresight.demo import counterfactual, scenario, view

T0 = datetime(2030, 1, 1, tzinfo=UTC)
RISK = {
    "node": "demo-node-1",
    "failureProbability": 0.93,
    "state": "draining",
    "reasons": ["memory-available p(cross below 2.68435e+08 within 15m) = 0.93 (1.00 of paths)"],
}


def snapshot(at: datetime, load: float, ready: int, memory: float = 6144.0) -> view.Snapshot:
    node = view.NodeView(ready=True, taints=(), ready_pods=ready, starting_pods=1)
    return view.Snapshot(
        at=at,
        load=load,
        load_rate=load,
        scaler={
            "forecast": {
                "peakP10": load * 0.5, "peakP50": load, "peakP90": load * 1.6,
                "windowStart": (at + timedelta(seconds=60)).isoformat(),
                "windowEnd": (at + timedelta(seconds=120)).isoformat(),
            },
            "desiredReplicas": ready + 2,
            "lastDecision": {"time": at.isoformat(), "reason": "p90 peak 48 at 10:00 → 10 replicas"},
        },
        hpa_min=ready + 1,
        nodes={"demo-node-0": node, "demo-node-1": view.NodeView(True, ("NoSchedule",), 0, 0)},
        policy={"nodesAtRisk": [RISK]},
        memory={"demo-node-0": memory * scenario.MIB, "demo-node-1": 1000.0 * scenario.MIB},
        pods_asked=ready + 1,
        hpa_alone=(ready, ready - 1),
    )  # fmt: skip


def test_live_view_shows_load_forecast_floor_pods_and_why_a_node_is_at_risk() -> None:
    timeline = scenario.Timeline(T0, T0)
    history = [snapshot(T0 + timedelta(seconds=s), 20.0 + s / 10, 6) for s in range(90)]
    console = Console(record=True, width=200)
    console.print(view.render(history[-1], history, timeline, ["12:00:00  something happened"], 90.0))
    text = console.export_text()
    for expected in ("req/s", "p90", "minReplicas 7", "HPA alone", "■■■■■■□", "p=0.93: memory-available",
                     "NoSchedule", "something happened", "p90 peak 48"):  # fmt: skip
        assert expected in text, expected


def test_plain_line_gives_each_risk_with_its_cause() -> None:
    line = view.status_line(snapshot(T0, 30.0, 6), scenario.Timeline(T0, T0), 12.0)
    assert "demo-node-1 p=0.93: memory-available" in line and "HPA alone 5 Ready" in line


def test_risk_text_says_when_no_cause_is_given() -> None:
    assert view.risk_text({"failureProbability": 0.4}) == "p=0.40: no cause given"


def test_chart_draws_both_runs(tmp_path: Path) -> None:
    snaps = [snapshot(T0 + timedelta(seconds=s), 20.0 + s / 10, 6 + s // 60, 6144.0) for s in range(240)]
    demand = np.array([s.load for s in snaps])
    ours = counterfactual.observed_run([(s.at, s.pods_asked, s.ready_pods) for s in snaps], T0, 240)
    theirs = counterfactual.hpa_alone(demand, T0, 6)
    timeline = scenario.Timeline(T0, T0, leaking_node="demo-node-1", tainted_at=T0 + timedelta(seconds=30))
    data = view.ChartData(T0, demand, demand, ours, theirs, T0 + timedelta(seconds=60), None)
    path = tmp_path / "demo.png"
    view.chart(path, snaps, timeline, data)
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 20_000
