"""workflow running on a real server against the real PostgreSQL, RabbitMQ and object store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.testing.fixtures import Backing
from shared.testing.service import ServiceUnderTest, StartService, service_starter
from workflow.bootstrap import build
from workflow.config import WorkflowSettings

StartWorkflow = StartService


@pytest.fixture
async def start_workflow(backing: Backing) -> AsyncIterator[StartWorkflow]:
    """Start workflow with settings of the test's choosing."""
    async with service_starter(
        build, WorkflowSettings, **backing, timer_poll_seconds=0.2,
        # No national portal unless the test starts one (test_national_sync).
        national_url="",
    ) as start:  # fmt: skip
        yield start


@pytest.fixture
async def workflow(start_workflow: StartWorkflow) -> ServiceUnderTest:
    return await start_workflow()
