"""Settings shared by every service; each service subclasses with its own env prefix.

`IntakeSettings(BaseServiceSettings)` with `env_prefix="INTAKE_"` reads `INTAKE_DATABASE_URL`,
`INTAKE_AMQP_URL`, and so on. Secrets have development defaults only, and each issuer its
own (intake's and workflow's development keys differ, so a token of one is never taken by
the other). With `environment=production` the process refuses to start, naming the
setting, when a secret is missing or a development value, when another service's address
points at this machine, when a credential is the development default, or when a service's
own check (`production_problems`) finds a development-only choice.
"""

from __future__ import annotations

import ipaddress
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "production"]

# The local object store's development credentials (one store serves every service).
DEVELOPMENT_S3_ACCESS_KEY = "dvc-dev"
DEVELOPMENT_S3_SECRET_KEY = "dvc-dev-secret-key"  # noqa: S105 (known to all, refused in production)
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}  # noqa: S104 (a name to refuse)


def development_secret(name: str, service: str) -> str:
    """The value a secret takes on a developer's machine; refused in production."""
    if name == "s3_secret_key":
        return DEVELOPMENT_S3_SECRET_KEY
    return f"dvc-dev-{name.replace('_', '-')}-{service}-change-me-0123456789"


def _host(address: str) -> str:
    """The host of a URL or of a bare `host:port`."""
    parsed = urlsplit(address if "//" in address else f"//{address}")
    return (parsed.hostname or "").lower()


def is_local(address: str) -> bool:
    host = _host(address)
    return host in _LOCAL_HOSTS or host.startswith("127.")


class BaseServiceSettings(BaseSettings):
    """What every service needs: its database, the broker, the object store, logging."""

    service_name: ClassVar[str]
    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__")
    # Settings holding another service's address: never this machine in production.
    remote_addresses: ClassVar[tuple[str, ...]] = ("database_url", "amqp_url", "s3_endpoint")
    _SECRETS: ClassVar[tuple[str, ...]] = ("s3_secret_key", "jwt_secret")

    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    # Port of the standalone metrics/health server used by the `consume` and `relay`
    # processes (the `api` and `all` processes serve /metrics on `port`).
    metrics_port: int = 9100
    # Bind the API's port with SO_REUSEPORT, so that several `api` processes of one
    # service on one machine share it and the kernel spreads the connections over them
    # (`make up` runs two per service: a process uses one core at most). Off by
    # default: a second stack started by mistake on the same port must fail, not share.
    # Each process keeps its own /metrics: a scrape of the shared port sees one of them,
    # so Prometheus scrapes pods (Kubernetes, compose), never a shared port.
    reuse_port: bool = False
    log_level: str = "INFO"
    # The proxies in front (ingress, load balancer) whose `X-Forwarded-For` tells the
    # client's address: IPs or networks. Without them every client behind an ingress has
    # the ingress's address, and per-address limits become one limit for everyone.
    trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, proxies: list[str]) -> list[str]:
        # uvicorn would quietly trust nobody for a misspelt address, and everybody for "*"
        # (any client could then claim any address and escape the per-address limits).
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted proxy {proxy!r} must be an IP address or network"
                ) from None
        return proxies

    database_url: str = ""
    database_pool_size: int = 10
    # How long a request may wait for a free connection before it is answered 503: a
    # few seconds, so that under overload callers hear at once instead of timing out.
    database_pool_timeout_seconds: float = 3.0

    # Load shedding and body limits of the API (shared/api/guard.py). Requests in flight
    # per process: no more than the database pool (size + overflow), so an admitted
    # request never queues for a connection; past it a CPU-starved process only makes
    # every request wait longer (README, "Benchmarks": served p99 1.1-2.6 s with 64,
    # under 0.35 s with 16, at three times the sustainable rate).
    max_in_flight: int = 16
    max_body_bytes: int = 1024 * 1024

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prefix of every exchange and queue name: `dvc` gives `dvc.events`, `dvc.workflow`.
    amqp_namespace: str = "dvc"
    consumer_prefetch: int = 128
    # Messages the inbox consumer applies at most in one transaction (at most half the
    # prefetch, so the next batch is delivered while one is applied; what has arrived is
    # applied at once, so a batch is this big only when a backlog waits and latency stays
    # one transaction when none does; shared/messaging/consumer.py). A batch's commit and
    # its one ack are spread over up to 64 events.
    consumer_batch: int = 64
    # How long the inbox consumer, once a message arrives with nothing queued behind it,
    # and the outbox relay, once woken by a commit, wait for others to join the batch:
    # at a moderate rate one event per transaction costs several times its work (the
    # transaction, the ack, the relay's round), and a few milliseconds more per hop buy
    # batches of several. 0: apply and publish at once.
    batch_linger_ms: int = 25
    # Back-off of a failing handler: one TTL queue per step, then the parking queue.
    retry_delays_ms: list[int] = Field(default_factory=lambda: [1_000, 10_000, 60_000, 600_000])
    # Redeliveries after which RabbitMQ itself parks a message whose handler keeps
    # crashing the process (the quorum queue's x-delivery-limit).
    delivery_limit: int = 20

    s3_endpoint: str = "127.0.0.1:8333"
    s3_access_key: str = DEVELOPMENT_S3_ACCESS_KEY
    s3_secret_key: SecretStr | None = None
    s3_secure: bool = False
    s3_region: str = "us-east-1"

    jwt_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> BaseServiceSettings:
        if self.environment == "production":
            problems = self.production_problems()
            if problems:
                raise ValueError("refusing to start in production: " + "; ".join(problems))
            return self
        if not self.database_url:
            self.database_url = (
                f"postgresql+asyncpg://postgres@127.0.0.1:5432/dvc_{self.service_name}"
            )
        for name in self._SECRETS:
            if getattr(self, name) is None:
                setattr(self, name, SecretStr(development_secret(name, self.service_name)))
        return self

    def env_name(self, name: str) -> str:
        """The environment variable of setting `name`, e.g. `INTAKE_AMQP_URL`."""
        return f"{self.model_config.get('env_prefix', '')}{name.upper()}"

    def production_problems(self) -> list[str]:
        """What makes these settings unfit for production, each naming its variable.
        Services extend it with their own development-only choices."""
        problems = []
        for name in self._SECRETS:
            value = getattr(self, name)
            if value is None:
                problems.append(f"{self.env_name(name)} must be set")
            elif value.get_secret_value().startswith("dvc-dev"):
                problems.append(f"{self.env_name(name)} is a development value")
        for name in self.remote_addresses:
            value = getattr(self, name) or ""
            if not value or is_local(value):
                problems.append(
                    f"{self.env_name(name)} must name the service's host, not this machine"
                )
        broker = urlsplit(self.amqp_url)
        if broker.username in (None, "guest") or broker.password in (None, "guest"):
            problems.append(f"{self.env_name('amqp_url')} must carry the broker's own credentials")
        if self.s3_access_key == DEVELOPMENT_S3_ACCESS_KEY:
            problems.append(f"{self.env_name('s3_access_key')} is the development default")
        return problems

    def secret(self, name: str) -> str:
        """The plain value of a secret field (validated to be present)."""
        value = getattr(self, name)
        assert isinstance(value, SecretStr)
        return value.get_secret_value()


class SignInSettings(BaseServiceSettings):
    """A service whose own users sign in with a password (shared/security/signin.py):
    its tokens' lifetime and the lockout after wrong passwords (shared/db/lockout.py)."""

    token_ttl_seconds: int = 3600
    # This many wrong passwords in a row from one address lock that address out of the
    # account, for `lockout_seconds` doubling each time: an attacker locks only themselves.
    login_max_failures: int = 5
    # This many from all addresses together (a distributed attack) lock the account
    # everywhere, doubling as well, until its owner lifts it (each service says how).
    login_max_failures_all_addresses: int = 100
    lockout_seconds: int = 300


class TrackingLinkSettings(BaseServiceSettings):
    """A service that prints links to a dossier's public tracking page (in messages, on
    forms as a QR code): the page's address, checked once for every such service."""

    public_tracking_url: str = "https://dichvucong.bocongan.gov.vn/tra-cuu/{code}"

    @field_validator("public_tracking_url")
    @classmethod
    def _names_the_dossier(cls, value: str) -> str:
        # Formatted with the dossier's code only: without it every link shows the same
        # page, and with another field no link could be made at all.
        try:
            named = "\0" in value.format(code="\0")
        except (KeyError, IndexError, AttributeError, ValueError):
            named = False
        if not named:
            prefix = cls.model_config.get("env_prefix", "")
            raise ValueError(
                f"{prefix}PUBLIC_TRACKING_URL must contain {{code}} and no other field"
            )
        return value

    def production_problems(self) -> list[str]:
        """Beyond the common checks: a tracking page the public can reach."""
        problems = super().production_problems()
        if is_local(self.public_tracking_url):
            problems.append(
                f"{self.env_name('public_tracking_url')} must be the portal's public address,"
                " not this machine"
            )
        return problems
