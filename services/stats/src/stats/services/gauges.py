"""Business metrics for operations, refreshed in the background from the projections.

Labels are agency codes and statuses only: bounded sets, never a dossier or a person.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from prometheus_client import Gauge
from sqlalchemy import and_, case, exists, func, select

from shared.contracts.events import VIETNAM, DossierStatus, Judgement
from shared.db import Database
from shared.runtime import repeat
from stats.adapters.tables import facts, pauses
from stats.domain.report import rate
from stats.services.context import Context

log = logging.getLogger(__name__)

DOSSIERS = Gauge("stats_dossiers", "Dossiers by current status and agency.", ["agency", "status"])
OVERDUE = Gauge("stats_dossiers_overdue", "Open dossiers past their due date.", ["agency"])
ON_TIME = Gauge(
    "stats_on_time_rate", "Resolved early or on time this month, in percent.", ["agency"]
)
LAG = Gauge(
    "stats_consumer_lag_seconds", "Time from an event's occurrence to its projection (last)."
)

_open_pause = exists().where(
    pauses.c.code == facts.c.code, pauses.c.requested_at.is_not(None), pauses.c.resumed_at.is_(None)
)
STATUS = case(
    (facts.c.withdrawn_at.is_not(None), DossierStatus.WITHDRAWN.value),
    (facts.c.rejected_at.is_not(None), DossierStatus.REJECTED.value),
    (facts.c.returned_at.is_not(None), DossierStatus.RETURNED.value),
    (facts.c.resolved_at.is_not(None), DossierStatus.RESULT_READY.value),
    (facts.c.received_at.is_(None), DossierStatus.SUBMITTED.value),
    (_open_pause, DossierStatus.SUPPLEMENT_REQUESTED.value),
    else_=DossierStatus.IN_PROGRESS.value,
)
IN_TIME = (Judgement.EARLY.value, Judgement.ON_TIME.value)


async def refresh(db: Database) -> None:
    """The business gauges set from the projections as they are now."""
    now = datetime.now(UTC)
    month = now.astimezone(VIETNAM).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    async with db.transaction() as session:
        by_status = (
            await session.execute(
                select(facts.c.agency_code, STATUS, func.count()).group_by(
                    facts.c.agency_code, STATUS
                )
            )
        ).all()
        overdue = (
            await session.execute(
                select(facts.c.agency_code, func.count())
                .where(STATUS == DossierStatus.IN_PROGRESS, facts.c.due_at < now)
                .group_by(facts.c.agency_code)
            )
        ).all()
        rates = (
            await session.execute(
                select(
                    facts.c.agency_code,
                    func.count().filter(facts.c.judgement.in_(IN_TIME)),
                    func.count(),
                )
                .where(and_(facts.c.resolved_at >= month))
                .group_by(facts.c.agency_code)
            )
        ).all()
    DOSSIERS.clear()
    for agency, status, count in by_status:
        DOSSIERS.labels(agency, status).set(count)
    OVERDUE.clear()
    for agency, count in overdue:
        OVERDUE.labels(agency).set(count)
    ON_TIME.clear()
    for agency, good, resolved in rates:
        ON_TIME.labels(agency).set(rate(good, resolved) or 0)


async def gauges_worker(ctx: Context, stop: asyncio.Event) -> None:
    """The consume process's loop that keeps the business gauges current."""

    async def refresh_pass() -> int:
        await refresh(ctx.db)
        return 0

    await repeat(stop, refresh_pass, full=1, pause=ctx.settings.gauges_seconds, what="gauges")
