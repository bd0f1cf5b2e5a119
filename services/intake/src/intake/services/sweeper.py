"""Objects of the attachments bucket that no row references, removed once they are old.

An upload writes the object first and its row after, in the request's transaction: a
process killed between the two (kill -9, the OOM killer, a node lost), or a store that
took the object but was away when the refused request tried to remove it, leaves an
object that nothing will ever read. Waiting `older_than` before removing one means an
upload still under way (object stored, row about to commit) is never touched.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from intake.adapters.tables import attachments
from intake.services.context import ATTACHMENTS_BUCKET, Context
from shared.db import Database
from shared.runtime import repeat
from shared.storage import ObjectStore

log = logging.getLogger(__name__)


async def sweep_orphans(
    db: Database, store: ObjectStore, *, older_than: timedelta, now: datetime | None = None
) -> int:
    """Remove the bucket's objects last modified more than `older_than` ago that no
    attachment row references; the number removed."""
    before = (now or datetime.now(UTC)) - older_than
    removed = 0
    async for keys in store.listing(ATTACHMENTS_BUCKET, before=before):
        async with db.transaction() as session:
            referenced = set(
                (
                    await session.execute(
                        select(attachments.c.object_key).where(
                            attachments.c.bucket == ATTACHMENTS_BUCKET,
                            attachments.c.object_key.in_(keys),
                        )
                    )
                ).scalars()
            )
        for key in keys:
            if key not in referenced:
                await store.remove(ATTACHMENTS_BUCKET, key)
                removed += 1
    if removed:
        log.info("orphan objects removed", extra={"removed": removed})
    return removed


async def sweeper_worker(ctx: Context, stop: asyncio.Event) -> None:
    """The consume process's loop that removes orphan objects every so often."""
    older_than = timedelta(hours=ctx.settings.orphan_objects_after_hours)

    async def sweep_pass() -> int:
        await sweep_orphans(ctx.db, ctx.store, older_than=older_than)
        return 0

    await repeat(stop, sweep_pass, full=1, pause=ctx.settings.orphan_sweep_seconds, what="sweeper")
