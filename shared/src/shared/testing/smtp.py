"""A real SMTP server (aiosmtpd) that keeps what it accepts: the mail relay of the tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from shared.testing.infra import free_port


@dataclass
class Mailbox:
    """What a real SMTP server accepted; it can be told to refuse the next messages."""

    messages: list[Message] = field(default_factory=list)
    refuse_next: int = 0
    refused: int = 0
    # The Message-ID of each message refused, in order.
    refused_ids: list[str] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        if self.refuse_next > 0:
            self.refuse_next -= 1
            self.refused += 1
            self.refused_ids.append(str(message["Message-ID"]))
            return "451 4.3.0 Hệ thống bận, thử lại sau"
        message["X-Rcpt"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["X-Rcpt"] == address]


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """The server on a free port of this machine, and its mailbox."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
