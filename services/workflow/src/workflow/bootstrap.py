"""The composition root of workflow: every dependency is chosen here, once."""

from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from shared.db.idempotency import IdempotencyKeys
from shared.db.limits import RateLimits
from shared.db.lockout import SignInLockout
from shared.runtime import Resources, ServiceDefinition
from shared.security import OFFICER_AUDIENCE, TokenIssuer, jwks_router
from shared.security.sessions import SessionVersions
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
    tokens = TokenIssuer(
        settings.secret("jwt_secret"),
        issuer="workflow",
        audience=OFFICER_AUDIENCE,
        ttl=timedelta(seconds=settings.token_ttl_seconds),
    )

    async def context(resources: Resources[Any]) -> Context:
        ctx = Context.extend(
            resources,
            tokens=tokens,
            verifier=tokens.verifier(),
            idempotency=IdempotencyKeys(idempotency_keys, settings.secret("jwt_secret")),
            limits=RateLimits(rate_limits, settings.secret("jwt_secret")),
            lockout=SignInLockout(
                login_failures,
                settings.secret("jwt_secret"),
                max_failures=settings.login_max_failures,
                max_failures_all_addresses=settings.login_max_failures_all_addresses,
                lockout_seconds=settings.lockout_seconds,
            ),
            sessions=SessionVersions(partial(officers.session_version, resources.db)),
        )
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
