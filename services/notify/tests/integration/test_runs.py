"""A batch of events applied together gives exactly what the same events applied one by
one give: the deliveries, then the sender's pass (outcomes, attempts, the development
box, the announcements and their correlation ids)."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from notify.adapters.tables import attempts, deliveries, dev_sms
from notify.consumers import HANDLERS
from notify.services import sender
from services.notify.tests.conftest import StartNotify
from services.notify.tests.integration.test_notifications import (
    CITIZEN,
    NOW,
    every_event,
    otp_requested,
)
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.messaging import InboxConsumer
from shared.messaging.tables import outbox
from shared.runtime import Role, bind_all
from shared.testing.delivered import Delivered
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration


async def _apply(consumer: InboxConsumer, envelopes: list[Envelope]) -> None:
    """`envelopes` delivered together: one batch."""
    delivered: list[Any] = [Delivered(e) for e in envelopes]
    await consumer.on_batch(delivered)


def _batch() -> list[Envelope]:
    """Two events of one dossier, an event that tells nobody between two runs, a code for
    an account, a redelivered copy (a new id) and a duplicate (the same id), an officer
    listed twice and a number no operator takes (a failure to announce)."""
    events = every_event()
    lan = events["due_soon"].officer_contacts[0]  # type: ignore[attr-defined]
    due_soon = events["due_soon"].model_copy(update={"officer_contacts": [lan, lan]})
    wrong = ev.AccountPasswordChanged(
        account_id=uuid.uuid4(), how="reset", phone="12345", email=None,
        full_name="Nguyễn Thị Bích", changed_at=NOW,
    )  # fmt: skip

    def wrap(data: ev.EventData, code: str | None, n: int) -> Envelope:
        return Envelope.wrap(data, source="test", dossier_code=code, correlation_id=f"c-{n}")

    code = "G01.306.000.000-261201-0001"
    received = wrap(events["received"], code, 1)
    otp = otp_requested().model_copy(update={"correlation_id": "c-4"})
    return [
        received,
        wrap(events["supplement_requested"], code, 2),
        wrap(events["assigned"], code, 3),
        otp,
        received.model_copy(update={"id": uuid.uuid4(), "correlation_id": "c-5"}),
        otp,
        wrap(due_soon, "G01.306.000.000-261201-0002", 7),
        wrap(wrong, None, 8),
    ]


def _copy(batch: list[Envelope]) -> list[Envelope]:
    """The same events under new ids (an id twice stays twice)."""
    ids = {e.id: uuid.uuid4() for e in batch}
    return [e.model_copy(update={"id": ids[e.id]}) for e in batch]


async def _outcome(notify: ServiceUnderTest, batch: list[Envelope]) -> dict[str, Any]:
    """What the events of `batch` made, by their position in it (not their ids)."""
    position = {e.id: n for n, e in reversed(list(enumerate(batch)))}
    async with notify.runtime.db.transaction() as session:
        made = (await session.execute(select(deliveries))).mappings().all()
        tried = (await session.execute(select(attempts))).mappings().all()
        announced = (await session.execute(select(outbox.c.envelope))).scalars().all()
    mine = {d["id"]: d for d in made if d["event_id"] in position}
    key = {i: (position[d["event_id"]], d["channel"], d["recipient"]) for i, d in mine.items()}
    kept = ("event_type", "dossier_code", "agency_code", "recipient_name", "template_key",
            "template_version", "subject", "body", "display_body", "status", "attempts",
            "last_error")  # fmt: skip
    envelopes = [Envelope.model_validate(e) for e in announced]
    return {
        "deliveries": sorted((key[i], [d[c] for c in kept]) for i, d in mine.items()),
        "attempts": sorted(
            (key[a["delivery_id"]], a["attempt"], a["outcome"], a["error"])
            for a in tried
            if a["delivery_id"] in mine
        ),
        "announced": sorted(
            (key[d], e.type, e.data["attempts"], e.data["template"], e.correlation_id)
            for e in envelopes
            if (d := uuid.UUID(e.data["delivery_id"])) in mine
        ),
    }


async def _sms_kept(notify: ServiceUnderTest) -> Counter[tuple[str, str]]:
    async with notify.runtime.db.transaction() as session:
        rows = (await session.execute(select(dev_sms.c.phone, dev_sms.c.text))).all()
    return Counter((phone, text) for phone, text in rows)


async def test_a_batch_gives_what_its_events_one_by_one_give(start_notify: StartNotify) -> None:
    # No consumer or sender of its own: the test hands the batches over and sends.
    notify = await start_notify(
        roles=frozenset({Role.API}), sms_provider="development", sender_batch=64
    )
    ctx = notify.app.state.ctx
    consumer = InboxConsumer(
        "notify", notify.runtime.db, notify.runtime.broker, bind_all(HANDLERS, ctx),
        notify.runtime.metrics,
    )  # fmt: skip
    batch = _batch()
    alone = _copy(batch)

    for one in alone:
        await _apply(consumer, [one])
    for delivery in await sender.claim(ctx):
        await sender.attempt(ctx, delivery)
    kept_alone = await _sms_kept(notify)

    await _apply(consumer, batch)
    assert await sender.send_due(ctx) == 10
    kept_both = await _sms_kept(notify)

    together, one_by_one = await _outcome(notify, batch), await _outcome(notify, alone)
    assert together == one_by_one
    # Received twice (a copy under a new id), the supplement request, each by SMS and
    # e-mail; the code by SMS; the officer once on each channel; the wrong number by SMS.
    assert len(together["deliveries"]) == 3 * 2 + 1 + 2 + 1
    assert [d[0][0] for d in together["deliveries"]].count(1) == 2
    statuses = Counter(d[1][9] for d in together["deliveries"])
    assert statuses == {"sent": 9, "failed": 1}
    # Each announcement carries the correlation id of the event that caused it.
    assert {(a[0][0], a[4]) for a in together["announced"]} == {
        (0, "c-1"), (1, "c-2"), (3, "c-4"), (4, "c-5"), (6, "c-7"), (7, "c-8"),
    }  # fmt: skip
    assert kept_both - kept_alone == kept_alone
    assert sum(kept_alone.values()) == 5
    assert any(phone == CITIZEN.phone for phone, _ in kept_alone)
