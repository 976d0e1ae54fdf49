"""``foresight train --exclude``: whole sources leave the mix, their files are never opened."""

from __future__ import annotations

import pathlib
import shutil

import pytest
import typer

from foresight.commands import train
from foresight.forecasting import Series, datasets

DATA = pathlib.Path(__file__).parents[1] / "forecasting" / "data"


def test_nothing_excluded_keeps_the_mix_bit_for_bit() -> None:
    # Not even divided by its sum: the shipped training command must draw the same windows.
    assert train.training_mix() == train.TRAINING_MIX
    assert [share for *_, share, _ in train.training_mix()] == [e[2] for e in train.TRAINING_MIX]


@pytest.mark.parametrize("source", list(train.SOURCE_PREFIXES))
def test_excluding_a_source_drops_all_its_files_and_renormalises(source: str) -> None:
    mix = train.training_mix([source])
    kept = [e for e in train.TRAINING_MIX if train.source_of(e[0]) != source]
    assert [e[0] for e in mix] == [e[0] for e in kept]  # every other file, in order
    assert all(train.source_of(file) != source for file, *_ in mix)
    assert sum(share for *_, share, _ in mix) == pytest.approx(1.0)
    total = sum(e[2] for e in kept)
    assert [e[2] for e in mix] == pytest.approx([e[2] / total for e in kept])  # same proportions


def test_every_file_of_the_mix_has_a_source_and_alibaba_is_one_source() -> None:
    sources = [train.source_of(file) for file, *_ in train.TRAINING_MIX]
    assert set(sources) == set(train.SOURCE_PREFIXES)
    assert sources.count("alibaba") == 3 and sources.count("azure-v1") == 4


def test_unknown_or_all_sources_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        train.training_mix(["alibaba2018"])
    with pytest.raises(ValueError, match="nothing to train on"):
        train.training_mix(list(train.SOURCE_PREFIXES))


def test_excluded_files_are_never_read(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The nasa entry points at a file that does not exist: reading it would raise.
    shutil.copy(DATA / "azure_v2_cpu_usage_test_tail_300s.csv", tmp_path / "azure_v2_tail.csv")
    mix: list[train.MixEntry] = [
        ("nasa_http_missing.csv", ["value"], 0.6, []),
        ("azure_v2_tail.csv", ["cpu_usage"], 0.4, []),
    ]
    monkeypatch.setattr(train, "TRAINING_MIX", mix)
    read: list[str] = []
    real_read = datasets.read_trace

    def spy(path: pathlib.Path, *args: object, **kwargs: object) -> list[Series]:
        read.append(pathlib.Path(path).name)
        return real_read(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(datasets, "read_trace", spy)
    series, weights, manifest = train.load_training_series(tmp_path, exclude=["nasa"])
    assert read == ["azure_v2_tail.csv"]
    assert [m["file"] for m in manifest] == ["azure_v2_tail.csv"] and manifest[0]["share"] == 1.0
    assert weights == [1.0] and len(series) == 1
    with pytest.raises(FileNotFoundError):  # the check above can fail: without --exclude it is read
        train.load_training_series(tmp_path)


def test_a_fold_model_cannot_replace_the_shipped_one() -> None:
    with pytest.raises(typer.BadParameter, match="--out"):
        train.train(exclude=["nasa"])
    with pytest.raises(typer.BadParameter, match="unknown source"):
        train.train(exclude=["alibaba2018"], out=pathlib.Path("unused"))
