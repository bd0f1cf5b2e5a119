"""pytest fixtures on the real infrastructure (see infra.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TypedDict

import pytest

from shared.testing import infra, national, service


@pytest.fixture(scope="session")
def object_store_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[infra.ObjectStoreServer]:
    with infra.seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
async def _migrated_templates() -> AsyncIterator[None]:
    """The databases the services were migrated into once (service.py) go at the end."""
    yield
    await service.drop_templates()


@pytest.fixture(scope="session")
def rabbit() -> tuple[str, str]:
    """(vhost, amqp url) of the tests' broker vhost."""
    return infra.ensure_test_vhost()


@pytest.fixture
async def amqp_namespace(rabbit: tuple[str, str]) -> AsyncIterator[str]:
    """A prefix of exchange and queue names no other test uses; removed afterwards."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    yield namespace
    await infra.delete_namespace(rabbit[1], namespace)


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"dvc_test_{uuid.uuid4().hex[:10]}"
    url = await infra.recreate_database(name)
    yield url
    await infra.drop_database(name)


class Backing(TypedDict):
    """What a service under test is wired to, as the keywords of `service_settings`,
    `service_starter` and `service_env` take them."""

    database_url: str
    amqp_url: str
    namespace: str
    store: infra.ObjectStoreServer


@pytest.fixture
def backing(
    database_url: str,
    rabbit: tuple[str, str],
    amqp_namespace: str,
    object_store_server: infra.ObjectStoreServer,
) -> Backing:
    """The test's own database and broker namespace, the tests' vhost and object store."""
    return Backing(
        database_url=database_url, amqp_url=rabbit[1], namespace=amqp_namespace,
        store=object_store_server,
    )  # fmt: skip


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[4]


@pytest.fixture
def national_server(tmp_path: Path) -> Iterator[national.NationalServer]:
    """The national portal's stand-in, a process of its own, for one test."""
    with national.running_national(tmp_path / "national.log") as server:
        yield server
