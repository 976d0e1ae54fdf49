"""``foresight train-disk-health`` / ``evaluate-disk-health`` on small synthetic start-stop frames."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from foresight.cli import app
from foresight.commands import disk_health as dh
from foresight.planning import disk_health
from foresight.planning.disk_health import DiskHealthModel, SmartReadings

DAY = 24  # the data's clock is power-on hours


def drive_rows(
    serial: str, pieces: list[tuple[int, int, dict[int, float]]], failed: bool
) -> list[dict[str, object]]:
    """Start-stop rows of one drive: ``(tstart, tstop, {attribute: raw value})`` in power-on hours."""
    rows = []
    for i, (start, stop, values) in enumerate(pieces):
        row: dict[str, object] = {"serial_number": serial, "tstart": start, "tstop": stop}
        row["fails"] = float(failed and i == len(pieces) - 1)
        row |= {f"smart_{k}": values.get(k, 0.0) for k in disk_health.ATTRIBUTES}
        rows.append(row)
    return rows


def fleet(n: int = 360, seed: int = 0) -> pd.DataFrame:
    """Every third drive fails 100 days in, its reallocated count rising over its last two weeks; a
    third keeps a steady non-zero count and never fails; the rest stay clean."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    for i in range(n):
        end = int(rng.integers(100, 160)) * DAY
        if i % 3 == 0:
            pieces = [
                (0, end - 14 * DAY, {12: 5.0}),
                (end - 14 * DAY, end - 4 * DAY, {5: 8.0, 12: 5.0}),
                (end - 4 * DAY, end, {5: 64.0, 197: 8.0, 12: 6.0}),
            ]
            rows += drive_rows(f"F{i:04d}", pieces, failed=True)
        elif i % 3 == 1:
            rows += drive_rows(f"S{i:04d}", [(0, end, {5: 24.0, 12: 5.0})], failed=False)
        else:
            rows += drive_rows(f"C{i:04d}", [(0, end, {12: 5.0})], failed=False)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def trained() -> DiskHealthModel:
    return dh.train_model(fleet(), alphas=(1e-3,))


def test_segments_cut_at_changes_windows_and_labels() -> None:
    rows = pd.DataFrame(
        drive_rows("A", [(0, 10 * DAY, {}), (10 * DAY, 20 * DAY, {5: 3.0})], failed=True)
        + drive_rows("B", [(0, 20 * DAY, {})], failed=False)
    )
    seg = dh.build_segments(rows, horizons_days=(1, 7))
    a = seg.drive == 0
    # value change at 10 d; it leaves the 1-day window at 11 d and the 7-day one at 17 d; labels flip
    # 1 and 7 days before the failure at 20 d (the 30-day window reaches past the record's end)
    assert (seg.start[a] / DAY).tolist() == [0, 10, 11, 13, 17, 19]
    assert (seg.end[a] / DAY).tolist() == [10, 11, 13, 17, 19, 20]
    assert seg.days[a].sum() == pytest.approx(20) and seg.days[~a].sum() == pytest.approx(20)
    col = disk_health.ATTRIBUTES.index(5)
    assert seg.current[a][:, col].tolist() == [0, 3, 3, 3, 3, 3]
    assert seg.past[1][a][:, col].tolist() == [0, 0, 3, 3, 3, 3]
    assert seg.past[7][a][:, col].tolist() == [0, 0, 0, 0, 3, 3]
    assert seg.past[30][a][:, col].tolist() == [0] * 6  # before the record: the first reading
    assert seg.fails_within(1)[a].tolist() == [False] * 5 + [True]
    assert seg.fails_within(7)[a].tolist() == [False] * 3 + [True] * 3
    assert seg.scorable(7)[a].all()  # a failed drive's labels are all known
    b_end = seg.end[~a]
    assert seg.scorable(7)[~a].tolist() == (b_end <= 13 * DAY).tolist()  # censored: the last 7 d unknown
    with pytest.raises(ValueError, match="cut for horizons"):
        seg.fails_within(30)  # labels would straddle segments


def test_the_split_never_shares_a_drive() -> None:
    rows = fleet(300)
    seg = dh.build_segments(rows)
    per_segment = pd.DataFrame({"serial": seg.serials[seg.drive], "split": seg.split()})
    assert per_segment.groupby("serial")["split"].nunique().max() == 1
    assert set(per_segment["split"]) == {"train", "validation", "test"}
    assert (dh._row_splits(rows) == rows["serial_number"].map(dh.split_of)).all()
    shares = per_segment.drop_duplicates("serial")["split"].value_counts(normalize=True)
    assert shares["train"] > shares["test"] > shares["validation"] > 0.1


def test_training_learns_that_a_rising_count_precedes_failure(trained: DiskHealthModel) -> None:
    steady = SmartReadings({5: 24.0, 12: 5.0}, {w: {5: 24.0, 12: 5.0} for w in (1, 7, 30)})
    before = {1: {5: 8.0, 12: 5.0}, 7: {5: 8.0, 12: 5.0}, 30: {5: 0.0, 12: 5.0}}
    rising = SmartReadings({5: 64.0, 197: 8.0, 12: 6.0}, {w: v | {197: 0.0} for w, v in before.items()})
    clean = SmartReadings({12: 5.0})
    for horizon in (1, 7, 30):
        p = trained.failure_probabilities([clean, steady, rising], horizon)
        assert p[2] > 10 * max(p[0], p[1])
    assert trained.details["counts"]["train"]["failures"] > 0
    assert "test" not in trained.details["counts"]


def test_operating_point_comes_from_validation_never_from_test(trained: DiskHealthModel) -> None:
    rows = fleet()
    split = dh._row_splits(rows)

    def comparable(model: DiskHealthModel) -> str:
        body = model.to_json()
        body["details"] = {k: v for k, v in body["details"].items() if k != "training_seconds"}
        return json.dumps(body, sort_keys=True)

    # Test drives scrambled (failures moved to clean drives) or gone: not one number changes.
    scrambled = rows.copy()
    test_rows = split == "test"
    scrambled.loc[test_rows, "fails"] = 1.0 - scrambled.loc[test_rows, "fails"]
    scrambled.loc[test_rows, "smart_5"] = 1000.0
    assert comparable(dh.train_model(scrambled, alphas=(1e-3,))) == comparable(trained)
    assert comparable(dh.train_model(rows[~test_rows], alphas=(1e-3,))) == comparable(trained)

    # Validation drives changed (failing drives whose last days look clean): the thresholds move.
    changed = rows.copy()
    quiet = (split == "validation") & changed["serial_number"].str.startswith("F")
    quiet &= changed["fails"] > 0
    changed.loc[quiet, ["smart_5", "smart_197"]] = 0.0
    other = dh.train_model(changed, alphas=(1e-3,))
    assert other.coefficients == trained.coefficients  # the fit saw only train drives
    assert other.operating_points != trained.operating_points


def test_alarm_score_by_hand() -> None:
    rows = pd.DataFrame(
        # A fails at 40 d with an alarm (5 > 0) over its last 10 d; B, watched 100 d, alarms on 20..40 d
        drive_rows("A", [(0, 30 * DAY, {}), (30 * DAY, 40 * DAY, {5: 1.0})], failed=True)
        + drive_rows(
            "B", [(0, 20 * DAY, {}), (20 * DAY, 40 * DAY, {5: 1.0}), (40 * DAY, 100 * DAY, {})], False
        )
    )
    seg = dh.build_segments(rows, horizons_days=(5, 30))
    score = dh.alarm_score(seg, seg.flag().astype(float), 30, 0.5, "flag")
    # scorable: all 40 d of A, the first 70 d of B; positive: A's last 30 d
    assert score.drive_days == pytest.approx(110)
    assert score.base_rate == pytest.approx(30 / 110)
    assert score.alarm_share == pytest.approx(30 / 110)
    assert score.precision == pytest.approx(10 / 30)
    assert (score.recall, score.caught, score.failures) == (1.0, 1, 1)
    assert score.lead_days_median == pytest.approx(10)
    later = dh.alarm_score(seg, seg.flag().astype(float), 5, 0.5, "flag")
    assert later.lead_days_median == pytest.approx(10)  # the alarm run began 10 d before, not 5


def test_best_f1_threshold_matches_brute_force() -> None:
    seg = dh.build_segments(fleet(90, seed=3), horizons_days=(7,))
    y = seg.fails_within(7)
    last = np.r_[seg.drive[1:] != seg.drive[:-1], True]
    steady = np.array([s.startswith("S") for s in seg.serials])[seg.drive]
    cases = {
        "random": np.random.default_rng(1).random(len(y)) * np.where(y, 1.0, 0.6),
        # Every failure peaks at 0.9 on its last day, but steady drives sit above that: the best
        # threshold is 0.5, below every failure's peak, where the rest of their last week is alarmed.
        "between peaks": np.select([y & last, y, steady], [0.9, 0.5, 0.95], 0.1),
    }
    for name, p in cases.items():
        chosen = dh.max_f1_threshold(seg, p, 7)
        brute = max(dh.alarm_score(seg, p, 7, t, "x").f1 for t in np.unique(p))
        assert dh.alarm_score(seg, p, 7, chosen, "x").f1 == pytest.approx(brute), name
    assert dh.max_f1_threshold(seg, cases["between peaks"], 7) == 0.5


def test_budget_threshold_alarms_the_share_asked() -> None:
    seg = dh.build_segments(fleet(90, seed=4), horizons_days=(7,))
    p = np.random.default_rng(2).random(len(seg.drive))
    for share in (0.05, 0.3):
        got = dh.alarm_score(seg, p, 7, dh.budget_threshold(seg, p, 7, share), "x").alarm_share
        assert share <= got < share + 0.1


def test_calibration_bins_add_up_to_the_whole() -> None:
    rng = np.random.default_rng(5)
    p, w = rng.random(500) ** 4, rng.random(500) * 10
    y = rng.random(500) < p
    rows = dh.calibration_table(p, y, w, np.arange(500))
    assert sum(r["drive_days"] for r in rows) == pytest.approx(w.sum())
    assert sum(r["observed"] * r["drive_days"] for r in rows) == pytest.approx(np.sum(w * y))
    assert all(r["low"] <= r["predicted"] < r["high"] for r in rows)
    assert dh.brier_score(y.astype(float), y, w) == 0.0


def test_commands_write_model_card_and_report(tmp_path: pathlib.Path) -> None:
    rows = fleet(240, seed=6)
    folder = tmp_path / "failures" / "backblaze_2013_2016"
    folder.mkdir(parents=True)
    half = len(rows) // 2
    for name, part in zip(dh.BACKBLAZE_FILES, (rows.iloc[:half], rows.iloc[half:]), strict=True):
        part.to_csv(tmp_path / "failures" / name, index=False)
    out, markdown = tmp_path / "model", tmp_path / "eval.md"
    runner = CliRunner()
    trained = runner.invoke(
        app,
        [
            "train-disk-health",
            "--datasets",
            str(tmp_path / "failures"),
            "--out",
            str(out),
            "--alpha",
            "0.001",
        ],
    )
    assert trained.exit_code == 0, trained.output
    evaluated = runner.invoke(
        app,
        [
            "evaluate-disk-health",
            "--datasets",
            str(tmp_path / "failures"),
            "--model",
            str(out),
            "--markdown",
            str(markdown),
        ],
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert (out / "model.json").stat().st_size < 200_000
    card = (out / "MODEL_CARD.md").read_text()
    assert card.index("## Held-out scores") < card.index("## Data") < card.index("## Training")
    assert 'smartctl_device_attribute{attribute_id="197",attribute_value_type="raw"}' in card
    assert "Licence" in card and "--alpha 0.001" in card
    report = markdown.read_text()
    for heading in ("## Precision, recall and lead", "## Brier score", "## Calibration", "cannot show"):
        assert heading in report
    evaluation = json.loads((out / "evaluation.json").read_text())
    test_drives = {s for s in rows["serial_number"] if dh.split_of(s) == "test"}
    assert evaluation["test"]["drives"] == len(test_drives)
