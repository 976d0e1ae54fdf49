"""The forecast cause's crossing calibration: carried by the prior, applied by assess_node."""

from __future__ import annotations

import json
import math
import pathlib
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from foresight.api import v1alpha1
from foresight.planning import failover as fo
from foresight.planning.failover.prior import PRIOR_DIR, FailurePrior

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
PRIOR = FailurePrior((0.0,), (0.0,), 0.0, {"any_nonzero": 0.0, "all_zero": 0.0})
HALVED = ((0.0, 0.0), (1.0, 0.5))
SHIPPED = pathlib.Path(__file__).resolve().parents[3] / "models" / PRIOR_DIR


def test_calibrated_crossing_interpolates_and_leaves_what_it_cannot_map() -> None:
    assert fo.calibrated_crossing(0.6, HALVED) == pytest.approx(0.3)
    assert fo.calibrated_crossing(0.6, ()) == 0.6
    assert math.isnan(fo.calibrated_crossing(math.nan, HALVED))
    # Flat beyond the ends of the fitted range.
    assert fo.calibrated_crossing(1.0, ((0.0, 0.01), (0.9, 0.8))) == 0.8


def test_assess_node_applies_the_prior_calibration_to_the_forecast_cause() -> None:
    spec = v1alpha1.FailoverPolicySpec.model_validate(
        {"signals": [{"name": "memory-used", "query": "q", "threshold": 90, "direction": "above"}]}
    )
    paths = np.array([[80.0, 95.0]] * 60 + [[80.0, 85.0]] * 40)
    node = fo.NodeObservation(name="n1", conditions=(fo.NodeCondition("Ready", "True"),))
    raw = fo.assess_node(spec, node, {"memory-used": paths}, fo.FailureHistory(), NOW, prior=PRIOR)
    calibrated = fo.assess_node(
        spec,
        node,
        {"memory-used": paths},
        fo.FailureHistory(),
        NOW,
        prior=replace(PRIOR, crossing_calibration=HALVED),
    )
    assert raw.failure_probability == pytest.approx(0.6)
    assert calibrated.failure_probability == pytest.approx(0.3)
    assert calibrated.reasons == ["memory-used p(cross above 90 within 15m) = 0.30 (0.60 of paths)"]


def test_the_calibration_round_trips_through_the_artifact(tmp_path: pathlib.Path) -> None:
    prior = replace(PRIOR, crossing_calibration=HALVED)
    assert FailurePrior.load(prior.save(tmp_path).parent).crossing_calibration == HALVED
    # A prior written before the calibration existed still loads, uncalibrated.
    body = json.loads((tmp_path / "prior.json").read_text())
    body.pop("crossing_calibration")
    assert FailurePrior.from_json(body).crossing_calibration == ()


@pytest.mark.parametrize(
    "knots", [((0.0, 0.5), (1.0, 0.4)), ((0.5, 0.1), (0.5, 0.2)), ((0.0, 0.0), (1.0, 1.5))]
)
def test_a_calibration_that_does_not_increase_within_0_1_is_refused(
    knots: tuple[tuple[float, float], ...],
) -> None:
    with pytest.raises(ValueError, match="crossing calibration"):
        replace(PRIOR, crossing_calibration=knots)


def test_the_shipped_prior_carries_a_calibration() -> None:
    knots = FailurePrior.load(SHIPPED).crossing_calibration
    assert len(knots) >= 2 and knots[0][0] == 0.0 and knots[-1][0] == 1.0
    # Fitted on real crossings: a share of 0 is not a certainty of no crossing, a share of 1 not of one.
    assert 0 < fo.calibrated_crossing(0.0, knots) < 0.05 and 0.5 < fo.calibrated_crossing(1.0, knots) < 1
