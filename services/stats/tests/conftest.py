"""stats on a real server against the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.testing.fixtures import Backing
from shared.testing.service import ServiceUnderTest, StartService, service_starter
from stats.bootstrap import build
from stats.config import StatsSettings

StartStats = StartService


@pytest.fixture
async def start_stats(backing: Backing) -> AsyncIterator[StartStats]:
    """Start stats with settings of the test's choosing."""
    async with service_starter(build, StatsSettings, **backing) as start:
        yield start


@pytest.fixture
async def stats(start_stats: StartStats) -> ServiceUnderTest:
    return await start_stats()
