"""workflow running on a real server against the real PostgreSQL, RabbitMQ and object store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.testing.infra import ObjectStoreServer
from shared.testing.service import ServiceUnderTest, StartService, service_starter
from workflow.bootstrap import build
from workflow.config import WorkflowSettings

StartWorkflow = StartService


@pytest.fixture
async def start_workflow(
    database_url: str,
    rabbit: tuple[str, str],
    amqp_namespace: str,
    object_store_server: ObjectStoreServer,
) -> AsyncIterator[StartWorkflow]:
    """Start workflow with settings of the test's choosing."""
    async with service_starter(
        build, WorkflowSettings, database_url=database_url, amqp_url=rabbit[1],
        namespace=amqp_namespace, store=object_store_server, timer_poll_seconds=0.2,
        # No national portal unless the test starts one (test_national_sync).
        national_url="",
    ) as start:  # fmt: skip
        yield start


@pytest.fixture
async def workflow(start_workflow: StartWorkflow) -> ServiceUnderTest:
    return await start_workflow()
