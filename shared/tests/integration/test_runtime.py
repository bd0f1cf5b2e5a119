"""The process roles: background workers run in the `consume` process only, and stop with it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings
from shared.runtime import Resources, Role, Runtime, ServiceDefinition
from shared.testing.infra import ObjectStoreServer, eventually
from shared.testing.service import service_settings

pytestmark = pytest.mark.integration


class WorkerProbeSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "workerprobe"
    model_config = SettingsConfigDict(env_prefix="WORKERPROBE_")


async def test_workers_run_in_the_consume_process_until_it_stops(
    database_url: str,
    rabbit: tuple[str, str],
    amqp_namespace: str,
    object_store_server: ObjectStoreServer,
) -> None:
    runs: dict[str, int] = {}
    finished: list[str] = []

    async def worker(ctx: Resources[WorkerProbeSettings], stop: asyncio.Event) -> None:
        runs[ctx.name] = runs.get(ctx.name, 0) + 1
        await stop.wait()
        finished.append(ctx.name)

    def runtime_named(name: str) -> Runtime:
        settings = service_settings(
            WorkerProbeSettings,
            database_url=database_url,
            amqp_url=rabbit[1],
            namespace=amqp_namespace,
            store=object_store_server,
        )
        return Runtime(
            ServiceDefinition(name=name, settings=settings, migrations=Path("."), workers=[worker])
        )

    api_only, consumer = runtime_named("api-only"), runtime_named("consumer")
    await api_only.start({Role.API})
    await consumer.start({Role.CONSUME})

    async def consumer_worker_running() -> bool:
        return runs.get("consumer") == 1

    await eventually(consumer_worker_running, what="the consume process's worker to start")
    assert "api-only" not in runs

    await consumer.stop()
    await api_only.stop()
    assert finished == ["consumer"]
