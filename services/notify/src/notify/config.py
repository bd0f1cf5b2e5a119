from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings


class NotifySettings(BaseServiceSettings):
    service_name: ClassVar[str] = "notify"
    model_config = SettingsConfigDict(env_prefix="NOTIFY_")

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
    smtp_from: str = "Cổng dịch vụ công <no-reply@dichvucong.example.vn>"

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
