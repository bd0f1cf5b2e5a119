"""An event becomes messages: one delivery per channel and recipient, rendered from the
template in force and stored in the inbox transaction. Sending is the sender's job, so a
slow or broken gateway never holds up the queue.

A redelivered event finds its deliveries already there (unique on event, channel and
recipient) and adds nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify.adapters.tables import deliveries
from notify.domain.messages import FREE_TEXT, Target, targets, variables
from notify.domain.text import fit_sms, max_length, septets, unaccent
from notify.services import templates
from notify.services.context import Context
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.envelope import EventData

OTP_MASK = "******"


def sms_text(source: str, values: dict[str, Any], max_segments: int) -> str:
    """The SMS, unaccented; free text shortened first so the code and dates survive."""
    values = dict(values)
    for name in FREE_TEXT:
        text = unaccent(templates.render(source, values))
        over = septets(text) - max_length(max_segments)
        if over <= 0:
            return text
        if isinstance(values.get(name), str) and values[name]:
            keep = max(len(values[name]) - over - 3, 0)
            values[name] = values[name][:keep].rstrip() + "..."
    return fit_sms(templates.render(source, values), max_segments)


async def notify(ctx: Context, session: AsyncSession, envelope: Envelope, data: EventData) -> None:
    """The deliveries an event calls for, one per channel and recipient."""
    for target in targets(data):
        await _deliver(session, envelope, data, target, ctx.settings.sms_max_segments)


async def ignore(
    _ctx: Context, _session: AsyncSession, _envelope: Envelope, _data: EventData
) -> None:
    """An event nobody needs to hear about."""


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
        body = templates.render(template["body"], values)
        subject = templates.render(template["subject"] or "", values)
    display = body
    if isinstance(data, ev.AccountOtpRequested):
        # The code is sent, never shown: operators see the message with it masked.
        display = body.replace(data.otp, OTP_MASK)
    await session.execute(
        insert(deliveries)
        .values(
            id=uuid.uuid4(), event_id=envelope.id, event_type=envelope.type,
            dossier_code=envelope.dossier_code, channel=target.channel.value,
            recipient=target.address, recipient_name=target.name or None, template_key=key,
            template_version=template["version"], subject=subject, body=body,
            display_body=display,
        )
        .on_conflict_do_nothing(index_elements=["event_id", "channel", "recipient"])
    )  # fmt: skip
