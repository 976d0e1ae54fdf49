"""Version ``v1alpha1`` of the ``foresight.dev`` API: ``PredictiveScaler`` and ``FailoverPolicy``."""

from foresight.api.v1alpha1 import failover_policy, predictive_scaler
from foresight.api.v1alpha1._common import (
    Condition,
    LabelSelector,
    LabelSelectorRequirement,
    Mode,
    SecretKeyRef,
    parse_duration,
    set_condition,
)
from foresight.api.v1alpha1.failover_policy import (
    ActionRecord,
    ActionsSpec,
    FailoverPolicySpec,
    FailoverPolicyStatus,
    NodeConditionWeight,
    NodeRisk,
    NodeSignal,
)
from foresight.api.v1alpha1.predictive_scaler import (
    Accuracy,
    Decision,
    ForecastSpec,
    ForecastSummary,
    HeadroomSpec,
    HpaRef,
    MetricSpec,
    OriginalHpa,
    PredictiveScalerSpec,
    PredictiveScalerStatus,
    PrometheusSource,
    ScaleDownSpec,
    ScaleTargetRef,
    ScalingSpec,
)

VERSION = "v1alpha1"

__all__ = [
    "VERSION",
    "Accuracy",
    "ActionRecord",
    "ActionsSpec",
    "Condition",
    "Decision",
    "FailoverPolicySpec",
    "FailoverPolicyStatus",
    "ForecastSpec",
    "ForecastSummary",
    "HeadroomSpec",
    "HpaRef",
    "LabelSelector",
    "LabelSelectorRequirement",
    "MetricSpec",
    "Mode",
    "NodeConditionWeight",
    "NodeRisk",
    "NodeSignal",
    "OriginalHpa",
    "PredictiveScalerSpec",
    "PredictiveScalerStatus",
    "PrometheusSource",
    "ScaleDownSpec",
    "ScaleTargetRef",
    "ScalingSpec",
    "SecretKeyRef",
    "failover_policy",
    "parse_duration",
    "predictive_scaler",
    "set_condition",
]
