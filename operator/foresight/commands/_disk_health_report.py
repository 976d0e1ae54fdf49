"""The disk-health evaluation as Markdown: ``docs/disk-health-eval.md`` and the model card.

Both are rendered from the figures ``foresight evaluate-disk-health`` computes (``evaluation.json``) and the
model's own record of its training (``model.json`` ``details``), so the text never drifts from the numbers.
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Mapping
from typing import Any

from foresight.planning import disk_health
from foresight.planning.disk_health import DiskHealthModel

__all__ = ["render_card", "render_markdown"]

REGENERATE = (
    "foresight train-disk-health --out models/disk-health-v1",
    "foresight evaluate-disk-health --model models/disk-health-v1 --markdown docs/disk-health-eval.md",
)


def pct(x: float | None, digits: int = 1) -> str:
    """A share as a percentage; ``–`` when undefined.

    >>> pct(0.1234), pct(0.000296, 3), pct(float("nan"))
    ('12.3 %', '0.030 %', '–')
    """
    return "–" if x is None or math.isnan(x) else f"{100 * x:.{digits}f} %"


def num(x: float | None, fmt: str = ".3g") -> str:
    return "–" if x is None or math.isnan(x) else format(x, fmt)


def summary(evaluation: Mapping[str, Any]) -> list[str]:
    """The headline, per horizon: the model's default point, the flag, and the model at the flag's cost."""
    lines = []
    for key, h in evaluation["horizons"].items():
        best, same_cost, flag = h["scores"]
        lines.append(
            f"* **{key} d** (base rate {pct(best['base_rate'], 3)} of drive-days): the model alarms on "
            f"{pct(best['alarm_share'], 2)} of drive-days at {pct(best['precision'], 2)} precision "
            f"({num(best['lift'], '.0f')}× the base rate) and catches {pct(best['recall'])} of failures, "
            f"median {num(best['lead_days_median'], '.0f')} d ahead; the flag alarms on "
            f"{pct(flag['alarm_share'], 2)} at {pct(flag['precision'], 2)} and catches "
            f"{pct(flag['recall'])}. "
            f"Alarming as much as the flag, the model catches {pct(same_cost['recall'])} at "
            f"{pct(same_cost['precision'], 2)}."
        )
    return lines


def verdict(evaluation: Mapping[str, Any]) -> str:
    """One sentence on what the model adds over the flag, decided by the figures."""
    gains = [h["scores"][1]["recall"] - h["scores"][2]["recall"] for h in evaluation["horizons"].values()]
    largest = max(abs(g) for g in gains)
    if largest < 0.03:
        return (
            "At the flag's own cost the model catches about as many failures as the flag (within "
            f"{100 * largest:.1f} percentage points): the gain is in ranking, not reach. It picks out the "
            "few drive-days worth draining for, where the flag alarms on every drive with any precursor."
        )
    return (
        "At the flag's own cost the model's recall differs from the flag's by "
        + ", ".join(
            f"{100 * g:+.1f} points at {k} d" for k, g in zip(evaluation["horizons"], gains, strict=True)
        )
        + "."
    )


def scores_table(evaluation: Mapping[str, Any], which: str = "scores") -> list[str]:
    """Precision / recall / lead rows (``which``: ``scores`` or ``sweep``) as Markdown lines."""
    lines = [
        "| horizon | rule | threshold | alarmed drive-days | precision | base rate | lift | recall "
        "(caught/failed) "
        "| median lead (days) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, h in evaluation["horizons"].items():
        for s in h[which]:
            threshold = "–" if s["rule"].startswith("flag") else num(s["threshold"])
            lines.append(
                f"| {key} d | {s['rule']} | {threshold} | {pct(s['alarm_share'], 2)} | "
                f"{pct(s['precision'], 2)} | {pct(s['base_rate'], 3)} | {num(s['lift'], '.1f')}× | "
                f"{pct(s['recall'])} ({s['caught']}/{s['failures']}) | {num(s['lead_days_median'], '.0f')} |"
            )
    return lines


def brier_table(evaluation: Mapping[str, Any]) -> list[str]:
    lines = [
        "| horizon | model | flag as hazard (failure-prior-v1's construction) | base rate only "
        "| model's skill vs base rate |",
        "|---|---|---|---|---|",
    ]
    for key, h in evaluation["horizons"].items():
        b = h["brier"]
        skill = 1 - b["model"] / b["base rate"]
        lines.append(
            f"| {key} d | {b['model']:.4e} | {b['flag hazard']:.4e} | {b['base rate']:.4e} | {pct(skill)} |"
        )
    return lines


def calibration_lines(evaluation: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, h in evaluation["horizons"].items():
        lines += [
            f"**{key} d**",
            "",
            "| predicted p | drive-days | drives | failures | mean predicted | observed | observed / "
            "predicted |",
            "|---|---|---|---|---|---|---|",
        ]
        rows = [(f"{num(r['low'], '.4g')}–{num(r['high'], '.4g')}", r) for r in h["calibration"]["model"]]
        rows += [(f"flag {'off' if r['low'] == 0 else 'on'}", r) for r in h["calibration"]["flag hazard"]]
        for label, r in rows:
            ratio = r["observed"] / r["predicted"] if r["predicted"] > 0 else math.nan
            lines.append(
                f"| {label} | {r['drive_days']:,.0f} | {r['drives']:,} | {r['failures']:,} | "
                f"{r['predicted']:.2e} | {r['observed']:.2e} | {num(ratio, '.2f')} |"
            )
        lines.append("")
    return lines


def cannot_show(evaluation: Mapping[str, Any]) -> list[str]:
    """What the data cannot show, with the share of failures that no precursor announced."""
    longest = list(evaluation["horizons"])[-1]
    h = evaluation["horizons"][longest]
    silent = h["silent_failures"]
    caught = silent["caught"]
    return [
        f"* **{silent['failures']:,} of the {h['scores'][-1]['failures']:,} failed test drives show no "
        f"precursor** (5/187/197/198 all zero) in their last {longest} days. The model catches "
        f"{caught['model, best F1']} of them at its default threshold and {caught['model, flag budget']} at "
        "the flag's budget (from 10/12/188/189/196 and their changes). What little these counters show "
        "before such failures is not enough to act on.",
        *calibration_note(evaluation),
        *_CANNOT_SHOW,
    ]


def calibration_note(evaluation: Mapping[str, Any]) -> list[str]:
    """Where the model's high-probability bins are off by more than a quarter, say so."""
    off = [
        f"{key} d {num(r['low'], '.2g')}–{num(r['high'], '.2g')}: observed/predicted "
        f"{r['observed'] / r['predicted']:.2f} over {r['failures']} failed drives"
        for key, h in evaluation["horizons"].items()
        for r in h["calibration"]["model"]
        if r["low"] >= 0.1 and not 0.75 <= r["observed"] / r["predicted"] <= 1.25
    ]
    if not off:
        return []
    return [
        "* **The top of the scale is not calibrated everywhere** (" + "; ".join(off) + "). Few failed "
        "drives reach there, so the ratios are noisy, but they lean the same way: read a high probability "
        "as a rank more than a rate."
    ]


_CANNOT_SHOW = [
    "* **Drives, not nodes.** A node fails for many reasons besides a drive; these figures say how well a "
    "drive's failure is foreseen, not a node's.",
    "* **One fleet, one era.** 3.5\" hard drives (Seagate, HGST, WDC) in Backblaze's storage pods, "
    "2013-2016. No SSDs or NVMe (whose health counters differ), no other workloads. Base rates, and so "
    "precision, will differ elsewhere; the ranking is what may transfer, and nothing here measures how well.",
    '* **"Failure" is Backblaze\'s decision** to replace a drive (it stopped working, or its counters '
    "crossed Backblaze's own rules), not one physical event. Some failures are *declared* because of the "
    "very "
    "counters the model reads, which flatters any SMART-based predictor.",
    "* **A drive's last reading is from the day it failed.** A counter that jumped that day gives the 1-day "
    "horizon an alarm that an operator might see only hours, not a day, ahead.",
    "* **Daily granularity.** The data hold one reading per drive and day; leads under a day cannot be "
    "measured.",
    "* **No drive model or vendor as a feature**, on purpose (a fleet's mix is its own); the counters still "
    "carry some of it (188 and 189 are reported by Seagate drives only, 187 not by HGST).",
]


def render_markdown(model: DiskHealthModel, evaluation: Mapping[str, Any]) -> str:
    """``docs/disk-health-eval.md``."""
    counts = model.details["counts"]
    test = evaluation["test"]
    return "\n".join(
        [
            "# Disk health: held-out evaluation",
            "",
            "<!-- generated by `foresight evaluate-disk-health`; edit the command, not this file -->",
            "",
            f"The learned drive-failure model (`models/disk-health-v1`) scored on **{test['drives']:,} test "
            f"drives ({test['failures']:,} failures, {test['drive_days']:,.0f} drive-days)** that neither "
            f"training ({counts['train']['drives']:,} drives) nor the choice of thresholds "
            f"({counts['validation']['drives']:,} validation drives) saw. Drives are split by a hash of the "
            "serial number, so no drive is in two splits. The baseline is today's flag, "
            '"any of SMART 5/187/197/198 above zero".',
            "",
            *summary(evaluation),
            "",
            verdict(evaluation),
            "",
            "## How to read the figures",
            "",
            "* A moment in a drive's life is **positive at horizon H** if the drive fails within H days of "
            "it. "
            "Moments whose label is unknown (the drive left the data set less than H days later without "
            "failing) are left out at that horizon.",
            "* **base rate**: share of drive-days that are positive; a random alarm has this precision.",
            "* **precision**: share of alarmed drive-days that are positive (the cost side: a node drained "
            "on "
            "a false alarm loses capacity for as long as the alarm lasts). **lift** = precision / base rate.",
            "* **recall**: share of failed drives alarmed at some moment within H days before failing.",
            "* **median lead**: over the caught failures, days from the start of the alarm (the run of "
            "alarmed "
            "time in force inside the horizon) to the failure. A flag that stays on for months has a long "
            "lead and, for the same reason, a low precision.",
            "* Every model threshold was chosen on the validation drives: the best F1 (the model's default), "
            "the one that alarms as many drive-days as the flag does, and those that alarm a fixed share.",
            "",
            "## Precision, recall and lead (test drives)",
            "",
            *scores_table(evaluation),
            "",
            "Other operating points (thresholds chosen on the validation drives to alarm a given share of "
            "drive-days):",
            "",
            *scores_table(evaluation, "sweep"),
            "",
            "## Brier score (test drives, per drive-day; lower is better)",
            "",
            "The flag as a probability uses two hazards per drive-hour (flag on / off) fitted on the train "
            'drives, the construction of `models/failure-prior-v1`; "base rate only" predicts the training '
            "base rate for every drive-day.",
            "",
            *brier_table(evaluation),
            "",
            "## Calibration (test drives)",
            "",
            "Predicted probability vs the observed share of positive drive-days, per bin of predicted "
            "probability (drives: distinct drives in the bin; failures: those among them that failed within "
            "the horizon). The last two rows of each table are the flag's two probabilities.",
            "",
            *calibration_lines(evaluation),
            "## What these data cannot show",
            "",
            *cannot_show(evaluation),
            "",
            "## Regenerate",
            "",
            "```",
            *REGENERATE,
            "```",
            "",
        ]
    )


def _by_horizon(values: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return sorted(values.items(), key=lambda kv: float(kv[0]))


def render_card(model: DiskHealthModel, evaluation: Mapping[str, Any], model_dir: pathlib.Path) -> str:
    """``MODEL_CARD.md``: held-out scores first, then data, licence, training and how to read it."""
    counts = model.details["counts"]
    test = evaluation["test"]
    fits = model.details["fits"]
    size_kb = (model_dir / disk_health.MODEL_FILE).stat().st_size / 1024
    thresholds = ", ".join(f"{k} d: {v['threshold']:.3g}" for k, v in _by_horizon(model.operating_points))
    alphas = ", ".join(f"{k} d: {v['alpha']:g}" for k, v in _by_horizon(fits))
    return "\n".join(
        [
            "# disk-health-v1",
            "",
            "<!-- generated by `foresight evaluate-disk-health`; edit the command, not this file -->",
            "",
            "`P(a drive fails within 1, 7 or 30 days)` from its SMART raw counters and their change over the "
            "last 1, 7 and 30 days: one ridge logistic regression per horizon, read with plain numpy from "
            f"`model.json` ({size_kb:.0f} KB) by `foresight.planning.disk_health.DiskHealthModel`.",
            "",
            f"## Held-out scores: {test['drives']:,} test drives, {test['failures']:,} failures",
            "",
            "Never seen in training nor in the choice of thresholds. Definitions, the calibration tables and "
            "more operating points: `docs/disk-health-eval.md`.",
            "",
            *summary(evaluation),
            "",
            *scores_table(evaluation),
            "",
            *brier_table(evaluation),
            "",
            "## Data",
            "",
            "* **Backblaze drive stats**, 2013-04..2016-09: 87,068 drives, 5,326 failures, SMART "
            "5/10/12/187/188/189/196/197/198 raw values in start-stop (survival) format over power-on hours, "
            "as packaged in the R package `dynamichazard` (github.com/boennecd/dynamichazard `data/hds.rda` "
            "@3c596408), copied to `shared/datasets/failures/backblaze_2013_2016/`.",
            "* **Licence.** The packaged file comes with `dynamichazard`, which is GPL-2. The data "
            "themselves are Backblaze's drive stats, which Backblaze publishes free of charge "
            "(backblaze.com, Hard Drive Data and Stats) under its own terms of use; read them there before "
            "redistributing the data. Source: Backblaze, Inc.",
            "* **Split by serial number** (`sha256(serial) % 10`: 0-2 test, 3-4 validation, 5-9 train): "
            "train "
            f"{counts['train']['drives']:,} drives / {counts['train']['failures']:,} failures, validation "
            f"{counts['validation']['drives']:,} / {counts['validation']['failures']:,}, test "
            f"{test['drives']:,} / {test['failures']:,}.",
            "",
            "## Training",
            "",
            "```",
            model.details.get("command") or REGENERATE[0],
            REGENERATE[1],
            "```",
            "",
            f"Training took {model.details['training_seconds']:.0f} s on 2 CPU cores "
            f"({model.details['distinct_training_rows']:,} distinct feature rows weighted by drive-days); "
            "evaluation about 15 s.",
            "",
            "* **Rows**: each drive's record is cut where a value changes, where a change leaves a window "
            "and "
            "where a label changes; each piece is weighted by its length in days, which is the same fit as "
            "one row per drive and day.",
            "* **Features** (77, `disk_health.feature_names()`): per attribute `log1p(value)` and value > 0; "
            "per attribute and window (1, 7, 30 days) the signed `log1p` of the change and whether it "
            "rose; the "
            "same level and changes for the sum 5+187+197+198. Missing values count as zero, missing past "
            "values as no change. No age, model or vendor.",
            f"* **Fit**: standardised features, ridge logistic regression per horizon (Newton's method); "
            f"ridge strength chosen on the validation drives by log-loss ({alphas}).",
            f"* **Default thresholds** (best F1 on the validation drives): {thresholds}.",
            "* **Other horizons**: the cumulative hazard `-log(1-p)` is interpolated between 1, 7 and 30 "
            "days, "
            "spread evenly below one day, and continued at the 30-day mean rate beyond; it never falls as "
            "the horizon grows.",
            "",
            "## Reading it in a cluster",
            "",
            "The raw values come from smartctl_exporter (prometheus-community), one series per drive and "
            "attribute (labels `device` and the attribute's own, such as `attribute_id` and "
            "`attribute_value_type`, plus the scrape target's, which say the node; the serial number is on "
            "`smartctl_device`, not on these series); a past value is the same series with `offset <w>d` "
            "(`disk_health.exporter_query`). "
            "A node's risk is that any of its drives fails (`disk_health.any_drive_fails`). The mapping is "
            "data in `disk_health.SMART_ATTRIBUTES`:",
            "",
            "| SMART id | smartctl name | counts | smartctl_exporter series (raw value) |",
            "|---|---|---|---|",
            *(
                f"| {a.id} | `{a.name}` | {a.meaning} | `{a.exporter_selector}` |"
                for a in disk_health.SMART_ATTRIBUTES
            ),
            "",
            "## Limits",
            "",
            *cannot_show(evaluation),
            "",
        ]
    )
