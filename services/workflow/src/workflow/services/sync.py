"""Synchronisation with the National Public Service Portal (docs/NATIONAL_SYNC.md): the
sending of the records `national_outbox.queue` wrote.

- `sync_worker`: the consume process's loop. A pass claims, with `FOR UPDATE SKIP
  LOCKED`, the oldest unsent record of each dossier that is due, and only if no earlier
  record of that dossier is still unsent: a later record never overtakes an earlier one,
  however many processes run the loop. A failed attempt puts the record (and so the
  dossier's later ones) off by an exponential back-off. A record accepted is announced
  (`dossier.synced`, through the outbox in the same transaction): stats counts Decision
  766's synchronisation rate from it.
- `state`: the dossier's sync state, for operators.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.contracts import events as ev
from shared.db import Database
from shared.messaging import Outbox
from shared.runtime import repeat
from workflow.adapters.national import NationalPortal, SendFailed
from workflow.adapters.tables import cases, national_sync
from workflow.config import WorkflowSettings
from workflow.domain import national
from workflow.services import national_outbox
from workflow.services.changes import Officer, read_case
from workflow.services.context import Context

log = logging.getLogger(__name__)

FAILURES = Counter(
    "workflow_national_sync_failures_total",
    "Failed attempts to send a record to the national portal, by reason",
    ["reason"],
)
SENT = Counter(
    "workflow_national_sync_sent_total",
    "Records the national portal accepted (duplicate: it already had the record)",
    ["duplicate"],
)
PENDING = Gauge(
    "workflow_national_sync_pending_records", "Records waiting to be sent to the national portal"
)
OLDEST = Gauge(
    "workflow_national_sync_oldest_pending_seconds", "Age of the oldest record not yet sent"
)
# Decision 766's synchronisation rate is synced / all.
DOSSIERS = Gauge(
    "workflow_national_sync_dossiers",
    "Dossiers with records for the national portal: all, and synced (nothing pending)",
    ["state"],
)


def _due(now: datetime, batch: int) -> Any:
    """The head record of each dossier that is due, locked, skipping those others hold."""
    earlier = aliased(national_sync)
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.case_id == national_sync.c.case_id,
            earlier.c.sent_at.is_(None),
            earlier.c.sequence < national_sync.c.sequence,
        )
        .exists()
    )
    return (
        select(national_sync)
        .where(national_sync.c.sent_at.is_(None), national_sync.c.next_attempt_at <= now, ~blocked)
        .order_by(national_sync.c.next_attempt_at, national_sync.c.id)
        .limit(batch)
        .with_for_update(of=national_sync, skip_locked=True)
    )


async def send_due(
    db: Database, outbox: Outbox, portal: NationalPortal, settings: WorkflowSettings
) -> int:
    """One pass: send each due dossier's next record; returns how many were attempted."""
    now = datetime.now(UTC)
    async with db.transaction() as session:
        rows = (await session.execute(_due(now, settings.national_batch))).mappings().all()
        # One attempt per dossier at a time, dossiers side by side.
        outcomes = await asyncio.gather(*(_attempt(portal, r["record"]) for r in rows))
        done = datetime.now(UTC)
        dossiers = await _cases(
            session, [r["case_id"] for r, f in zip(rows, outcomes, strict=True) if f is None]
        )
        for row, failure in zip(rows, outcomes, strict=True):
            attempts = row["attempts"] + 1
            if failure is None:
                values: dict[str, Any] = {"sent_at": done, "last_error": None}
                await _announce(outbox, session, dossiers[row["case_id"]], row, done)
            else:
                wait = national.backoff(
                    attempts,
                    base=settings.national_retry_base_seconds,
                    cap=settings.national_retry_max_seconds,
                )
                values = {"last_error": str(failure), "next_attempt_at": done + wait}
                # The dossier's code is an administrative reference, not personal data.
                log.warning(
                    "national portal sync failed",
                    extra={"dossier_code": row["dossier_code"], "sequence": row["sequence"],
                           "attempts": attempts, "reason": failure.reason},
                )  # fmt: skip
            await session.execute(
                national_sync.update()
                .where(national_sync.c.id == row["id"])
                .values(attempts=attempts, last_attempt_at=done, **values)
            )
    return len(rows)


async def _cases(session: AsyncSession, ids: list[Any]) -> dict[Any, dict[str, Any]]:
    """The cases of the records accepted, by id, in one query (what `dossier.synced` says)."""
    if not ids:
        return {}
    found = await session.execute(select(cases).where(cases.c.id.in_(ids)))
    return {c["id"]: dict(c) for c in found.mappings()}


async def _announce(
    outbox: Outbox, session: AsyncSession, case: dict[str, Any], row: Any, sent_at: datetime
) -> None:
    synced = ev.DossierSynced(
        **national_outbox.dossier_facts(case),
        status_code=row["status_code"], record_sequence=row["sequence"], sent_at=sent_at,
    )  # fmt: skip
    await outbox.add(session, synced, dossier_code=row["dossier_code"], occurred_at=sent_at)


async def _attempt(portal: NationalPortal, record: dict[str, Any]) -> SendFailed | None:
    try:
        duplicate = await portal.send(record)
    except SendFailed as failure:
        FAILURES.labels(reason=failure.reason).inc()
        return failure
    SENT.labels(duplicate=str(duplicate).lower()).inc()
    return None


async def measure(db: Database) -> dict[str, int]:
    """The backlog and Decision 766's counts, into the gauges; returned for callers."""
    async with db.transaction() as session:
        pending = (
            await session.execute(
                select(
                    func.count(),
                    func.count(func.distinct(national_sync.c.case_id)),
                    func.min(national_sync.c.created_at),
                ).where(national_sync.c.sent_at.is_(None))
            )
        ).one()
        every = await session.scalar(select(func.count(func.distinct(national_sync.c.case_id))))
    counts = {"pending_records": pending[0], "all": int(every or 0)}
    counts["synced"] = counts["all"] - pending[1]
    PENDING.set(counts["pending_records"])
    oldest = pending[2]
    OLDEST.set((datetime.now(UTC) - oldest).total_seconds() if oldest else 0)
    DOSSIERS.labels(state="all").set(counts["all"])
    DOSSIERS.labels(state="synced").set(counts["synced"])
    return counts


async def sync_worker(ctx: Context, stop: asyncio.Event) -> None:
    """The consume process's loop over `send_due`, and the gauges every so often."""
    s = ctx.settings
    if not s.national_url:
        # Development and tests without a portal: records wait in the table, unsent.
        log.warning("no national portal address: records are kept, not sent")
        await stop.wait()
        return
    portal = NationalPortal(
        s.national_url, s.national_client_id, s.secret("national_client_secret"),
        timeout=s.national_timeout_seconds,
    )  # fmt: skip

    measured_at: float | None = None

    async def step() -> int:
        nonlocal measured_at
        handled = await send_due(ctx.db, ctx.outbox, portal, s)
        if measured_at is None or time.monotonic() - measured_at >= s.national_measure_seconds:
            await measure(ctx.db)
            measured_at = time.monotonic()
        return handled

    try:
        await repeat(
            stop, step, full=s.national_batch, pause=s.national_poll_seconds, what="national sync"
        )
    finally:
        await portal.close()


async def state(session: AsyncSession, case_id: Any) -> dict[str, Any]:
    """The dossier's sync state: the last code the portal accepted and when, the error
    of the last attempt if it failed, and how many records wait."""
    rows = (
        (
            await session.execute(
                select(national_sync)
                .where(national_sync.c.case_id == case_id)
                .order_by(national_sync.c.sequence)
            )
        )
        .mappings()
        .all()
    )
    sent = [r for r in rows if r["sent_at"] is not None]
    waiting = [r for r in rows if r["sent_at"] is None]
    attempted = [r for r in rows if r["last_attempt_at"] is not None]
    latest = max(attempted, key=lambda r: r["last_attempt_at"], default=None)
    return {
        "last_status_code": sent[-1]["status_code"] if sent else None,
        "last_sent_at": sent[-1]["sent_at"] if sent else None,
        "last_error": latest["last_error"] if latest is not None else None,
        "pending": len(waiting),
        "next_attempt_at": waiting[0]["next_attempt_at"] if waiting else None,
        "records": len(rows),
        "synced": bool(rows) and not waiting,
    }


async def dossier_state(ctx: Context, officer: Officer, code: str) -> dict[str, Any]:
    """The sync state of one of the officer's agency's dossiers (404 for another's)."""
    async with ctx.db.transaction() as session:
        case = await read_case(session, code, officer.agency_code)
        return {"code": code, **await state(session, case["id"])}
