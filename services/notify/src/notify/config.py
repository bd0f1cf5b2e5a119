from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings, is_local

# The sender of a developer's machine: the citizens' mail servers would refuse it.
DEVELOPMENT_SMTP_FROM = "Cổng dịch vụ công <no-reply@dichvucong.example.vn>"


class NotifySettings(BaseServiceSettings):
    service_name: ClassVar[str] = "notify"
    model_config = SettingsConfigDict(env_prefix="NOTIFY_")
    # The mail relay is another machine in production, like the database and the broker.
    remote_addresses: ClassVar[tuple[str, ...]] = (
        *BaseServiceSettings.remote_addresses,
        "smtp_host",
    )

    port: int = 8003
    metrics_port: int = 9103

    # Officers' tokens are workflow's: verified by the keys it publishes (or given here).
    officer_jwks_url: str | None = "http://127.0.0.1:8002/.well-known/jwks.json"
    officer_jwks: list[dict[str, Any]] = Field(default_factory=list)
    # The units that run notify for the whole portal: their admins, and no one else, also
    # read the messages of no dossier (accounts' one-time codes, masked).
    operator_agencies: list[str] = Field(default_factory=list)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = DEVELOPMENT_SMTP_FROM

    # development: recorded in the database; http: a gateway (see adapters/channels.py);
    # scripted: told to succeed, fail or be slow (tests and rehearsals).
    sms_provider: Literal["development", "http", "scripted"] = "development"
    sms_http_url: str = ""
    sms_http_api_key: SecretStr | None = None
    sms_sender: str = "DICHVUCONG"
    sms_max_segments: int = 3

    # Retries: exponential back-off from the base, capped; then the delivery is dead.
    max_attempts: int = 6
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    send_timeout_seconds: float = 15.0
    # The sender: how many deliveries it takes at once, how long it holds them.
    sender_batch: int = 20
    sender_poll_seconds: float = 1.0
    lease_seconds: float = 120.0

    @field_validator("officer_jwks_url")
    @classmethod
    def _no_url(cls, value: str | None) -> str | None:
        # An environment variable cannot say None: empty means "no URL, the keys are given".
        return value or None

    def production_problems(self) -> list[str]:
        """Beyond the common checks: SMS through the gateway, mail from the portal's own
        address, and a way to know workflow's keys that is not this machine."""
        problems = super().production_problems()
        name = self.env_name
        if self.sms_provider != "http":
            problems.append(
                f"{name('sms_provider')}={self.sms_provider} sends no SMS; production needs http"
            )
        else:
            if not self.sms_http_url or is_local(self.sms_http_url):
                problems.append(f"{name('sms_http_url')} must name the SMS gateway")
            if not self.sms_http_api_key or not self.sms_http_api_key.get_secret_value():
                problems.append(f"{name('sms_http_api_key')} must be set")
        if self.smtp_user and not self.smtp_password:
            problems.append(f"{name('smtp_password')} must be set with {name('smtp_user')}")
        if self.smtp_from == DEVELOPMENT_SMTP_FROM:
            problems.append(f"{name('smtp_from')} is the development default")
        if self.officer_jwks_url is None and not self.officer_jwks:
            problems.append(
                f"{name('officer_jwks_url')} must be set (workflow's JWKS), or"
                f" {name('officer_jwks')} given"
            )
        elif self.officer_jwks_url is not None and is_local(self.officer_jwks_url):
            problems.append(
                f"{name('officer_jwks_url')} must name workflow's host, not this machine"
            )
        return problems
