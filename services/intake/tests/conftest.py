"""intake running on a real server against the real PostgreSQL, RabbitMQ and object store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from intake.bootstrap import build
from intake.config import IntakeSettings
from shared.testing.infra import ObjectStoreServer
from shared.testing.service import ServiceUnderTest, StartService, service_starter

StartIntake = StartService


@pytest.fixture
async def start_intake(
    database_url: str,
    rabbit: tuple[str, str],
    amqp_namespace: str,
    object_store_server: ObjectStoreServer,
) -> AsyncIterator[StartIntake]:
    """Start intake with settings of the test's choosing."""
    async with service_starter(
        build, IntakeSettings, database_url=database_url, amqp_url=rabbit[1],
        namespace=amqp_namespace, store=object_store_server,
    ) as start:  # fmt: skip
        yield start


@pytest.fixture
async def intake(start_intake: StartIntake) -> ServiceUnderTest:
    return await start_intake()
