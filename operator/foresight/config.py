"""Operator settings, from flags and ``FORESIGHT_*`` environment variables.

The chart sets the environment; ``foresight run``'s flags override it. The operator reads them once at
start-up and passes the ``Settings`` object down to its handlers. One thing reads them again on its
own: loading ``deepar`` by name (:meth:`Settings.deepar_artifact_dir`), since the forecasting registry
is also used by the CLI commands, which take no settings. Elsewhere the environment is read only for
what is not the operator's to configure: ``KUBECONFIG`` (the Kubernetes client) and the processes the
dev cluster and the demo start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEEPAR_ARTIFACT = "deepar-v1"
"""The shipped DeepAR artifact's directory under ``model_dir``."""


class Settings(BaseSettings):
    """Everything the operator process needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix="FORESIGHT_", env_file=None, extra="ignore")

    prometheus_url: str = Field(default="http://127.0.0.1:9090", description="Default Prometheus base URL.")
    prometheus_token: SecretStr | None = Field(default=None, description="Bearer token for Prometheus.")
    prometheus_token_file: Path | None = Field(default=None, description="File holding the bearer token.")
    prometheus_ca_file: Path | None = Field(default=None, description="CA bundle to verify Prometheus TLS.")
    prometheus_timeout_seconds: float = Field(default=10.0, gt=0)
    prometheus_allowed_urls: list[str] = Field(
        default_factory=list,
        description="Other Prometheus base URLs that scalers may name; the operator's own is always allowed. "
        "Its token and CA bundle go only to its own origin.",
    )
    allow_cross_namespace_queries: bool = Field(
        default=False, description="Let a scaler's PromQL select series of other namespaces (off = tenancy)."
    )
    namespaces: list[str] = Field(default_factory=list, description="Watch only these; empty = cluster-wide.")
    failover_namespaces: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Namespaces whose FailoverPolicies the operator acts on ('*': any). A FailoverPolicy "
        "taints nodes and evicts pods of every namespace, so it is a platform team's tool: one in another "
        "namespace is refused with a status condition and never reads a signal, taints or evicts. The "
        "chart sets its own namespace.",
    )
    peering_name: str = Field(
        default="foresight", description="kopf peering object used for leader election."
    )
    standalone: bool = Field(default=False, description="Skip peering (single replica, tests).")
    priority: int | None = Field(
        default=None,
        ge=0,
        description="kopf peering priority; default: random, so of several replicas exactly one acts "
        "(kopf pauses every replica while two share the highest priority).",
    )
    metrics_port: int = Field(default=8080, ge=0, le=65535, description="Operator's own /metrics; 0 = off.")
    liveness_port: int = Field(default=8081, ge=0, le=65535, description="kopf liveness probe; 0 = off.")
    model_dir: Path = Field(
        default=REPO_MODELS_DIR, description="Where shipped artifacts live (forecasters, the failure prior)."
    )
    deepar_artifact: Path | None = Field(
        default=None, description=f"DeepAR artifact for `deepar`; default: <model_dir>/{DEEPAR_ARTIFACT}."
    )
    tick_seconds: float = Field(default=30.0, gt=0, description="How often scalers are reconciled.")
    hpa_sync_seconds: int = Field(
        default=15,
        ge=0,
        le=600,
        description=(
            "The HPA controller's sync period (kube-controller-manager"
            " --horizontal-pod-autoscaler-sync-period, 15 s upstream): a raised floor takes effect at the"
            " HPA's next sync, so the planner's lead window starts that much later."
        ),
    )
    stale_floor_seconds: float = Field(
        default=900.0, ge=0, description="Keep the last good floor this long while the metric source fails."
    )
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    def failover_allowed(self, namespace: str) -> bool:
        """Whether the operator acts on FailoverPolicies in ``namespace``.

        >>> platform = Settings(failover_namespaces=["platform"])
        >>> platform.failover_allowed("team-a"), platform.failover_allowed("platform")
        (False, True)
        >>> Settings().failover_allowed("team-a")  # the default outside the chart: any namespace
        True
        """
        return "*" in self.failover_namespaces or namespace in self.failover_namespaces

    def deepar_artifact_dir(self) -> Path:
        """The directory ``forecasting.get("deepar")`` loads weights from, if it holds an artifact.

        >>> Settings(model_dir=Path("/opt/models")).deepar_artifact_dir()
        PosixPath('/opt/models/deepar-v1')
        """
        return self.deepar_artifact if self.deepar_artifact is not None else self.model_dir / DEEPAR_ARTIFACT

    def prometheus_bearer_token(self) -> str | None:
        """The token for Prometheus, from the file (re-read, so rotation works) or the variable."""
        if self.prometheus_token_file is not None:
            return self.prometheus_token_file.read_text().strip() or None
        return self.prometheus_token.get_secret_value() if self.prometheus_token else None
