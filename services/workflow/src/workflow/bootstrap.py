"""The composition root of workflow: every dependency is chosen here, once."""

from functools import partial
from pathlib import Path
from typing import Any

from shared.runtime import Resources, ServiceDefinition
from shared.security import OFFICER_AUDIENCE, jwks_router
from shared.security.signin import SignInTables, token_issuer
from workflow.adapters.tables import idempotency_keys, login_failures, rate_limits
from workflow.api import router
from workflow.config import WorkflowSettings
from workflow.consumers import HANDLERS
from workflow.services import calendars, officers
from workflow.services.context import ATTACHMENTS_BUCKET, RESULTS_BUCKET, Context
from workflow.services.sync import sync_worker
from workflow.services.timers import timer_worker


def build(settings: WorkflowSettings | None = None) -> ServiceDefinition[Context]:
    settings = settings or WorkflowSettings()
    tokens = token_issuer(settings, OFFICER_AUDIENCE)
    tables = SignInTables(idempotency_keys, login_failures, rate_limits)

    async def context(resources: Resources[Any]) -> Context:
        session_version = partial(officers.session_version, resources.db)
        ctx = Context.signing_in(resources, settings, tokens, tables, session_version)
        await calendars.store_shipped_years(ctx)
        if settings.seed_demo_officers and settings.environment == "development":
            await officers.seed_demo_officers(ctx, settings.demo_password)
        return ctx

    return ServiceDefinition(
        name="workflow",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        context=context,
        routers=[router, jwks_router(tokens)],
        handlers=HANDLERS,
        workers=[timer_worker, sync_worker],
        # Attachments: the desk stores the scans of the paper dossiers it registers.
        buckets=(RESULTS_BUCKET, ATTACHMENTS_BUCKET),
    )
