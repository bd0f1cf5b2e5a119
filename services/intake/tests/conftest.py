"""intake running on a real server against the real PostgreSQL, RabbitMQ and object store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from intake.bootstrap import build
from intake.config import IntakeSettings
from shared.testing.fixtures import Backing
from shared.testing.service import ServiceUnderTest, StartService, service_starter

StartIntake = StartService


@pytest.fixture
async def start_intake(backing: Backing) -> AsyncIterator[StartIntake]:
    """Start intake with settings of the test's choosing."""
    async with service_starter(build, IntakeSettings, **backing) as start:
        yield start


@pytest.fixture
async def intake(start_intake: StartIntake) -> ServiceUnderTest:
    return await start_intake()
