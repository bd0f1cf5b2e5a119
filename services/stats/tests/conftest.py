"""stats on a real server against the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from shared.testing.infra import ObjectStoreServer
from shared.testing.service import ServiceUnderTest, running_service, service_settings
from stats.bootstrap import build
from stats.config import StatsSettings

StartStats = Callable[..., Awaitable[ServiceUnderTest]]


@pytest.fixture
async def start_stats(
    database_url: str,
    rabbit: tuple[str, str],
    amqp_namespace: str,
    object_store_server: ObjectStoreServer,
) -> AsyncIterator[StartStats]:
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> ServiceUnderTest:
            settings = service_settings(
                StatsSettings, database_url=database_url, amqp_url=rabbit[1],
                namespace=amqp_namespace, store=object_store_server, **overrides,
            )  # fmt: skip
            return await stack.enter_async_context(running_service(build, settings))

        yield start


@pytest.fixture
async def stats(start_stats: StartStats) -> ServiceUnderTest:
    return await start_stats()
