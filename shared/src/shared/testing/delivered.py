"""A message as the inbox consumer reads it from the broker, for tests that hand batches
to `InboxConsumer.on_batch` directly (the broker's part is tested on its own)."""

from __future__ import annotations

from typing import Any

from shared.contracts.envelope import Envelope


class Delivered:
    """`envelope` as delivered; each ack is recorded in `acks` as (envelope, multiple)."""

    def __init__(self, envelope: Envelope, acks: list[tuple[Envelope, bool]] | None = None) -> None:
        self.envelope = envelope
        self.body = envelope.model_dump_json().encode()
        self.headers: dict[str, Any] = {}
        self.message_id = str(envelope.id)
        self.type = self.correlation_id = self.app_id = None
        self.acks = acks if acks is not None else []

    async def ack(self, multiple: bool = False) -> None:
        self.acks.append((self.envelope, multiple))
