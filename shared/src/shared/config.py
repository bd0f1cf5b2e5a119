"""Settings shared by every service; each service subclasses with its own env prefix.

`IntakeSettings(BaseServiceSettings)` with `env_prefix="INTAKE_"` reads `INTAKE_DATABASE_URL`,
`INTAKE_AMQP_URL`, and so on. Secrets have development defaults only: outside
`environment=development` a missing secret stops the process at start-up instead of
running with a value everybody knows.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "production"]

# Values that are only acceptable on a developer's machine.
_DEVELOPMENT_SECRETS: dict[str, str] = {
    "s3_secret_key": "dvc-dev-secret-key",
    "jwt_secret": "dvc-dev-jwt-secret-change-me-please-0123456789",
}


class BaseServiceSettings(BaseSettings):
    """What every service needs: its database, the broker, the object store, logging."""

    service_name: ClassVar[str]
    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__")

    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    # Port of the standalone metrics/health server used by the `consume` and `relay`
    # processes (the `api` and `all` processes serve /metrics on `port`).
    metrics_port: int = 9100
    log_level: str = "INFO"

    database_url: str = ""
    database_pool_size: int = 10
    # How long a request may wait for a free connection before it is answered 503: a
    # few seconds, so that under overload callers hear at once instead of timing out.
    database_pool_timeout_seconds: float = 3.0

    # Load shedding and body limits of the API (shared/api/guard.py).
    max_in_flight: int = 64
    max_body_bytes: int = 1024 * 1024

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prefix of every exchange and queue name: `dvc` gives `dvc.events`, `dvc.workflow`.
    amqp_namespace: str = "dvc"
    consumer_prefetch: int = 32
    # Back-off of a failing handler: one TTL queue per step, then the parking queue.
    retry_delays_ms: list[int] = Field(default_factory=lambda: [1_000, 10_000, 60_000, 600_000])
    # Redeliveries after which RabbitMQ itself parks a message whose handler keeps
    # crashing the process (the quorum queue's x-delivery-limit).
    delivery_limit: int = 20

    s3_endpoint: str = "127.0.0.1:8333"
    s3_access_key: str = "dvc-dev"
    s3_secret_key: SecretStr | None = None
    s3_secure: bool = False
    s3_region: str = "us-east-1"

    jwt_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> BaseServiceSettings:
        if not self.database_url:
            self.database_url = (
                f"postgresql+asyncpg://postgres@127.0.0.1:5432/dvc_{self.service_name}"
            )
        for name, dev_value in _DEVELOPMENT_SECRETS.items():
            if getattr(self, name) is not None:
                continue
            if self.environment != "development":
                prefix = self.model_config.get("env_prefix", "")
                raise ValueError(f"{prefix}{name.upper()} must be set outside development")
            setattr(self, name, SecretStr(dev_value))
        return self

    def secret(self, name: str) -> str:
        """The plain value of a secret field (validated to be present)."""
        value = getattr(self, name)
        assert isinstance(value, SecretStr)
        return value.get_secret_value()
