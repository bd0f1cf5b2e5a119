"""Writing events: into the outbox table, in the caller's transaction.

The relay publishes the row only if the transaction commits; a rollback takes the event
with it. `NOTIFY` is transactional too, so the relay wakes exactly when there is
something committed to publish.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, bindparam, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import Envelope, EventData
from shared.observability.context import current_correlation_id

NOTIFY_CHANNEL = "outbox"

# The row and the wake-up in one statement, built once (a data-modifying WITH runs whether
# or not its result is read). The envelope goes as pydantic's own JSON text, cast by the
# server, rather than as a dict serialised again.
ADD = text(
    "WITH added AS (INSERT INTO outbox (event_id, event_type, dossier_code, envelope)"
    " VALUES (:event_id, :event_type, :dossier_code, CAST(CAST(:envelope AS text) AS jsonb)))"
    " SELECT pg_notify(:channel, '')"
).bindparams(
    bindparam("event_id", type_=UUID(as_uuid=True)),
    bindparam("event_type", type_=Text),
    bindparam("dossier_code", type_=Text),
    bindparam("envelope", type_=Text),
    bindparam("channel", NOTIFY_CHANNEL, type_=Text),
)


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
        await session.execute(
            ADD,
            {
                "event_id": envelope.id,
                "event_type": envelope.type,
                "dossier_code": dossier_code,
                "envelope": envelope.model_dump_json(),
            },
        )
        return envelope
