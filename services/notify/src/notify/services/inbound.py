"""An event becomes messages: one delivery per channel and recipient, rendered from the
template in force and stored in the inbox transaction. Sending is the sender's job, so a
slow or broken gateway never holds up the queue.

A redelivered event finds its deliveries already there (unique on event, channel and
recipient) and adds nothing. Each delivery keeps its dossier's agency, which decides who
may read it; the catalogue tells notify which agencies are under which.
"""

from __future__ import annotations

import uuid

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify.adapters.tables import agencies, deliveries
from notify.domain.messages import Target, targets, variables
from notify.domain.privacy import shown_body
from notify.domain.templates import render, sms_text
from notify.services import templates
from notify.services.context import Context
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from shared.db.rows import upsert

# Built once; each delivery's values are its parameters.
_ADD = insert(deliveries).on_conflict_do_nothing(
    index_elements=["event_id", "channel", "recipient"]
)


async def notify(ctx: Context, session: AsyncSession, envelope: Envelope, data: EventData) -> None:
    """The deliveries an event calls for, one per channel and recipient."""
    for target in targets(data):
        await _deliver(session, envelope, data, target, ctx.settings.sms_max_segments)
    # The sender may claim them only once they are committed: woken after the commit.
    event.listen(
        session.sync_session, "after_commit", lambda _s: ctx.deliveries_added.set(), once=True
    )


async def _deliver(
    session: AsyncSession, envelope: Envelope, data: EventData, target: Target, max_segments: int
) -> None:
    key = f"{envelope.type}.{target.channel.value}"
    template = await templates.current(session, key)
    if template is None:
        # Nothing to say on this channel for this event (e.g. no email for an OTP).
        return
    values = variables(envelope, data, target)
    if target.channel is ev.Channel.SMS:
        body = sms_text(template["body"], values, max_segments)
        subject = None
    else:
        body = render(template["body"], values)
        subject = render(template["subject"] or "", values)
    await session.execute(
        _ADD,
        {
            "id": uuid.uuid4(), "event_id": envelope.id, "event_type": envelope.type,
            "dossier_code": envelope.dossier_code,
            "agency_code": data.agency_code if isinstance(data, ev.DossierEvent) else None,
            "channel": target.channel.value,
            "recipient": target.address, "recipient_name": target.name or None,
            "template_key": key, "template_version": template["version"], "subject": subject,
            "body": body, "display_body": shown_body(data, body),
        },
    )  # fmt: skip


async def catalogue_published(
    _ctx: Context, session: AsyncSession, _envelope: Envelope, data: ev.CataloguePublished
) -> None:
    """Learn the agency tree; agencies no longer listed stay, their deliveries with them."""
    for agency in data.agencies:
        row = {"code": agency.code, "name": agency.name, "parent_code": agency.parent_code}
        await upsert(session, agencies, row)
