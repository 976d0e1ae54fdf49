"""``FailoverPolicy``: predict which nodes will fail, keep new pods off them, move pods away in time.

Single source of the CRD schema, as for ``PredictiveScaler``.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, field_validator, model_validator

from foresight.api.v1alpha1._common import Condition, Duration, LabelSelector, Mode, Model

KIND = "FailoverPolicy"
PLURAL = "failoverpolicies"
SHORT_NAMES = ["fp", "fpolicy"]

DEFAULT_TAINT_KEY = "foresight.dev/failure-predicted"

# smartctl_exporter's raw SMART values of the attributes the disk-health model reads (the ids of
# ``foresight.planning.disk_health.SMART_ATTRIBUTES``; a unit test keeps the two in step).
DEFAULT_DISK_QUERY = (
    'smartctl_device_attribute{attribute_id=~"5|10|12|187|188|189|196|197|198",attribute_value_type="raw"}'
)
Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WEEKDAYS: tuple[Weekday, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class NodeSignal(Model):
    """A per-node Prometheus signal and the threshold past which the node is considered failing."""

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    query: str = Field(min_length=1, max_length=4096, description="PromQL returning one series per node.")
    node_label: str = Field(
        default="node", min_length=1, max_length=128, description="Label naming the node."
    )
    threshold: float
    direction: Literal["above", "below"] = Field(
        description="The node fails when the signal goes above (e.g. errors) or below (e.g. free memory)."
    )


class NodeConditionWeight(Model):
    """How much a Kubernetes node condition (incl. node-problem-detector's) adds to the failure risk."""

    type: str = Field(min_length=1, max_length=316)
    status: Literal["True", "False", "Unknown"] = "True"
    weight: float = Field(ge=0, le=1, description="Probability of failure within the horizon while it holds.")


def _default_conditions() -> list[NodeConditionWeight]:
    return [
        NodeConditionWeight(type="Ready", status="False", weight=0.9),
        NodeConditionWeight(type="Ready", status="Unknown", weight=0.9),
        NodeConditionWeight(type="MemoryPressure", weight=0.4),
        NodeConditionWeight(type="DiskPressure", weight=0.4),
        NodeConditionWeight(type="PIDPressure", weight=0.3),
        NodeConditionWeight(type="NetworkUnavailable", weight=0.6),
        NodeConditionWeight(type="KernelDeadlock", weight=0.7),
        NodeConditionWeight(type="ReadonlyFilesystem", weight=0.6),
    ]


class MaintenanceWindow(Model):
    """When slow drains (for a days-ahead cause such as disk health) may start: local ``start`` to ``end``
    on ``days``; an ``end`` before ``start`` runs past midnight into the next day."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1, max_length=7)
    start: str = Field(pattern=_CLOCK_PATTERN, description="HH:MM, local time in timeZone.")
    end: str = Field(pattern=_CLOCK_PATTERN, description="HH:MM; before start: the window ends the next day.")
    time_zone: str = Field(
        default="UTC", min_length=1, max_length=64, description="IANA name, e.g. Europe/Berlin."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self.start != self.end", "message": "window.start and window.end must differ"}
            ]
        }
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> MaintenanceWindow:
        if self.start == self.end:
            raise ValueError("window.start and window.end must differ")
        return self


class ActionsSpec(Model):
    """What Foresight may do to an at-risk node, and how fast."""

    taint: bool = True
    evict: bool = True
    max_nodes_at_once: int = Field(default=1, ge=1, le=1000, description="Nodes acted on at the same time.")
    cooldown_seconds: int = Field(default=300, ge=0, le=86400, description="Wait between acting on nodes.")
    min_healthy_nodes: int = Field(
        default=1, ge=0, le=10000, description="Never leave fewer healthy selected nodes than this."
    )
    taint_key: str = Field(default=DEFAULT_TAINT_KEY, min_length=1, max_length=317)
    untaint_below_probability: float | None = Field(
        default=None, ge=0, le=1, description="Remove the taint below this risk; default: half the threshold."
    )
    window: MaintenanceWindow | None = Field(
        default=None,
        description="Start slow (days-ahead) drains only inside this window; minute-scale risks never wait.",
    )


class DiskHealthSpec(Model):
    """Days-ahead drive failure risk from SMART counters (models/disk-health-v1), with its own pace.

    A node at risk gets ``PreferNoSchedule`` at once; its drain starts no sooner than ``cooldownSeconds``
    after the last drain of any cause, and only inside ``actions.window`` if one is set.
    """

    query: str = Field(
        default=DEFAULT_DISK_QUERY,
        min_length=1,
        max_length=4096,
        description="PromQL: each drive's raw SMART values, one series per attribute (smartctl_exporter).",
    )
    node_label: str = Field(
        default="node", min_length=1, max_length=128, description="Label naming the node."
    )
    drive_label: str = Field(
        default="device", min_length=1, max_length=128, description="Label naming the drive on its node."
    )
    attribute_label: str = Field(
        default="attribute_id",
        min_length=1,
        max_length=128,
        description="Label holding the SMART attribute id.",
    )
    horizon: Duration = Field(default="7d", description="Predict drive failures this far ahead.")
    failure_probability_threshold: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="Default: the model's threshold for the horizon (fitted horizons 1d, 7d, 30d only).",
    )
    untaint_below_probability: float | None = Field(
        default=None, ge=0, le=1, description="Release the node below this risk; default: half the threshold."
    )
    cooldown_seconds: int = Field(
        default=21600,
        ge=0,
        le=30 * 86400,
        description="A disk drain starts no sooner than this after the last drain of any cause.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.untaintBelowProbability) || !has(self.failureProbabilityThreshold) || "
                    "self.untaintBelowProbability < self.failureProbabilityThreshold",
                    "message": "diskHealth.untaintBelowProbability must be below failureProbabilityThreshold",
                    "fieldPath": ".untaintBelowProbability",
                }
            ]
        }
    )

    @model_validator(mode="after")
    def _untaint_below_threshold(self) -> DiskHealthSpec:
        untaint, threshold = self.untaint_below_probability, self.failure_probability_threshold
        if untaint is not None and threshold is not None and untaint >= threshold:
            raise ValueError("diskHealth.untaintBelowProbability must be below failureProbabilityThreshold")
        return self


class FailoverPolicySpec(Model):
    """Which nodes to watch, what signals predict failure, and what to do about it."""

    node_selector: LabelSelector = Field(default_factory=LabelSelector)
    signals: list[NodeSignal] = Field(default_factory=list, max_length=32)
    node_conditions: list[NodeConditionWeight] = Field(default_factory=_default_conditions, max_length=32)
    horizon: Duration = Field(default="15m", description="Predict failures this far ahead.")
    failure_probability_threshold: float = Field(default=0.5, gt=0, lt=1)
    actions: ActionsSpec = Field(default_factory=ActionsSpec)
    disk_health: DiskHealthSpec | None = Field(
        default=None, description="Drive failure risk days ahead, from smartctl_exporter; absent: off."
    )
    pod_selector: LabelSelector = Field(default_factory=LabelSelector)
    namespace_selector: LabelSelector = Field(default_factory=LabelSelector)
    mode: Mode = "active"

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.actions) || !has(self.actions.untaintBelowProbability) || "
                    "!has(self.failureProbabilityThreshold) || "
                    "self.actions.untaintBelowProbability < self.failureProbabilityThreshold",
                    "message": "actions.untaintBelowProbability must be below failureProbabilityThreshold",
                    "fieldPath": ".actions.untaintBelowProbability",
                }
            ]
        }
    )

    @model_validator(mode="after")
    def _untaint_below_threshold(self) -> FailoverPolicySpec:
        untaint = self.actions.untaint_below_probability
        if untaint is not None and untaint >= self.failure_probability_threshold:
            raise ValueError("actions.untaintBelowProbability must be below failureProbabilityThreshold")
        return self

    @property
    def untaint_probability(self) -> float:
        """Risk below which a tainted node is released (hysteresis against flapping)."""
        untaint = self.actions.untaint_below_probability
        return self.failure_probability_threshold / 2 if untaint is None else untaint


class NodeRisk(Model):
    """One node's predicted failure probability and the reasons behind it."""

    node: str
    failure_probability: float
    disk_failure_probability: float | None = Field(
        default=None, description="P(a drive of the node fails within diskHealth.horizon), if known."
    )
    reasons: list[str] = Field(default_factory=list)
    since: str | None = None
    state: Literal["watching", "tainted", "draining", "drained"] = "watching"


class ActionRecord(Model):
    """One action taken (or, in dryRun, that would have been taken)."""

    time: str
    node: str
    action: Literal["taint", "untaint", "evict", "eviction-blocked", "skip"]
    detail: str = Field(default="", max_length=2048)


class FailoverPolicyStatus(Model):
    """Nodes at risk, actions taken, and conditions."""

    observed_generation: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
    nodes_at_risk: list[NodeRisk] = Field(default_factory=list)
    recent_actions: list[ActionRecord] = Field(default_factory=list)
    last_evaluation: str | None = None
    last_escalation_time: str | None = Field(
        default=None, description="When the last new node was escalated (paces actions.cooldownSeconds)."
    )


PRINTER_COLUMNS = [
    {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
    {"name": "Threshold", "type": "number", "jsonPath": ".spec.failureProbabilityThreshold"},
    {"name": "At-Risk", "type": "string", "jsonPath": ".status.nodesAtRisk[*].node"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
