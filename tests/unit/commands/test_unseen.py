"""``foresight evaluate-unseen``: no fold is scored on a source it trained on; scores are evaluate's."""

from __future__ import annotations

import json
import pathlib
import shutil
from typing import Any

import pytest
from rich.console import Console

from foresight import forecasting
from foresight.commands import evaluate, train, unseen
from foresight.commands.unseen import EvalTrace

DATA = pathlib.Path(__file__).parents[1] / "forecasting" / "data"
SHIPPED = pathlib.Path(__file__).parents[3] / "models" / "deepar-v1"


def test_every_fold_scores_only_sources_it_did_not_train_on() -> None:
    folds = unseen.plan_folds()
    assert [f.held_out for f in folds] == list(train.SOURCE_PREFIXES)
    for fold in folds:
        trained = {train.source_of(file) for file, *_ in train.training_mix([fold.held_out])}
        assert trained == set(fold.train_sources) and fold.held_out not in trained
        assert fold.traces and {t.source for t in fold.traces} == {fold.held_out}
    scored = [t for f in folds for t in f.traces]
    assert sorted(scored, key=str) == sorted(unseen.EVAL_TRACES, key=str)  # each trace exactly once


def test_the_leak_check_can_fail(tmp_path: pathlib.Path) -> None:
    # Another resolution of the same workload is a leak too.
    alibaba_10s = EvalTrace("alibaba2018_cluster_mean_10s.csv.gz", "a")
    assert unseen.leaks(["alibaba2018_cluster_mean_30s.csv", "nasa_http_x.csv"], [alibaba_10s]) == [
        "alibaba2018_cluster_mean_30s.csv"
    ]
    # A cached artifact that trained on the held-out source is refused, not scored.
    from foresight.forecasting import deepar

    stale = deepar.DeepAR(max_steps=1, batch_size=8, hidden_size=8, context_length=24)
    stale.training_info = {
        "data": [{"file": "nasa_http_1995_requests_per_minute.csv"}],
        "excluded_sources": [],
    }
    stale.save(tmp_path / "nasa")
    (fold,) = unseen.plan_folds(["nasa"])
    with pytest.raises(RuntimeError, match="trained on its held-out source"):
        unseen.fold_model(fold, tmp_path, deepar.DeepARConfig(), tmp_path / "nasa", Console())


def test_scores_are_those_of_foresight_evaluate(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "evaluate.json"
    evaluate.evaluate(
        trace=DATA / "azure_v2_cpu_usage_test_tail_300s.csv",
        models="analog",
        origins=10,
        samples=20,
        json_out=out,
    )
    expected = json.loads(out.read_text())
    trace = EvalTrace("azure_v2_cpu_usage_test_tail_300s.csv", "azure", origins=10)
    got = unseen.score_trace(trace, DATA, {"analog": forecasting.get("analog")}, samples=20)
    assert got["protocol"] == "leave-one-source-out" and got["held_out_source"] == "azure-v2"
    for key in ("step_seconds", "horizon_steps", "origins", "lead_window", "series"):
        assert got[key] == expected[key]
    for name in ("analog", "naive"):
        mine, theirs = dict(got["models"][name]), dict(expected["models"][name])
        mine.pop("seconds"), theirs.pop("seconds")
        assert mine == theirs


def _tiny_world(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> tuple[pathlib.Path, pathlib.Path]:
    """Two sources of one tiny trace each, and a copy of the shipped artifact."""
    data = tmp_path / "load"
    data.mkdir()
    shutil.copy(DATA / "nasa_http_test_tail_60s.csv", data / "nasa_http_tail.csv")
    shutil.copy(DATA / "azure_v2_cpu_usage_test_tail_300s.csv", data / "azure_v2_tail.csv")
    mix: list[train.MixEntry] = [
        ("nasa_http_tail.csv", ["value"], 0.5, []),
        ("azure_v2_tail.csv", ["cpu_usage"], 0.5, []),
    ]
    monkeypatch.setattr(train, "TRAINING_MIX", mix)
    traces = (
        EvalTrace("nasa_http_tail.csv", "nasa", origins=5),
        EvalTrace("azure_v2_tail.csv", "azure", origins=5),
    )
    monkeypatch.setattr(unseen, "EVAL_TRACES", traces)
    artifact = tmp_path / "deepar-v1"
    artifact.mkdir()
    for name in ("model.pt", "forecaster.json", "training.json"):
        shutil.copy(SHIPPED / name, artifact / name)
    return data, artifact


@pytest.mark.slow
def test_evaluate_unseen_end_to_end_on_two_tiny_sources(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, artifact = _tiny_world(tmp_path, monkeypatch)
    trained: list[tuple[list[str], list[str]]] = []  # (excluded, files read) per training
    real_load = train.load_training_series

    def spy(data: pathlib.Path, exclude: Any = ()) -> Any:
        loaded = real_load(data, exclude)
        trained.append((list(exclude), [str(m["file"]) for m in loaded[2]]))
        return loaded

    monkeypatch.setattr(train, "load_training_series", spy)
    args: dict[str, Any] = {
        "data": data,
        "out": artifact / "eval-unseen",
        "artifact": artifact,
        "cache": tmp_path / "cache",
        "steps": 5,
        "samples": 10,
    }
    unseen.evaluate_unseen(**args)
    assert trained == [(["nasa"], ["azure_v2_tail.csv"]), (["azure-v2"], ["nasa_http_tail.csv"])]
    results = {p.stem: json.loads(p.read_text()) for p in (artifact / "eval-unseen").glob("*.json")}
    assert set(results) == {"nasa", "azure"}
    other = {"nasa": "azure_v2_tail.csv", "azure": "nasa_http_tail.csv"}
    for stem, r in results.items():
        assert r["protocol"] == "leave-one-source-out"
        assert set(r["models"]) == {"deepar-unseen", "analog", "naive", "deepar-in-sample"}
        assert r["fold"]["steps"] == 5 and r["fold"]["shipped_steps"] == 4000
        assert r["fold"]["trained_on_files"] == [other[stem]]
        assert r["models"]["naive"]["crps_vs_naive"] == 1.0
        assert "--steps 5" in r["command"]
    # A rerun finds both folds in the cache: nothing is trained again.
    unseen.evaluate_unseen(**args)
    assert len(trained) == 2
    card = train.render_card(artifact, "foresight train ...")
    never_saw, in_sample = card.index("workloads it never saw"), card.index("## In-sample scores")
    assert never_saw < in_sample
    assert train.IN_SAMPLE_LABEL in card and "**5 steps instead of the shipped 4000**" in card
    assert "CC-BY" in card and "research use" in card and "foresight evaluate-unseen" in card
