"""pytest fixtures on the real infrastructure (see infra.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared.testing import infra


@pytest.fixture(scope="session")
def object_store_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[infra.ObjectStoreServer]:
    with infra.seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture(scope="session")
def rabbit() -> Iterator[tuple[str, str]]:
    """(vhost, amqp url) of a vhost that lives for the test session."""
    with infra.rabbit_vhost() as vhost:
        yield vhost


@pytest.fixture
def amqp_namespace() -> str:
    """A prefix of exchange and queue names no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"dvc_test_{uuid.uuid4().hex[:10]}"
    url = await infra.recreate_database(name)
    yield url
    await infra.drop_database(name)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[4]
