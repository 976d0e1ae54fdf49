"""Operator settings, read once at start-up from flags and ``FORESIGHT_*`` environment variables.

The chart sets the environment; the CLI's flags override it. Nothing else reads the environment:
the ``Settings`` object is passed down explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


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
    model_dir: Path = Field(default=REPO_MODELS_DIR, description="Where shipped forecaster artifacts live.")
    tick_seconds: float = Field(default=30.0, gt=0, description="How often scalers are reconciled.")
    stale_floor_seconds: float = Field(
        default=900.0, ge=0, description="Keep the last good floor this long while the metric source fails."
    )
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    def prometheus_bearer_token(self) -> str | None:
        """The token for Prometheus, from the file (re-read, so rotation works) or the variable."""
        if self.prometheus_token_file is not None:
            return self.prometheus_token_file.read_text().strip() or None
        return self.prometheus_token.get_secret_value() if self.prometheus_token else None
