"""``foresight demo`` end to end, non-interactively, judged from its machine-readable summary.

The demo starts its own cluster (name ``demo``, the test cluster's ports + 100), so this runs beside
the session's cluster. It checks what the demo narrates: the HPA floor rose before the surge, the
leaking node was drained before it failed, and the fan chart was written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from foresight.devcluster import cluster

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict, Path]:
    out = tmp_path_factory.mktemp("demo")
    summary, chart = out / "summary.json", out / "fan-chart.png"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "operator")}
    argv = [
        sys.executable, "-m", "foresight", "demo", "--no-tty", "--duration", "480",
        "--summary-json", str(summary), "--chart", str(chart),
    ]  # fmt: skip
    done = subprocess.run(
        argv,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    tail = f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert summary.exists(), f"no summary (exit {done.returncode}):\n{tail}"
    return done, json.loads(summary.read_text()), chart


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_demo_exits_zero_with_every_outcome(
    demo_run: tuple[subprocess.CompletedProcess[str], dict, Path],
) -> None:
    done, summary, _ = demo_run
    assert done.returncode == 0, done.stdout[-4000:]
    assert summary["ok"] and all(o["ok"] for o in summary["outcomes"].values()), summary["outcomes"]
    assert "drained" in done.stdout and "before it failed" in done.stdout


def test_floor_raised_before_the_surge(demo_run: tuple[subprocess.CompletedProcess[str], dict, Path]) -> None:
    _, summary, _ = demo_run
    assert summary["raised_floor"] > summary["original_floor"]
    assert _at(summary["floor_raised_at"]) < _at(summary["surge_at"])
    assert summary["surge_load"] > 2 * 20  # more than the original floor of 2 replicas serves


def test_node_drained_before_it_went_not_ready(
    demo_run: tuple[subprocess.CompletedProcess[str], dict, Path],
) -> None:
    _, summary, _ = demo_run
    tainted, drained, failed = (_at(summary[k]) for k in ("tainted_at", "drained_at", "failed_at"))
    assert tainted <= drained <= failed
    assert summary["outcomes"]["drained-before-failure"]["lead_seconds"] >= 0
    # Nothing of the workload was lost with the node: every web pod runs on the other nodes.
    assert summary["pods_running_after_failure"] >= summary["raised_floor"]


def test_fan_chart_written(demo_run: tuple[subprocess.CompletedProcess[str], dict, Path]) -> None:
    _, summary, chart = demo_run
    data = chart.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    assert summary["chart"]["path"] == str(chart)


def test_demo_cluster_torn_down(demo_run: tuple[subprocess.CompletedProcess[str], dict, Path]) -> None:
    assert cluster.running("demo") is None
