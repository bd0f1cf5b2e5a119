"""Which routes notify serves, by its settings: nothing running."""

from __future__ import annotations

from typing import Any

from notify.bootstrap import build
from notify.config import NotifySettings
from shared.runtime import Role, Runtime, create_app

PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "database_url": "postgresql+asyncpg://notify:secret@db.internal:5432/dvc_notify",
    "amqp_url": "amqp://notify:secret@broker.internal:5672/",
    "s3_endpoint": "store.internal:9000",
    "s3_access_key": "notify-store",
    "s3_secret_key": "a-real-store-secret",
    "jwt_secret": "a-real-notify-secret",
    "smtp_host": "smtp-relay.internal",
    "smtp_from": "Cong dich vu cong <noreply@dichvucong.example.vn>",
    "officer_jwks_url": "http://workflow.internal/.well-known/jwks.json",
    "sms_http_url": "https://sms-gateway.example.vn/send",
    "sms_http_api_key": "a-real-gateway-key",
}


def _paths(settings: NotifySettings) -> set[str]:
    # Building the app connects to nothing: the routes are all that is looked at.
    app = create_app(Runtime(build(settings)), set(Role))
    return set(app.openapi()["paths"])


def test_the_development_sms_box_exists_only_in_development_with_its_provider() -> None:
    assert "/api/v1/dev/sms" in _paths(NotifySettings(sms_provider="development"))
    assert "/api/v1/dev/sms" not in _paths(NotifySettings(sms_provider="scripted"))
    # Production refuses the development provider outright (test_config.py); with the real
    # gateway there is no development box either.
    production = NotifySettings(**PRODUCTION, sms_provider="http")
    assert "/api/v1/dev/sms" not in _paths(production)
    assert "/api/v1/notifications" in _paths(production)
