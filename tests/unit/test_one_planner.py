"""One planner, two callers: the benchmark's Foresight policy decides exactly as the operator's handler does.

Both go through :func:`foresight.planning.step` and through nothing else of the planner, so a change to the
scaling policy cannot reach one of them without the other.
"""

from __future__ import annotations

import ast
import inspect
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from foresight import forecasting, planning
from foresight.api.v1alpha1 import PredictiveScalerSpec
from foresight.config import Settings
from foresight.handlers import predictive_scaler as ps
from foresight.handlers.batcher import ForecastBatcher
from foresight.handlers.runtime import Runtime, ScalerMemory
from foresight.kube import hpa as hpas
from foresight.simulation import ClusterConfig, ForecastBank, ForesightPolicy, Workload

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
STEP = 60
TICK = 15
KEY = "demo/web"
# An hour of past windows whose peaks came in 30 % above the forecast, so calibration shows.
RECORD = planning.PeakCalibration(ratios=(1.3,) * 60, predicted=(1000.0,) * 60)


def _spec(calibrate: bool) -> PredictiveScalerSpec:
    return PredictiveScalerSpec.model_validate(
        {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "hpaRef": {"name": "web"},
            "metric": {"prometheus": {"query": 'sum(rps{namespace="demo"})'}, "capacityPerReplica": 100},
            "forecast": {"step": "1m", "quantile": 0.8, "calibrate": calibrate},
            "scaling": {"maxReplicas": 50, "startupSeconds": 180},
        }
    )


def _bank(minutes: int = 40, past: int = 30) -> ForecastBank:
    """A surge and its end, forecast once a minute (the paths know the level ahead, with noise)."""
    rng = np.random.default_rng(7)
    t = np.arange(past + minutes + 20)
    # A ramp up over ten minutes, then a cliff: the fall outruns the stabilization window.
    level = 200 + np.where((t >= past + 5) & (t < past + 20), np.minimum(t - past - 4, 10) * 200.0, 0.0)
    readings = level * (1 + 0.05 * rng.standard_normal(len(t)))
    origins = STEP * np.arange(minutes, dtype=float)
    samples = np.stack(
        [level[past + j : past + j + 15] * (1 + 0.15 * rng.standard_normal((50, 15))) for j in range(minutes)]
    )
    return ForecastBank(
        "surge", origins, samples.astype(np.float32), STEP, history=readings, history_start=-past * STEP
    )


def _handler_decision(
    runtime: Runtime, spec: PredictiveScalerSpec, bank: ForecastBank, floor: int, now: datetime
) -> planning.ScalingDecision:
    """What the operator's handler decides on the bank's newest forecast, with the HPA at ``floor``."""
    j = bank.latest((now - START).total_seconds())
    assert j is not None
    count = bank.history_count(j)
    last_observed = START + timedelta(seconds=float(bank.origins[j]))
    history = forecasting.Series(
        bank.history[:count], last_observed - timedelta(seconds=STEP * (count - 1)), STEP, item_id=KEY
    )
    hpa = hpas.HpaState("web", floor, 50, "1", KEY, 1, 50, floor, None)
    seen = ps._Observed("web", "demo", spec, hpa, {}, {}, None, STEP)
    return ps._decide(runtime, seen, ps._Forecast(history, bank.samples[j], "surge"), now)


@pytest.mark.parametrize("calibrate", [False, True])
def test_the_simulator_decides_as_the_handler(calibrate: bool) -> None:
    spec = _spec(calibrate)
    bank = _bank()
    cluster = ClusterConfig(capacity_per_replica=100, startup_seconds=180, tick_seconds=TICK, max_replicas=50)
    workload = Workload(np.zeros(40 * 4), pd.Timestamp(START), TICK)
    scaling = spec.scaling
    simulated = ForesightPolicy(
        bank,
        quantile=spec.forecast.quantile,
        stabilization_seconds=scaling.scale_down.stabilization_seconds,
        max_step_percent=scaling.scale_down.max_step_percent,
        calibrate=calibrate,
    ).controller(workload, cluster)
    runtime = Runtime(settings=Settings(tick_seconds=30), batcher=ForecastBatcher(window_seconds=0))
    runtime.scalers[KEY] = ScalerMemory(desired_history=((START, 1),), calibration=RECORD)
    simulated.state = planning.PlannerState(((START, 1),), RECORD)
    decisions = []
    floor = 1
    for tick in range(0, len(workload), cluster.reconcile_ticks):
        now = START + timedelta(seconds=tick * TICK)
        decision = _handler_decision(runtime, spec, bank, floor, now)
        assert simulated.floor(tick, floor, floor, floor, 0.0) == decision.floor
        decisions.append(decision)
        floor = decision.floor
    memory = runtime.scalers[KEY]
    assert simulated.state == planning.PlannerState(memory.desired_history, memory.calibration)
    floors = [d.floor for d in decisions]
    # The run exercises every rule: a rise at once, a held fall, a limited fall.
    assert max(floors) >= 20 and floors[-1] < max(floors) / 2
    assert any("stabilization" in d.reason for d in decisions)
    assert any("limited" in d.reason for d in decisions)
    assert any("calibration" in d.reason for d in decisions) is calibrate
    if calibrate:
        assert len(memory.calibration.ratios) > len(RECORD.ratios)  # windows of this run were scored


def test_the_step_is_the_only_way_into_the_planner(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both callers reach the planner through ``planning.step`` alone, and name none of its parts."""
    calls: list[str] = []
    step = planning.step

    def counted(*args: Any) -> Any:
        calls.append(sys._getframe(1).f_globals["__name__"])
        return step(*args)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a caller used the planner around planning.step")

    monkeypatch.setattr(planning, "step", counted)
    for name in ("decide", "record_desired", "lead_window", "CurrentState"):
        monkeypatch.setattr(planning, name, forbidden)
    test_the_simulator_decides_as_the_handler(calibrate=True)
    simulator = sys.modules[ForesightPolicy.__module__]
    assert set(calls) == {ps.__name__, simulator.__name__}
    # The calibration record is only handed through: its methods are the step's to call.
    parts = {"decide", "record_desired", "lead_window", "observe_grid", "expect", "factor"}
    for module in (ps, simulator):
        tree = ast.parse(inspect.getsource(module))
        used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        assert not used & parts, f"{module.__name__} calls {used & parts} itself"
