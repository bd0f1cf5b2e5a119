"""The composition root of notify: every dependency is chosen here, once."""

from pathlib import Path

from fastapi import FastAPI

from notify.adapters.channels import (
    DevelopmentSmsProvider,
    EmailSender,
    HttpSmsProvider,
    ScriptedSmsProvider,
    SmsProvider,
)
from notify.api import router
from notify.config import NotifySettings
from notify.consumers import handlers
from notify.services import templates
from notify.services.context import Context
from notify.services.sender import sender_worker
from shared.runtime import Runtime, ServiceDefinition
from shared.security import RemoteTokenVerifier


def _sms(settings: NotifySettings, runtime: Runtime) -> SmsProvider:
    if settings.sms_provider == "http":
        key = settings.sms_http_api_key.get_secret_value() if settings.sms_http_api_key else ""
        return HttpSmsProvider(
            settings.sms_http_url, key, settings.sms_sender, timeout=settings.send_timeout_seconds
        )
    if settings.sms_provider == "scripted":
        return ScriptedSmsProvider()
    return DevelopmentSmsProvider(runtime.db)


def build(settings: NotifySettings | None = None) -> ServiceDefinition:
    settings = settings or NotifySettings()
    contexts: dict[int, Context] = {}

    async def context(runtime: Runtime) -> Context:
        # One context per runtime, shared by the API and the sender of that process.
        if id(runtime) not in contexts:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
            contexts[id(runtime)] = Context(
                settings=settings,
                db=runtime.db,
                outbox=runtime.outbox,
                email=EmailSender(
                    settings.smtp_host, settings.smtp_port, settings.smtp_from,
                    starttls=settings.smtp_starttls, user=settings.smtp_user, password=password,
                    timeout=settings.send_timeout_seconds,
                ),
                sms=_sms(settings, runtime),
                officers=RemoteTokenVerifier(settings.officer_jwks_url, keys=settings.officer_jwks),
            )  # fmt: skip
            await templates.load_defaults(contexts[id(runtime)])
        return contexts[id(runtime)]

    async def on_start(runtime: Runtime, app: FastAPI) -> None:
        app.state.ctx = await context(runtime)

    return ServiceDefinition(
        name="notify",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        handlers=handlers(settings.sms_max_segments),
        buckets=(),
        on_start=on_start,
        workers=[sender_worker(context)],
    )
