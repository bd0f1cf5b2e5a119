"""notify on a real server against the real PostgreSQL and RabbitMQ, sending email to a
real SMTP server (aiosmtpd) the tests start, and SMS to the scripted provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from notify.bootstrap import build
from notify.config import NotifySettings
from shared.security import OFFICER_AUDIENCE, TokenIssuer
from shared.testing.infra import ObjectStoreServer, free_port
from shared.testing.service import ServiceUnderTest, StartService, service_starter

WORKFLOW = TokenIssuer("workflow-test-secret", issuer="workflow", audience=OFFICER_AUDIENCE)
# The unit that runs notify for the whole portal (not in the catalogue's tree).
OPERATIONS = "G01.000.001.000"
StartNotify = StartService


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


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
async def start_notify(
    database_url: str,
    rabbit: tuple[str, str],
    amqp_namespace: str,
    object_store_server: ObjectStoreServer,
    smtp: tuple[Mailbox, int],
) -> AsyncIterator[StartNotify]:
    async with service_starter(
        build, NotifySettings, database_url=database_url, amqp_url=rabbit[1],
        namespace=amqp_namespace, store=object_store_server, smtp_port=smtp[1],
        sms_provider="scripted", officer_jwks_url=None, officer_jwks=[WORKFLOW.jwk],
        operator_agencies=[OPERATIONS],
        retry_base_seconds=0.05, retry_max_seconds=0.2, max_attempts=3,
        sender_poll_seconds=0.05,
    ) as start:  # fmt: skip
        yield start


@pytest.fixture
async def notify(start_notify: StartNotify) -> ServiceUnderTest:
    return await start_notify()


def officer(role: str = "admin", agency: str = "G01.306.000.000") -> dict[str, str]:
    token, _ = WORKFLOW.issue("officer-1", role, agency=agency, name="Lý Thu Hà")
    return {"Authorization": f"Bearer {token}"}
