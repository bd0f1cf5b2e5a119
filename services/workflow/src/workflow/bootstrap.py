"""The composition root of workflow: every dependency is chosen here, once."""

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from shared.messaging import Outbox
from shared.runtime import Runtime, ServiceDefinition
from shared.security import TokenIssuer, jwks_router
from workflow.api import router
from workflow.config import WorkflowSettings
from workflow.consumers import handlers
from workflow.services import calendars, officers
from workflow.services.context import RESULTS_BUCKET, Context
from workflow.services.timers import timer_worker


def build(settings: WorkflowSettings | None = None) -> ServiceDefinition:
    settings = settings or WorkflowSettings()
    tokens = TokenIssuer(
        settings.secret("jwt_secret"),
        issuer="workflow",
        ttl=timedelta(seconds=settings.token_ttl_seconds),
    )
    outbox = Outbox("workflow")

    async def on_start(runtime: Runtime, app: FastAPI) -> None:
        ctx = Context(
            settings=settings,
            db=runtime.db,
            outbox=runtime.outbox,
            store=runtime.store,
            tokens=tokens,
            verifier=tokens.verifier(),
        )
        await calendars.store_shipped_years(ctx)
        if settings.seed_demo_officers and settings.environment == "development":
            await officers.seed_demo_officers(ctx, settings.demo_password)
        app.state.ctx = ctx

    return ServiceDefinition(
        name="workflow",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        routers=[router, jwks_router(tokens)],
        handlers=handlers(outbox),
        buckets=(RESULTS_BUCKET,),
        on_start=on_start,
        workers=[timer_worker(outbox, settings.timer_poll_seconds, settings.timer_batch)],
    )
