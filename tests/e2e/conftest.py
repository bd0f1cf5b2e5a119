"""The four services as real processes (`python -m <service> all`), each on its own
fresh database, sharing a test vhost and the test object store."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.testing import infra

SERVICES = ("intake", "workflow", "notify", "stats")


@dataclass
class RunningService:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="session")
async def stack(
    rabbit: tuple[str, str],
    object_store_server: infra.ObjectStoreServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, RunningService]]:
    logs = tmp_path_factory.mktemp("services")
    namespace = f"e2e{uuid.uuid4().hex[:8]}"
    databases = {name: f"dvc_test_e2e_{name}_{uuid.uuid4().hex[:6]}" for name in SERVICES}
    running: dict[str, RunningService] = {}
    try:
        for name in SERVICES:
            url = await infra.recreate_database(databases[name])
            port = infra.free_port()
            prefix = name.upper()
            env = {
                **os.environ,
                f"{prefix}_DATABASE_URL": url,
                f"{prefix}_AMQP_URL": rabbit[1],
                f"{prefix}_AMQP_NAMESPACE": namespace,
                f"{prefix}_S3_ENDPOINT": object_store_server.endpoint,
                f"{prefix}_S3_ACCESS_KEY": object_store_server.access_key,
                f"{prefix}_S3_SECRET_KEY": object_store_server.secret_key,
                f"{prefix}_PORT": str(port),
            }
            migrated = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", name, "migrate"],
                env=env,
                capture_output=True,
                timeout=120,
            )
            assert migrated.returncode == 0, migrated.stdout.decode() + migrated.stderr.decode()
            log = logs / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(  # noqa: ASYNC220 (starting, not waiting)
                    [sys.executable, "-m", name, "all"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            running[name] = RunningService(name, f"http://127.0.0.1:{port}", process, log)
        async with httpx.AsyncClient(timeout=5) as client:
            for service in running.values():
                await infra.eventually(
                    lambda s=service: _ready(client, s), timeout=60, interval=0.2,
                    what=f"{service.name} /readyz",
                )  # fmt: skip
        yield running
    finally:
        for service in running.values():
            os.killpg(service.process.pid, signal.SIGTERM)
        for service in running.values():
            try:
                service.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait()
        for database in databases.values():
            await infra.drop_database(database)


async def _ready(client: httpx.AsyncClient, service: RunningService) -> bool:
    if service.process.poll() is not None:
        raise RuntimeError(f"{service.name} exited:\n{service.log.read_text()[-3000:]}")
    try:
        return (await client.get(f"{service.url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False
