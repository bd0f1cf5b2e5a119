"""Settings: a prefix per service, development defaults, no default secrets in production."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings, development_secret
from shared.testing.settings import production_env


class DemoSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "demo"
    model_config = SettingsConfigDict(env_prefix="DEMO_")


def test_development_defaults_name_the_service_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_DATABASE_URL", raising=False)
    settings = DemoSettings()
    assert settings.database_url.endswith("/dvc_demo")
    assert settings.secret("jwt_secret")


def test_values_come_from_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_AMQP_NAMESPACE", "staging")
    monkeypatch.setenv("DEMO_RETRY_DELAYS_MS", "[5, 50]")
    settings = DemoSettings()
    assert settings.amqp_namespace == "staging"
    assert settings.retry_delays_ms == [5, 50]


PRODUCTION = production_env("demo")


def test_production_refuses_to_start_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DEMO_S3_SECRET_KEY")
    monkeypatch.delenv("DEMO_JWT_SECRET")
    with pytest.raises(ValidationError, match="DEMO_S3_SECRET_KEY must be set"):
        DemoSettings()
    monkeypatch.setenv("DEMO_S3_SECRET_KEY", "from-the-vault")
    monkeypatch.setenv("DEMO_JWT_SECRET", "also-from-the-vault")
    assert DemoSettings().secret("s3_secret_key") == "from-the-vault"


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("DEMO_DATABASE_URL", "", "DEMO_DATABASE_URL"),
        ("DEMO_DATABASE_URL", "postgresql+asyncpg://u:p@127.0.0.1/dvc", "DEMO_DATABASE_URL"),
        ("DEMO_AMQP_URL", "amqp://guest:guest@rabbitmq.internal:5672/", "DEMO_AMQP_URL"),
        ("DEMO_AMQP_URL", "amqp://localhost/", "DEMO_AMQP_URL"),
        ("DEMO_S3_ENDPOINT", "localhost:9000", "DEMO_S3_ENDPOINT"),
        ("DEMO_S3_ACCESS_KEY", "dvc-dev", "DEMO_S3_ACCESS_KEY"),
        ("DEMO_S3_SECRET_KEY", "dvc-dev-secret-key", "DEMO_S3_SECRET_KEY"),
        ("DEMO_JWT_SECRET", development_secret("jwt_secret", "demo"), "DEMO_JWT_SECRET"),
    ],
)
def test_production_refuses_development_values_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    for key, production in PRODUCTION.items():
        monkeypatch.setenv(key, production)
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=named):
        DemoSettings()


def test_each_issuer_has_its_own_development_key() -> None:
    class OtherSettings(BaseServiceSettings):
        service_name: ClassVar[str] = "other"
        model_config = SettingsConfigDict(env_prefix="OTHER_")

    assert DemoSettings().secret("jwt_secret") != OtherSettings().secret("jwt_secret")


def test_a_service_extends_the_checks_and_every_problem_is_told_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class RelaySettings(DemoSettings):
        remote_addresses: ClassVar[tuple[str, ...]] = (
            *DemoSettings.remote_addresses,
            "relay_host",
        )
        relay_host: str = "127.0.0.1"
        sandbox: bool = True

        def production_problems(self) -> list[str]:
            problems = super().production_problems()
            if self.sandbox:
                problems.append(f"{self.env_name('sandbox')} must be false")
            return problems

    for key, production in PRODUCTION.items():
        monkeypatch.setenv(key, production)
    monkeypatch.setenv("DEMO_S3_ACCESS_KEY", "dvc-dev")
    with pytest.raises(ValidationError) as refused:
        RelaySettings()
    for named in ("DEMO_S3_ACCESS_KEY", "DEMO_RELAY_HOST", "DEMO_SANDBOX must be false"):
        assert named in str(refused.value)
    monkeypatch.setenv("DEMO_S3_ACCESS_KEY", "demo-service")
    monkeypatch.setenv("DEMO_RELAY_HOST", "relay.internal")
    monkeypatch.setenv("DEMO_SANDBOX", "false")
    assert RelaySettings().relay_host == "relay.internal"


@pytest.mark.parametrize("proxy", ["*", "ingress.internal", "10.0.0.0/33", ""])
def test_trusted_proxies_are_addresses_or_networks(
    monkeypatch: pytest.MonkeyPatch, proxy: str
) -> None:
    monkeypatch.setenv("DEMO_TRUSTED_PROXIES", f'["{proxy}"]')
    with pytest.raises(ValidationError, match="trusted proxy"):
        DemoSettings()
    monkeypatch.setenv("DEMO_TRUSTED_PROXIES", '["10.244.0.0/16", "127.0.0.1"]')
    assert DemoSettings().trusted_proxies == ["10.244.0.0/16", "127.0.0.1"]
