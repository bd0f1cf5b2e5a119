"""The composition root of notify: every dependency is chosen here, once."""

from pathlib import Path
from typing import Any

from fastapi import APIRouter

from notify.adapters.channels import (
    DevelopmentSmsProvider,
    EmailSender,
    HttpSmsProvider,
    ScriptedSmsProvider,
    SmsProvider,
)
from notify.api import development, router
from notify.config import NotifySettings
from notify.consumers import HANDLERS
from notify.domain.delivery import RetryPolicy
from notify.services import templates
from notify.services.context import Context
from notify.services.sender import sender_worker
from shared.runtime import Resources, ServiceDefinition
from shared.security import OFFICER_AUDIENCE, RemoteTokenVerifier


def _sms(settings: NotifySettings) -> SmsProvider:
    if settings.sms_provider == "http":
        key = settings.sms_http_api_key.get_secret_value() if settings.sms_http_api_key else ""
        return HttpSmsProvider(
            settings.sms_http_url, key, settings.sms_sender, timeout=settings.send_timeout_seconds
        )
    if settings.sms_provider == "scripted":
        return ScriptedSmsProvider()
    return DevelopmentSmsProvider()


def _development_routers(settings: NotifySettings) -> list[APIRouter]:
    # The box holds one-time codes in clear: it must not exist outside a developer's machine.
    if settings.environment == "development" and settings.sms_provider == "development":
        return [development.router]
    return []


def build(settings: NotifySettings | None = None) -> ServiceDefinition[Context]:
    settings = settings or NotifySettings()

    async def context(resources: Resources[Any]) -> Context:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        ctx = Context.extend(
            resources,
            email=EmailSender(
                settings.smtp_host, settings.smtp_port, settings.smtp_from,
                starttls=settings.smtp_starttls, user=settings.smtp_user, password=password,
                timeout=settings.send_timeout_seconds,
            ),
            sms=_sms(settings),
            officers=RemoteTokenVerifier(
                settings.officer_jwks_url, issuer="workflow", audience=OFFICER_AUDIENCE,
                keys=settings.officer_jwks,
            ),
            retry=RetryPolicy(
                settings.max_attempts, settings.retry_base_seconds, settings.retry_max_seconds
            ),
        )  # fmt: skip
        await templates.load_defaults(ctx)
        return ctx

    return ServiceDefinition(
        name="notify",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        context=context,
        routers=[router, *_development_routers(settings)],
        handlers=HANDLERS,
        workers=[sender_worker],
    )
