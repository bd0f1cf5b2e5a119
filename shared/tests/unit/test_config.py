"""Settings: a prefix per service, development defaults, no default secrets in production."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings


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


def test_production_refuses_to_start_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="DEMO_S3_SECRET_KEY must be set"):
        DemoSettings()
    monkeypatch.setenv("DEMO_S3_SECRET_KEY", "from-the-vault")
    monkeypatch.setenv("DEMO_JWT_SECRET", "also-from-the-vault")
    assert DemoSettings().secret("s3_secret_key") == "from-the-vault"
