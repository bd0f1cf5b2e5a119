"""intake running on a real server against the real PostgreSQL, RabbitMQ and object store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from intake.bootstrap import build
from intake.config import IntakeSettings
from shared.testing.infra import ObjectStoreServer
from shared.testing.service import ServiceUnderTest, running_service, service_settings


@pytest.fixture
async def intake(
    database_url: str,
    rabbit: tuple[str, str],
    amqp_namespace: str,
    object_store_server: ObjectStoreServer,
) -> AsyncIterator[ServiceUnderTest]:
    settings = service_settings(
        IntakeSettings,
        database_url=database_url,
        amqp_url=rabbit[1],
        namespace=amqp_namespace,
        store=object_store_server,
    )
    async with running_service(build, settings) as service:
        yield service
