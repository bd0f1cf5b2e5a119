"""Writing events: into the outbox table, in the caller's transaction.

The relay publishes the row only if the transaction commits; a rollback takes the event
with it. `NOTIFY` is transactional too, so the relay wakes exactly when there is
something committed to publish.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import Envelope, EventData
from shared.db.sql import Sql
from shared.observability.context import current_correlation_id

NOTIFY_CHANNEL = "outbox"


class Outbox:
    """The outbox of one service (`source` is stamped on every event it writes)."""

    def __init__(self, source: str) -> None:
        self.source = source

    async def add(
        self,
        session: AsyncSession,
        data: EventData,
        *,
        dossier_code: str | None = None,
        sequence: int | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        envelope = Envelope.wrap(
            data,
            source=self.source,
            dossier_code=dossier_code,
            sequence=sequence,
            correlation_id=current_correlation_id(),
            occurred_at=occurred_at,
        )
        await _ADD.execute(
            session, envelope.id, envelope.type, dossier_code, envelope.model_dump_json(),
            NOTIFY_CHANNEL,
        )  # fmt: skip
        return envelope


# The row and the relay's wake-up in one round trip, written once: every event a use case
# emits goes through here (see shared/db/sql.py).
_ADD = Sql(
    "WITH added AS (INSERT INTO outbox (event_id, event_type, dossier_code, envelope)"
    " VALUES ($1, $2, $3, $4) RETURNING id)"
    " SELECT pg_notify($5, '') FROM added"
)
