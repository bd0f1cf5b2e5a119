"""stats on a real server against the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.testing.infra import ObjectStoreServer
from shared.testing.service import ServiceUnderTest, StartService, service_starter
from stats.bootstrap import build
from stats.config import StatsSettings

StartStats = StartService


@pytest.fixture
async def start_stats(
    database_url: str,
    rabbit: tuple[str, str],
    amqp_namespace: str,
    object_store_server: ObjectStoreServer,
) -> AsyncIterator[StartStats]:
    """Start stats with settings of the test's choosing."""
    async with service_starter(
        build, StatsSettings, database_url=database_url, amqp_url=rabbit[1],
        namespace=amqp_namespace, store=object_store_server,
    ) as start:  # fmt: skip
        yield start


@pytest.fixture
async def stats(start_stats: StartStats) -> ServiceUnderTest:
    return await start_stats()
