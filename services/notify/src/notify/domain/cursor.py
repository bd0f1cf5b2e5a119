"""The cursor of the deliveries list: the position (created_at, id) of the last item
read, newest first, opaque to the client."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from shared.errors import BadRequest
from shared.pages import cursor_moment


def cursor_after(created_at: datetime, delivery_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(delivery_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def position(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Where the list goes on from; BadRequest for a cursor it did not hand out."""
    try:
        at, delivery_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return cursor_moment(at), uuid.UUID(delivery_id)
    except (binascii.Error, ValueError, TypeError, AttributeError):
        raise BadRequest("Tham số cursor không hợp lệ.") from None
