"""The benchmark's protocol: cadences, unseen models, frontier arithmetic, extreme quantiles, the contract."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import pathlib
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer

from foresight import forecasting, planning
from foresight.commands import bench as bench_command
from foresight.simulation import (
    BenchConfig,
    ClusterConfig,
    ForesightPolicy,
    OraclePolicy,
    Trace,
    Workload,
    _bench,
    build_forecast_bank,
    cost_metrics,
    demand_on_grid,
    frontier_at,
    frontier_ratio,
    least_replica_hours,
    model_exposure,
    quantile_sizing,
    run_benchmark,
    simulate,
    slo_crossing,
)

START = pd.Timestamp("2024-01-01", tz="UTC")
STEP = 300


def _trace(days: int = 10, seed: int = 0) -> Trace:
    """Five-minute load with a daily cycle, noise and a few fast surges."""
    rng = np.random.default_rng(seed)
    n = days * 86400 // STEP
    k = np.arange(n)
    values = 100 + 60 * np.sin(2 * np.pi * k / 288) + rng.normal(0, 6, n)
    for start in rng.integers(288, n - 12, size=days):
        values[start : start + 6] += np.linspace(0, 80, 6)
        values[start + 6 : start + 12] += 80
    return Trace("synthetic", np.maximum(values, 1.0), START, STEP)


class _Counting(forecasting.BaseForecaster):
    """Persistence with a spread; counts the histories it was asked to forecast."""

    name = "counting"

    def __init__(self) -> None:
        self.histories = 0

    def _sample_batch(
        self, series: list[forecasting.Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        self.histories += len(series)
        rng = np.random.default_rng(seed)
        last = np.array([s.values[np.isfinite(s.values)][-1] for s in series])
        noise = rng.normal(1.0, 0.1, (len(series), n_samples, horizon_steps))
        return last[:, None, None] * noise


CONFIG = BenchConfig(eval_days=0.5, n_samples=40, quantiles=(0.5, 0.9, 0.99), hpa_targets=(0.5, 0.7, 0.9))


@pytest.fixture(scope="module")
def result() -> Any:
    forecaster = _Counting()
    out = run_benchmark(_trace(), CONFIG, forecaster=forecaster)
    out.forecaster = forecaster  # type: ignore[attr-defined]
    return out


def test_summary_keeps_its_contract_and_adds_the_new_figures(result: Any) -> None:
    data = result.to_json()
    summary = data["summary"]
    for key in ("under_provisioned_ratio_vs_hpa", "replica_hours_vs_oracle", "replica_hours_at_slo_vs_hpa"):
        assert key in summary
    assert "gap_closed" in summary and "gap_closed" in summary["deprecated"]  # kept, no longer a target
    if summary["under_provisioned_ratio_vs_hpa"] is not None:
        assert summary["gap_closed"] == pytest.approx(1 - summary["under_provisioned_ratio_vs_hpa"])
    assert summary["seconds"] > 0 and summary["model_unseen"] is True
    assert data["model_exposure"].startswith("counting: untrained")
    assert set(summary["frontier_ratio"]) == {"hpa", "holt-winters", "fft"}
    assert summary["frontier_ratio_vs_hpa"] == summary["frontier_ratio"]["hpa"]
    for family in ("hpa", "holt-winters", "fft", "foresight"):  # a flag for every policy
        assert isinstance(summary[f"{family}_interpolation_extrapolated"], bool)
        assert isinstance(summary["replica_hours_at_slo_bracketed"][family], bool)
    for table in ("equal_replica_hours", "at_slo"):
        assert set(data["seed_terms"][table]) <= {"hpa", "foresight", "oracle"}
        assert "oracle" in data["seed_terms"][table]
        for row in data["seed_terms"][table].values():
            for key in ("latency_p50_ms_high_traffic", "latency_p99_ms_high_traffic", "peak_throughput"):
                assert key in row
            for key in ("cpu_utilization_pct", "under_provisioned_minutes", "replica_hours"):
                assert key in row


def test_foresight_forecasts_once_per_history_point(result: Any) -> None:
    """The operator's cadence: a forecast for every new reading (here every 5 minutes), none skipped."""
    protocol = result.to_json()["protocol"]
    assert protocol["forecast_every_seconds"] == {"foresight": 300, "holt-winters": 300, "fft": 43200}
    assert protocol["reconcile_seconds"] == 30 and protocol["lead_window_seconds"] == 300
    steps = math.ceil(len(result.workload) * result.workload.tick_seconds / STEP)
    assert result.forecaster.histories == steps  # once per origin, shared by every quantile swept


def test_foresight_decides_at_every_reconcile(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = _trace(days=4)
    load = Workload(demand_on_grid(trace, 15, 288 * 3, 288 * 3 + 48), trace.time_of(288 * 3), 15)
    bank = build_forecast_bank(trace, 288 * 3, 48 * STEP, "counting", 60, 1800, 10, forecaster=_Counting())
    calls = []
    step = planning.step

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[4])  # now
        return step(*args, **kwargs)

    monkeypatch.setattr(planning, "step", counting)
    cluster = ClusterConfig(capacity_per_replica=10, tick_seconds=15, reconcile_seconds=30)
    simulate(ForesightPolicy(bank), load, cluster, initial_replicas=10)
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(calls)}
    assert gaps == {30.0} and len(calls) == len(load) // 2 + 1


def test_results_do_not_depend_on_jobs() -> None:
    config = BenchConfig(eval_days=0.25, n_samples=20, quantiles=(0.9, 0.99), hpa_targets=(0.6, 0.8))
    one = run_benchmark(_trace(), config, forecaster=_Counting()).to_json()
    parallel = BenchConfig(**{**config.__dict__, "jobs": 2})
    two = run_benchmark(_trace(), parallel, forecaster=_Counting()).to_json()
    for data in (one, two):
        data["summary"].pop("seconds")
        data["protocol"].pop("jobs")
    assert one == two


def test_the_sweep_is_extended_until_the_slo_crossing_is_bracketed() -> None:
    """HPA at targets 0.9 and 1.0 misses the SLO: lower targets are swept until one holds it."""
    config = BenchConfig(eval_days=1.0, policies=("hpa", "oracle"), hpa_targets=(0.9, 1.0))
    out = run_benchmark(_trace(), config)
    points = out.frontier["hpa"]
    assert len(points) > 2
    assert min(p["target_utilization"] for p in points) < 0.9
    assert out.summary["replica_hours_at_slo_bracketed"]["hpa"] is True
    assert any(p["under_provisioned_pct"] <= 0.1 for p in points)
    assert any(p["under_provisioned_pct"] > 0.1 for p in points)


def test_direction_of_the_extension() -> None:
    def pts(*ys: float) -> list[dict[str, float]]:
        return [{"replica_hours": 10.0 * (i + 1), "under_provisioned_pct": y} for i, y in enumerate(ys)]

    assert _bench._direction(pts(0.05, 0.01), None) is False  # the cheapest holds it: go cheaper
    assert _bench._direction(pts(3.0, 0.5), None) is True  # none holds it: more replicas
    assert _bench._direction(pts(3.0, 0.05), None) is None
    assert _bench._direction(pts(3.0, 0.05), 35.0) is True  # Foresight's cost is beyond the frontier
    assert _bench._next_knob("hpa", [0.4, 0.7], True, BenchConfig()) == 0.3
    assert _bench._next_knob("foresight", [0.7, 0.99], False, BenchConfig()) == 0.5
    assert _bench._next_knob("foresight", [0.9, 0.998], True, BenchConfig()) is None  # nothing resolvable


def test_frontier_is_log_linear_between_points() -> None:
    """On a convex frontier (violation falling exponentially with cost) linear interpolation overstates it."""
    points = [{"replica_hours": x, "under_provisioned_pct": 10 * math.exp(-x / 10)} for x in (10.0, 30.0)]
    value, outside = frontier_at(points, 20.0)
    assert value == pytest.approx(10 * math.exp(-2)) and not outside
    hours, bracketed = slo_crossing(points, 10 * math.exp(-2.5))
    assert hours == pytest.approx(25.0) and bracketed
    assert slo_crossing(points, 5.0) == (10.0, False)  # only an upper bound: the cheapest point holds it


def test_frontier_ratio_judges_the_whole_frontier_not_the_default_point() -> None:
    """A frontier that dips at one cost is credited with the dip only where it has it."""

    def pts(*pairs: tuple[float, float]) -> list[dict[str, float]]:
        return [{"replica_hours": x, "under_provisioned_pct": y} for x, y in pairs]

    hpa = pts((10.0, 1.0), (20.0, 0.1), (40.0, 0.01))
    # HPA's under-provisioned time times 1 at 10 replica-hours, 0.1 at 20 and 0.5 at 40.
    dip = pts((10.0, 1.0), (20.0, 0.01), (40.0, 0.005))
    assert frontier_at(dip, 20.0)[0] / frontier_at(hpa, 20.0)[0] == pytest.approx(0.1)
    ratio, low, high = frontier_ratio(dip, hpa, resolution_pct=0.001)
    assert (low, high) == (10.0, 40.0) and 0.1 < ratio < 0.6
    # Uniformly half of HPA's everywhere: exactly 0.5, wherever the default sits.
    half = pts(*((p["replica_hours"], p["under_provisioned_pct"] / 2) for p in hpa))
    assert frontier_ratio(half, hpa, resolution_pct=0.001)[0] == pytest.approx(0.5)
    # Only the stretch both reach counts; none shared is NaN, not a number made up by extrapolation.
    assert frontier_ratio(pts((30.0, 0.5), (50.0, 0.05)), hpa, 0.001)[1:] == (30.0, 40.0)
    assert math.isnan(frontier_ratio(pts((50.0, 0.05), (60.0, 0.01)), hpa, 0.001)[0])
    # A frontier that reaches 0 counts as one tick's worth, so the ratio stays finite; it holds 0 up to
    # its dearest setting (40 replica-hours), where HPA needs 0.01 %: ten ticks' worth.
    zero = pts((10.0, 0.5), (20.0, 0.0), (40.0, 0.0))
    ratio, low, high = frontier_ratio(zero, hpa, resolution_pct=0.001)
    assert math.isfinite(ratio) and ratio < 0.5 and (low, high) == (10.0, 40.0)


def test_no_run_holds_the_slo_below_the_least_possible_replica_hours(result: Any) -> None:
    """The bound is below every swept point that holds the SLO, and tight where start-ups are free."""
    summary = result.summary
    least = summary["replica_hours_at_slo_least"]
    holding = [
        p["replica_hours"]
        for points in result.frontier.values()
        for p in points
        if p["under_provisioned_pct"] <= _bench.SLO_UNDER_PROVISIONED_PCT
    ]
    assert holding and 0 < least <= min(holding)
    assert least < result.metrics["oracle"]["replica_hours"]  # the oracle pays start-ups; the bound does not
    assert summary["replica_hours_at_slo_least_vs_hpa"] == pytest.approx(
        least / summary["replica_hours_at_slo"]["hpa"]
    )
    # HPA holds the SLO at 200 replica-hours, Foresight at 160, the oracle at 120: half the excess saved.
    frontier = {
        "hpa": [
            {"replica_hours": 200.0, "under_provisioned_pct": 0.1},
            {"replica_hours": 150, "under_provisioned_pct": 2.0},
        ],
        "foresight": [{"replica_hours": 160.0, "under_provisioned_pct": 0.1}],
        "oracle": [{"replica_hours": 120.0, "under_provisioned_pct": 0.0}],
    }
    made = _bench._summary(CONFIG, {}, frontier, 0.001, least_hours=110.0)
    assert (made["replica_hours_at_slo_least_vs_hpa"], made["slo_excess_saved"]) == (0.55, 0.5)
    assert math.isnan(
        _bench._summary(CONFIG, {}, {**frontier, "foresight": []}, 0.001, 110.0)["slo_excess_saved"]
    )
    # With instant start-ups the oracle pays exactly each tick's need: the bound at 0 % is its cost, and at
    # 0.1 % it lets go of no more than the busiest 0.1 % of ticks.
    load = result.workload
    cluster = ClusterConfig(
        capacity_per_replica=result.capacity_per_replica, startup_seconds=0, tick_seconds=load.tick_seconds
    )
    oracle = cost_metrics(simulate(OraclePolicy(), load, cluster, 1), load, result.capacity_per_replica)
    exact = least_replica_hours(load, result.capacity_per_replica, 1, 0.0)
    assert oracle["under_provisioned_pct"] == 0 and oracle["replica_hours"] == pytest.approx(exact)
    ticks = int(np.isfinite(load.demand).sum())
    lost = exact - least_replica_hours(load, result.capacity_per_replica, 1, 0.1)
    peak = float(np.nanmax(load.demand)) / result.capacity_per_replica
    assert 0 < lost <= math.floor(ticks / 1000) * math.ceil(peak) * load.tick_seconds / 3600


def test_extreme_quantiles_are_not_read_off_a_few_paths() -> None:
    config = BenchConfig()
    assert [quantile_sizing(q, config) for q in (0.9, 0.95, 0.99, 0.995, 0.999)] == [
        "samples", "samples", "calibration", "calibration", "unresolved",
    ]  # fmt: skip
    assert quantile_sizing(0.99, BenchConfig(n_samples=1000)) == "samples"
    # The planner's own calibration sizes such a point, and an unresolved one never shapes a frontier.
    ctx = _bench._Context(
        _trace(), config, ClusterConfig(capacity_per_replica=1), None, None, 1.0, 0,  # type: ignore[arg-type]
        banks={"foresight": None},  # type: ignore[dict-item]
    )  # fmt: skip
    # ... as a target miss rate on the default quantile's peak (spec.scaling.targetMissRate).
    extreme = _bench._policy("foresight", ctx, 0.99)
    assert (extreme.quantile, extreme.target_miss_rate) == (0.9, pytest.approx(0.01))  # type: ignore[attr-defined]
    plain = _bench._policy("foresight", ctx, 0.9)
    assert (plain.quantile, plain.target_miss_rate, plain.calibrate) == (0.9, None, False)  # type: ignore[attr-defined]
    # With --calibrate every quantile is calibrated at its own level, as before.
    ctx.config = BenchConfig(calibrate=True)
    assert _bench._policy("foresight", ctx, 0.99).calibrate is True  # type: ignore[attr-defined]
    points = [
        {"quantile": 0.9, "replica_hours": 10.0, "under_provisioned_pct": 1.0, "sized_by": "samples"},
        {"quantile": 0.999, "replica_hours": 11.0, "under_provisioned_pct": 0.0, "sized_by": "unresolved"},
    ]
    assert slo_crossing(points, 0.1) == (math.nan, False) or math.isnan(slo_crossing(points, 0.1)[0])


class _Trained(forecasting.BaseForecaster):
    name = "deepar"

    def __init__(self, info: dict[str, Any]) -> None:
        self.trained = True
        self.training_info = info

    def _sample_batch(
        self, series: list[forecasting.Series], horizon_steps: int, n_samples: int, seed: int
    ) -> Any:
        raise NotImplementedError


def _source(file: str) -> str:
    return file.split("_")[0]


def test_a_model_that_trained_on_the_scored_window_is_in_sample() -> None:
    info = {"data": [{"file": "nasa_http.csv"}, {"file": "google_x.csv"}], "test_fraction": 0.2}
    seen = model_exposure(_Trained(info), "nasa", 0.1, _source)
    assert not seen.unseen and "IN-SAMPLE" in seen.note
    assert model_exposure(_Trained(info), "nasa", 0.85, _source).unseen  # trained before the window
    held_out = {"data": [{"file": "google_x.csv"}], "excluded_sources": ["nasa"], "test_fraction": 0.2}
    out = model_exposure(_Trained(held_out), "nasa", 0.1, _source)
    assert out.unseen and "leave-one-source-out" in out.note
    assert not model_exposure(_Trained({}), "nasa", 0.1, _source).unseen  # nothing recorded: assume seen
    assert model_exposure(forecasting.get("naive"), "nasa", 0.1, _source).unseen


def test_bench_refuses_a_model_that_saw_the_trace() -> None:
    trace = _trace()
    path = pathlib.Path("nasa_http_1995_requests_per_minute.csv")
    shipped_like = _Trained({"data": [{"file": path.name}], "test_fraction": 0.2})
    with pytest.raises(typer.BadParameter, match="foresight train --exclude nasa"):
        bench_command._check_unseen(path, trace, BenchConfig(), shipped_like, allow_seen=False)
    labelled = bench_command._check_unseen(path, trace, BenchConfig(), shipped_like, allow_seen=True)
    assert not labelled.unseen
    own = pathlib.Path("my_service.csv")  # a workload of one's own: not in any training mix
    assert bench_command._check_unseen(own, trace, BenchConfig(), shipped_like, allow_seen=False).unseen


def test_report_prints_the_seed_table_and_every_flag(result: Any, tmp_path: Any) -> None:
    from foresight.simulation import report

    section = report.markdown_section(result, None)
    assert "| at equal replica-hours | setting |" in section
    assert "| at the SLO (≤ 0.1 %) | setting |" in section
    assert "gap closed" not in section and "gap_closed" not in report.TARGETS
    page = report.page([result.to_json()], [section], result.config, 60.0, 2)
    assert "## Protocol" in page and "rate(x[2m])" in page and "| synthetic |" in page
    report.save_plot(result, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 0


def test_bench_command_keeps_its_contract(tmp_path: Any) -> None:
    """`foresight bench --trace X --startup 3m --json F` writes the summary's keys (undefined: null)."""
    from typer.testing import CliRunner

    from foresight.cli import app

    trace = _trace(days=4)
    path = tmp_path / "load.csv"
    stamps = START + pd.to_timedelta(np.arange(len(trace)) * STEP, unit="s")
    pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": trace.values}).to_csv(path)
    out = tmp_path / "out.json"
    args = ["bench", "--trace", str(path), "--startup", "3m", "--json", str(out), "--eval-days", "0.2"]
    runner = CliRunner()
    done = runner.invoke(app, [*args, "--model", "naive", "--jobs", "1", "--no-sweep"])
    assert done.exit_code == 0, done.output
    data = json.loads(out.read_text())
    assert data["startup_seconds"] == 180 and data["model_unseen"] is True
    for key in ("under_provisioned_ratio_vs_hpa", "replica_hours_vs_oracle", "replica_hours_at_slo_vs_hpa"):
        assert key in data["summary"]
    assert "gap_closed" in data["summary"] and data["summary"]["seconds"] > 0
    # --warmup scores later days: the default warm-up is 30 % of this 4-day trace.
    assert data["evaluated"]["start"].startswith("2024-01-02T04:50")  # 28.8 h, up to a whole step
    later = runner.invoke(app, [*args, "--model", "naive", "--jobs", "1", "--no-sweep", "--warmup", "2d"])
    assert later.exit_code == 0, later.output
    assert json.loads(out.read_text())["evaluated"]["start"].startswith("2024-01-03T00:00")


def test_the_page_reports_every_start_up_time(result: Any) -> None:
    import dataclasses

    from foresight.simulation import report

    slow = dataclasses.replace(result.config, startup_seconds=600)
    section = report.markdown_section(result, None)
    slow_json = {**result.to_json(), "trace": "synthetic-slow"}
    page = report.page(
        [result.to_json()], [section], result.config, 60.0, 2, more=[(slow, [slow_json], ["slow detail\n"])]
    )
    first = f"start-up {result.config.startup_seconds} s"
    assert f"## Summary against the targets: {first}" in page
    assert "## Summary against the targets: start-up 600 s" in page
    assert f"## Per trace: {first}" in page and "## Per trace: start-up 600 s\n\nslow detail" in page
    assert "| synthetic-slow |" in page.split("start-up 600 s", 1)[1]
    assert f"a pod start-up time of {result.config.startup_seconds} s, 600 s" in page


def test_the_ablation_replays_each_variant_and_lands_on_the_page() -> None:
    from foresight.simulation import report

    config = BenchConfig(
        eval_days=0.5, n_samples=40, quantiles=(0.9,), hpa_targets=(0.5, 0.7, 0.9), ablation=True,
        max_extra_points=0,
    )  # fmt: skip
    out = run_benchmark(_trace(), config, forecaster=_Counting())
    data = out.to_json()
    assert set(data["ablation"]) == set(_bench.ABLATION)
    for name, row in data["ablation"].items():
        assert row["settings"] == _bench.ABLATION[name]
        assert row["replica_hours"] > 0 and row["under_provisioned_pct"] >= 0
        assert row["replica_hours_vs_oracle"] == pytest.approx(
            row["replica_hours"] / data["policies"]["oracle"]["replica_hours"]
        )
    # Each variant is really the setting it names: the user's HPA (70 %) under the floor costs more than
    # the default's 90 %, and its replay is that policy's own.
    default = data["policies"]["foresight"]
    assert data["ablation"]["user's HPA"]["replica_hours"] > default["replica_hours"]
    policy = _bench._variant_policy(_ctx_for(config), _bench.ABLATION["miss rate 0.01, user's HPA"])
    assert (policy.target_miss_rate, policy.safety_net.target_utilization) == (0.01, config.hpa_target)
    faster = _bench._variant_policy(_ctx_for(config), _bench.ABLATION["scale-down after 60 s, quantile 0.95"])
    assert (faster.stabilization_seconds, faster.quantile) == (60, 0.95)
    assert _bench._variant_policy(_ctx_for(config), {}).stabilization_seconds == 300  # the default's
    page = report.page([data], [""], config, 1.0, 1)
    assert "### Ablation: start-up 180 s" in page
    assert page.count("| synthetic |") == 2  # the summary row and the ablation row
    without = run_benchmark(_trace(), dataclasses.replace(config, ablation=False), forecaster=_Counting())
    assert without.to_json()["ablation"] == {}


def _ctx_for(config: BenchConfig) -> Any:
    return _bench._Context(
        _trace(), config, ClusterConfig(capacity_per_replica=1), None, None, 1.0, 0,  # type: ignore[arg-type]
        banks={"foresight": None},  # type: ignore[dict-item]
    )  # fmt: skip


def test_the_floor_sweep_puts_foresight_over_every_hpa_target_on_its_frontier() -> None:
    config = BenchConfig(
        eval_days=0.5, n_samples=40, quantiles=(0.9,), hpa_targets=(0.5, 0.7, 0.9), floor_sweep=True,
        max_extra_points=0,
    )  # fmt: skip
    data = run_benchmark(_trace(), config, forecaster=_Counting()).to_json()
    floor = [p for p in data["frontier"]["foresight"] if p["quantile"] is None]
    assert sorted(p["safety_net_target"] for p in floor) == [0.5, 0.7, 0.9]
    assert {p["target_miss_rate"] for p in floor} == {0.01} and {p["sized_by"] for p in floor} == {
        "calibration"
    }
    # A lower HPA target under the same floor costs more: each point is the setting it names.
    by_target = {p["safety_net_target"]: p["replica_hours"] for p in floor}
    assert by_target[0.5] > by_target[0.7] > by_target[0.9]
    # The default point is still the quantile one, and the SLO crossing reads the whole frontier.
    assert (
        data["summary"]["foresight_under_provisioned_pct"]
        == data["policies"]["foresight"]["under_provisioned_pct"]
    )
    plain = run_benchmark(
        _trace(), dataclasses.replace(config, floor_sweep=False), forecaster=_Counting()
    ).to_json()
    assert all(p["quantile"] is not None for p in plain["frontier"]["foresight"])
    # A frontier over more settings holds the SLO at least as cheaply (None: never reached).
    wider, narrower = (d["summary"]["replica_hours_at_slo"]["foresight"] for d in (data, plain))
    assert narrower is None or (wider is not None and wider <= narrower)


def test_ablation_variants_that_are_floor_points_are_replayed_once_with_the_same_figures() -> None:
    config = BenchConfig(
        eval_days=0.5, n_samples=40, quantiles=(0.9,), hpa_targets=(0.5, 0.7, 0.9), ablation=True,
        max_extra_points=0,
    )  # fmt: skip
    alone = run_benchmark(_trace(), config, forecaster=_Counting()).to_json()["ablation"]
    both = run_benchmark(_trace(), dataclasses.replace(config, floor_sweep=True), forecaster=_Counting())
    shared = both.to_json()["ablation"]
    assert list(shared) == list(_bench.ABLATION)  # in the variants' order
    for name in ("miss rate 0.01", "miss rate 0.01, user's HPA"):  # the floor over 0.9 and over 0.7
        for key in ("under_provisioned_pct", "replica_hours", "under_provisioned_ratio_vs_hpa"):
            assert shared[name][key] == pytest.approx(alone[name][key]), (name, key)
