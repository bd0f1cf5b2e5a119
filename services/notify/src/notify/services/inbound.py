"""An event becomes messages: one delivery per channel and recipient, rendered from the
template in force and stored in the inbox transaction. Sending is the sender's job, so a
slow or broken gateway never holds up the queue.

The consumer hands `notify` the consecutive events of a batch that call for messages, in
their order: the run reads the templates it needs once and writes its deliveries in one
round trip, with exactly the rows the events applied one after another would give.

A redelivered event finds its deliveries already there (unique on event, channel and
recipient) and adds nothing. Each delivery keeps its dossier's agency, which decides who
may read it; the catalogue tells notify which agencies are under which.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from notify.adapters.tables import agencies
from notify.domain.messages import Target, targets, variables
from notify.domain.privacy import shown_body
from notify.domain.templates import render, sms_text
from notify.services import templates
from notify.services.context import Context
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from shared.db.rows import upsert
from shared.db.sql import Sql
from shared.messaging import Batched

# Written once; a run's deliveries are its rows, run one after another in one round trip,
# so that a delivery a row before already made (the same event, channel and recipient)
# is skipped as it would be by the events applied one by one.
_ADD = Sql(
    "INSERT INTO deliveries (id, event_id, event_type, dossier_code, agency_code, channel,"
    " recipient, recipient_name, template_key, template_version, subject, body, display_body,"
    " correlation_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    " ON CONFLICT (event_id, channel, recipient) DO NOTHING"
)


async def _notify(
    ctx: Context, session: AsyncSession, events: Sequence[tuple[Envelope, EventData]]
) -> None:
    """The deliveries a run of events calls for, one per channel and recipient."""
    told = [(envelope, data, target) for envelope, data in events for target in targets(data)]
    if not told:
        return
    keys = {f"{envelope.type}.{target.channel.value}" for envelope, _, target in told}
    in_force = await templates.current(session, keys)
    rows = []
    for envelope, data, target in told:
        key = f"{envelope.type}.{target.channel.value}"
        template = in_force.get(key)
        if template is None:
            # Nothing to say on this channel for this event (e.g. no email for an OTP).
            continue
        rows.append(_row(envelope, data, target, key, template, ctx.settings.sms_max_segments))
    if not rows:
        return
    await _ADD.executemany(session, rows)
    # The sender may claim them only once they are committed: woken after the commit.
    event.listen(
        session.sync_session, "after_commit", lambda _s: ctx.deliveries_added.set(), once=True
    )


notify = Batched(_notify)


def _row(
    envelope: Envelope,
    data: EventData,
    target: Target,
    key: str,
    template: Mapping[str, Any],
    max_segments: int,
) -> tuple[Any, ...]:
    values = variables(envelope, data, target)
    if target.channel is ev.Channel.SMS:
        body = sms_text(template["body"], values, max_segments)
        subject = None
    else:
        body = render(template["body"], values)
        subject = render(template["subject"] or "", values)
    return (
        uuid.uuid4(), envelope.id, envelope.type, envelope.dossier_code,
        data.agency_code if isinstance(data, ev.DossierEvent) else None, target.channel.value,
        target.address, target.name or None, key, template["version"], subject, body,
        shown_body(data, body), envelope.correlation_id,
    )  # fmt: skip


async def catalogue_published(
    _ctx: Context, session: AsyncSession, _envelope: Envelope, data: ev.CataloguePublished
) -> None:
    """Learn the agency tree; agencies no longer listed stay, their deliveries with them."""
    for agency in data.agencies:
        row = {"code": agency.code, "name": agency.name, "parent_code": agency.parent_code}
        await upsert(session, agencies, row)
