"""Several API processes of one service on one port (`<SVC>_REUSE_PORT`, as `make up`
runs them): each listens there itself, and the port stays served while one of them is
gone; without the setting a second process on a taken port refuses to start."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from shared.testing import infra
from shared.testing.processes import listens, service_env, start_service

pytestmark = pytest.mark.integration


@pytest.fixture
async def stats_env(
    rabbit: tuple[str, str], object_store_server: infra.ObjectStoreServer
) -> AsyncIterator[dict[str, str]]:
    database = f"dvc_test_ports_{uuid.uuid4().hex[:8]}"
    namespace = f"ports{uuid.uuid4().hex[:8]}"
    env = service_env(
        "stats",
        database_url=await infra.recreate_database(database),
        amqp_url=rabbit[1],
        namespace=namespace,
        store=object_store_server,
        port=infra.free_port(),
    )
    try:
        yield env
    finally:
        await infra.drop_database(database)
        await infra.delete_namespace(rabbit[1], namespace)


async def test_two_api_processes_share_the_port_and_either_serves_it(
    stats_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**stats_env, "STATS_REUSE_PORT": "true"}
    port = int(env["STATS_PORT"])
    first = await start_service("stats", env, tmp_path / "api-1.log", role="api")
    second = None
    try:
        second = await start_service(
            "stats", env, tmp_path / "api-2.log", role="api", migrate=False
        )
        assert listens(first.process.pid, port)
        assert listens(second.process.pid, port)
        first.stop()
        # Fresh connections after the first is gone all reach the second.
        for _ in range(10):
            async with httpx.AsyncClient(base_url=second.url, timeout=5) as client:
                assert (await client.get("/readyz")).status_code == 200
    finally:
        first.stop()
        if second is not None:
            second.stop()


async def test_without_the_setting_a_second_api_process_on_the_port_does_not_start(
    stats_env: dict[str, str], tmp_path: Path
) -> None:
    first = await start_service("stats", stats_env, tmp_path / "api-1.log", role="api")
    try:
        with pytest.raises(RuntimeError, match="exited"):
            await start_service(
                "stats", stats_env, tmp_path / "api-2.log", role="api", migrate=False
            )
        assert listens(first.process.pid, int(stats_env["STATS_PORT"]))
    finally:
        first.stop()
