"""The composition root of intake: every dependency is chosen here, once."""

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from intake.api import router
from intake.config import IntakeSettings
from intake.consumers import HANDLERS
from intake.services import catalogue
from intake.services.context import ATTACHMENTS_BUCKET, Context
from shared.runtime import Runtime, ServiceDefinition
from shared.security import TokenIssuer, jwks_router


def build(settings: IntakeSettings | None = None) -> ServiceDefinition:
    settings = settings or IntakeSettings()
    tokens = TokenIssuer(
        settings.secret("jwt_secret"),
        issuer="intake",
        ttl=timedelta(seconds=settings.token_ttl_seconds),
    )

    async def on_start(runtime: Runtime, app: FastAPI) -> None:
        ctx = Context(
            settings=settings,
            db=runtime.db,
            outbox=runtime.outbox,
            store=runtime.store,
            tokens=tokens,
            verifier=tokens.verifier(),
        )
        # The catalogue shipped with this version of the service is the one in force.
        await catalogue.load_catalogue(ctx)
        app.state.ctx = ctx

    return ServiceDefinition(
        name="intake",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        routers=[router, jwks_router(tokens)],
        handlers=HANDLERS,
        buckets=(ATTACHMENTS_BUCKET,),
        on_start=on_start,
    )
