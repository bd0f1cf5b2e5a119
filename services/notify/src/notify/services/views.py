"""What officers read: the deliveries they may see (services/access.py), with addresses
masked unless the reader is an admin."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, tuple_

from notify.adapters.tables import attempts, deliveries, dev_sms
from notify.domain.cursor import cursor_after, position
from notify.domain.delivery import DeliveryStatus
from notify.domain.privacy import shown_address
from notify.services.access import Reader, visible
from notify.services.context import Context
from shared.contracts import events as ev
from shared.errors import Forbidden
from shared.pages import split_page


async def list_deliveries(
    ctx: Context,
    reader: Reader,
    *,
    dossier_code: str | None = None,
    recipient: str | None = None,
    status: DeliveryStatus | None = None,
    channel: ev.Channel | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Newest first, of what `reader` may see; addresses unmasked for administrators."""
    if recipient is not None and not reader.admin:
        # Listing one person's messages across dossiers is an administrator's search.
        raise Forbidden("Chỉ quản trị viên được tìm thông báo theo người nhận.")
    query = select(deliveries).where(visible(ctx, reader))
    for column, value in (
        (deliveries.c.dossier_code, dossier_code),
        (deliveries.c.recipient, recipient),
        (deliveries.c.status, status),
        (deliveries.c.channel, channel),
    ):
        if value is not None:
            query = query.where(column == value)
    if cursor:
        query = query.where(
            tuple_(deliveries.c.created_at, deliveries.c.id) < tuple_(*position(cursor))
        )
    query = query.order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc()).limit(limit + 1)
    async with ctx.db.transaction() as session:
        rows = (await session.execute(query)).mappings().all()
        page, next_cursor = split_page(
            rows, limit, lambda r: cursor_after(r["created_at"], r["id"])
        )
        tried = (
            await session.execute(
                select(attempts)
                .where(attempts.c.delivery_id.in_([r["id"] for r in page]))
                .order_by(attempts.c.attempt)
            )
        ).mappings()
        by_delivery: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for a in tried:
            by_delivery.setdefault(a["delivery_id"], []).append(
                {"attempt": a["attempt"], "at": a["at"], "outcome": a["outcome"],
                 "error": a["error"], "duration_ms": a["duration_ms"]}
            )  # fmt: skip
    return {
        "items": [_item(r, reader.admin, by_delivery.get(r["id"], [])) for r in page],
        "next_cursor": next_cursor,
    }


def _item(row: Any, full: bool, tried: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "dossier_code": row["dossier_code"],
        "channel": ev.Channel(row["channel"]),
        "recipient": shown_address(row["recipient"], full=full),
        "template": row["template_key"],
        "template_version": row["template_version"],
        "status": DeliveryStatus(row["status"]),
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "created_at": row["created_at"],
        "sent_at": row["sent_at"],
        "subject": row["subject"],
        "body": row["display_body"],
        "history": tried,
    }


async def dev_messages(ctx: Context, phone: str | None, limit: int) -> list[dict[str, Any]]:
    """What the development SMS provider kept, newest first."""
    query = select(dev_sms).order_by(dev_sms.c.id.desc()).limit(limit)
    if phone:
        query = query.where(dev_sms.c.phone == phone)
    async with ctx.db.transaction() as session:
        return [dict(r) for r in (await session.execute(query)).mappings()]
