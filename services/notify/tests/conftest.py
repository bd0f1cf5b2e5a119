"""notify on a real server against the real PostgreSQL and RabbitMQ, sending email to a
real SMTP server (aiosmtpd) the tests start, and SMS to the scripted provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from notify.bootstrap import build
from notify.config import NotifySettings
from shared.security import OFFICER_AUDIENCE, TokenIssuer
from shared.testing.fixtures import Backing
from shared.testing.service import ServiceUnderTest, StartService, service_starter
from shared.testing.smtp import Mailbox, smtp_server

WORKFLOW = TokenIssuer("workflow-test-secret", issuer="workflow", audience=OFFICER_AUDIENCE)
# The unit that runs notify for the whole portal (not in the catalogue's tree).
OPERATIONS = "G01.000.001.000"
StartNotify = StartService


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def start_notify(backing: Backing, smtp: tuple[Mailbox, int]) -> AsyncIterator[StartNotify]:
    async with service_starter(
        build, NotifySettings, **backing, smtp_port=smtp[1],
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
