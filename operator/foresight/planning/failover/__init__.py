"""Pure failover decisions: node failure risk (:func:`assess_node`) and the response (:func:`plan_actions`).

Risk combines independent hazards, each with the probability it contributes and a readable reason:

* forecast: the share of a signal's sampled future paths that cross its threshold within the horizon;
* Kubernetes: node conditions weighted by the spec, a stale node lease, recent Ready flaps;
* prior: recurrence after a recent failure (LANL) and drive SMART precursors (Backblaze), see
  :mod:`foresight.planning.failover.prior`.

``p = 1 - prod(1 - p_i)``: the node fails if any cause fires. The causes are not truly independent (a node
under memory pressure also shows it in its memory signal), so the combination leans towards acting; the
threshold and hysteresis absorb that.

Planning turns risks into taints and evictions under the spec's safety rails: at most ``maxNodesAtOnce``
nodes draining, a cooldown between new nodes, never fewer than ``minHealthyNodes`` healthy selected nodes,
never the last healthy node a workload can run on, PodDisruptionBudgets respected, DaemonSet and mirror pods
left alone. No I/O and no clock here: the controller passes ``now`` and the observed state.

Modules, in the order the controller uses them: ``observations`` (what it sees of nodes and pods),
``history`` (each node's failures and their annotation), ``prior`` (hazards fitted on real failure
records), ``disk`` (the days-ahead drive risk, with its own threshold and pace), ``risk``
(:func:`assess_node`), ``budget`` (PodDisruptionBudgets during a plan) and ``actions``
(:func:`plan_actions`). Callers import this package; the names below are its public surface.
"""

from foresight.planning.failover.actions import (
    MIRROR_ANNOTATION,
    Action,
    ActionKind,
    escalation_held_back,
    node_state,
    plan_actions,
)
from foresight.planning.failover.budget import DisruptionBudget, PdbBudget
from foresight.planning.failover.disk import (
    DISK_HISTORY_DAYS,
    DISK_MODEL_DIR,
    DiskRisk,
    assess_disk,
    disk_threshold,
    drive_readings,
    in_window,
)
from foresight.planning.failover.history import (
    FAILURE_HISTORY_ANNOTATION,
    FAILURE_HISTORY_LIMIT,
    NODE_STARTUP_GRACE,
    FailureHistory,
    decode_failure_history,
    encode_failure_history,
    update_failure_history,
)
from foresight.planning.failover.observations import (
    NodeCondition,
    NodeObservation,
    NodeState,
    OwnerRef,
    PodObservation,
    Taint,
    TaintEffect,
    selector_matches,
)
from foresight.planning.failover.prior import PRIOR_DIR, SMART_PRECURSORS, FailurePrior, smart_any_nonzero
from foresight.planning.failover.risk import (
    FLAP_WINDOW,
    REASON_FLOOR,
    NodeRiskAssessment,
    RiskComponent,
    assess_node,
    calibrated_crossing,
    combine_probabilities,
    crossing_probability,
)

__all__ = [
    "DISK_HISTORY_DAYS",
    "DISK_MODEL_DIR",
    "FAILURE_HISTORY_ANNOTATION",
    "FAILURE_HISTORY_LIMIT",
    "FLAP_WINDOW",
    "MIRROR_ANNOTATION",
    "NODE_STARTUP_GRACE",
    "PRIOR_DIR",
    "REASON_FLOOR",
    "SMART_PRECURSORS",
    "Action",
    "ActionKind",
    "DiskRisk",
    "DisruptionBudget",
    "FailureHistory",
    "FailurePrior",
    "NodeCondition",
    "NodeObservation",
    "NodeRiskAssessment",
    "NodeState",
    "OwnerRef",
    "PdbBudget",
    "PodObservation",
    "RiskComponent",
    "Taint",
    "TaintEffect",
    "assess_disk",
    "assess_node",
    "calibrated_crossing",
    "combine_probabilities",
    "crossing_probability",
    "decode_failure_history",
    "disk_threshold",
    "drive_readings",
    "encode_failure_history",
    "escalation_held_back",
    "in_window",
    "node_state",
    "plan_actions",
    "selector_matches",
    "smart_any_nonzero",
    "update_failure_history",
]
