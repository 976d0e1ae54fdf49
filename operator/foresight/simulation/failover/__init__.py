"""Failover on real records: fit the failure prior, replay the policy, calibrate the forecast cause.

Data (see ``datasets/README.md``):

* LANL LA-UR-05-7318 (1996-2005): node outages of 22 HPC systems. Start/fix time per node, no resource
  metrics: the only predictor it can test is the failure history (recurrence) part of the risk model.
  We acknowledge Los Alamos National Laboratory for providing these data.
* Backblaze drive stats 2013-2016 (start-stop format over power-on hours): SMART counters before failure,
  per *drive*, not per node.
* Azure Public Dataset V1 per-VM CPU series (5-minute readings): no failures, but real node-level series on
  which the forecast cause's crossing probability can be checked against crossings that happened.

The LANL replay keeps each node's taint with the planner's hysteresis and drains under the spec's rails;
a failure counts as caught only if its node is draining or drained when it fails. The operating point is
chosen on the first part of each system's record and scored on the rest. Everything is deterministic given
the data and the seed.

Modules: ``records`` (loading and splitting the failure records), ``fitting`` (the prior), ``taint``
(the hysteresis), ``evaluation`` (the LANL taint replay and scores, Backblaze), ``downtime`` (rails, pod
downtime and false-alarm cost), ``operating_point`` (the choice on the training period), ``crossings``
(crossing-probability calibration on per-VM series) and ``leaks`` (the memory-leak ramp test). Callers
import this package.
"""

from foresight.simulation.failover.crossings import (
    AZURE_VM_FILES,
    RELIABILITY_EDGES,
    THRESHOLDS,
    AlarmScore,
    CrossingSample,
    SignalGeometry,
    brier_score,
    calibrate,
    calibration_error,
    crossing_pairs,
    crossing_report,
    fit_calibration,
    forecast_crossings,
    held_out_vm,
    load_vm_series,
    predict_linear,
    reliability,
    score_alarms,
)
from foresight.simulation.failover.downtime import (
    DowntimeParams,
    DowntimeResult,
    FailoverReplay,
    Rails,
    escalation_times,
    leads_per_failure,
    replay_failover,
    simulate_downtime,
)
from foresight.simulation.failover.evaluation import (
    BackblazeResult,
    EvaluationResult,
    LanlReplay,
    Period,
    evaluate_backblaze,
    evaluate_lanl,
    replay_lanl,
)
from foresight.simulation.failover.fitting import (
    RECURRENCE_EDGES_HOURS,
    fit_backblaze_hazards,
    fit_failure_prior,
    fit_recurrence_hazards,
    lanl_system_summary,
)
from foresight.simulation.failover.leaks import SCENARIOS, LeakResult, LeakScenario, leak_series, leak_test
from foresight.simulation.failover.operating_point import (
    MAX_DRAINED_SHARE,
    PointScore,
    choose_operating_point,
    score_point,
)
from foresight.simulation.failover.records import (
    BACKBLAZE_FILES,
    LANL_FILE,
    TRAIN_FRACTION,
    load_backblaze,
    load_lanl_outages,
    split_time,
    train_records,
)
from foresight.simulation.failover.taint import hysteresis, runs_of

__all__ = [
    "AZURE_VM_FILES",
    "BACKBLAZE_FILES",
    "LANL_FILE",
    "MAX_DRAINED_SHARE",
    "RECURRENCE_EDGES_HOURS",
    "RELIABILITY_EDGES",
    "SCENARIOS",
    "THRESHOLDS",
    "TRAIN_FRACTION",
    "AlarmScore",
    "BackblazeResult",
    "CrossingSample",
    "DowntimeParams",
    "DowntimeResult",
    "EvaluationResult",
    "FailoverReplay",
    "LanlReplay",
    "LeakResult",
    "LeakScenario",
    "Period",
    "PointScore",
    "Rails",
    "SignalGeometry",
    "brier_score",
    "calibrate",
    "calibration_error",
    "choose_operating_point",
    "crossing_pairs",
    "crossing_report",
    "escalation_times",
    "evaluate_backblaze",
    "evaluate_lanl",
    "fit_backblaze_hazards",
    "fit_calibration",
    "fit_failure_prior",
    "fit_recurrence_hazards",
    "forecast_crossings",
    "held_out_vm",
    "hysteresis",
    "lanl_system_summary",
    "leads_per_failure",
    "leak_series",
    "leak_test",
    "load_backblaze",
    "load_lanl_outages",
    "load_vm_series",
    "predict_linear",
    "reliability",
    "replay_failover",
    "replay_lanl",
    "runs_of",
    "score_alarms",
    "score_point",
    "simulate_downtime",
    "split_time",
    "train_records",
]
