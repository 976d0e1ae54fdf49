"""``evaluate-failover``'s report: the docs page is exactly what the shipped figures render to."""

from __future__ import annotations

import json
import pathlib

from foresight.commands import _failover_report as report
from foresight.commands import failover_eval
from foresight.handlers import failover_policy as handler

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_the_docs_page_is_rendered_from_the_shipped_figures() -> None:
    figures = json.loads((ROOT / "models" / "failure-prior-v1" / "evaluation.json").read_text())
    page = report.markdown(figures)
    assert page == (ROOT / "docs" / "failover-eval.md").read_text()
    for heading in ("## Headline: pod downtime per real failure", "## Limits: what the data cannot show"):
        assert heading in page
    assert "(disk-health-eval.md)" in page
    assert "**Backblaze held-out drives: the learned disk-health model vs the flag**" in page


def test_the_crossing_check_uses_the_controllers_signal_forecast() -> None:
    geometry = failover_eval.signal_geometry()
    assert geometry.model == handler.SIGNAL_MODEL
    assert geometry.horizon_steps == handler.SIGNAL_HORIZON_STEPS
    assert geometry.samples == handler.SIGNAL_SAMPLES
    # The history the controller reads for a 15-minute horizon at its 30 s step: two hours.
    assert geometry.history_steps(30) * 30 == max(15 * 60 * handler.SIGNAL_HISTORY_HORIZONS, 3600)
