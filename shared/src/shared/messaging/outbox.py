"""Writing events: into the outbox table, in the caller's transaction.

The relay publishes the row only if the transaction commits; a rollback takes the event
with it. `NOTIFY` is transactional too, so the relay wakes exactly when there is
something committed to publish.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.contracts.envelope import Envelope, EventData
from shared.db.sql import Runner, Sql
from shared.observability.context import current_correlation_id

NOTIFY_CHANNEL = "outbox"


class Outbox:
    """The outbox of one service (`source` is stamped on every event it writes)."""

    def __init__(self, source: str) -> None:
        self.source = source

    async def add(
        self,
        session: Runner,
        data: EventData,
        *,
        dossier_code: str | None = None,
        sequence: int | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        envelope = self.wrap(
            data, dossier_code=dossier_code, sequence=sequence, occurred_at=occurred_at
        )
        await _ADD.execute(session, *row_of(envelope))
        return envelope

    async def add_all(self, session: Runner, envelopes: Sequence[Envelope]) -> None:
        """Envelopes made by `wrap`, written in one round trip (a handler of a run of
        events, whose events each carry the correlation id of the one that caused it)."""
        if envelopes:
            await _ADD.executemany(session, [row_of(e) for e in envelopes])

    def wrap(
        self,
        data: EventData,
        *,
        dossier_code: str | None = None,
        sequence: int | None = None,
        occurred_at: datetime | None = None,
        correlation_id: str | None = None,
    ) -> Envelope:
        """The event's envelope as `add` writes it, for a statement that writes it with
        other rows (`added`, `add_all`); in the correlation in force unless given one."""
        return Envelope.wrap(
            data,
            source=self.source,
            dossier_code=dossier_code,
            sequence=sequence,
            correlation_id=correlation_id or current_correlation_id(),
            occurred_at=occurred_at,
        )


def row_of(envelope: Envelope) -> tuple[Any, ...]:
    """The parameters of `added` (five) for `envelope`."""
    return (
        envelope.id, envelope.type, envelope.dossier_code, envelope.model_dump_json(),
        NOTIFY_CHANNEL,
    )  # fmt: skip


def added(first: int) -> str:
    """The outbox row and the relay's wake-up as the last part of a statement whose other
    writes come before as `WITH` queries, with its five parameters (`row_of`) numbered
    from `first`: a use case's change and its event in one round trip."""
    a, b, c, d, e = (f"${n}" for n in range(first, first + 5))
    return (
        f"added AS (INSERT INTO outbox (event_id, event_type, dossier_code, envelope)"  # noqa: S608 - parameter numbers only
        f" VALUES ({a}, {b}, {c}, {d}) RETURNING id)"
        f" SELECT pg_notify({e}, '') FROM added"
    )


# The row and the relay's wake-up in one round trip, written once: every event a use case
# emits goes through here (see shared/db/sql.py).
_ADD = Sql("WITH " + added(1))
