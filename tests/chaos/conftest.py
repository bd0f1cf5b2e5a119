"""The fault tests: one cluster of the four services (a process per role) for the module,
on a RabbitMQ node, a PostgreSQL cluster and an object store of its own (so a fault may
stop any of them without disturbing anyone else's tests), and the seed every random moment
derives from (`CHAOS_SEED` to replay a run). `make test` runs the short subset; `make
chaos` runs every fault."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared.testing import infra
from shared.testing.private import (
    PrivateBroker,
    PrivatePostgres,
    private_postgres,
    private_rabbitmq,
)
from tests.chaos.cluster import Cluster, close_cluster, open_cluster

# Faults outside the short subset of `make test`: run by `make chaos` (CHAOS_FULL=1).
FULL = os.environ.get("CHAOS_FULL") == "1"
# The AMQP heartbeat (s) every process of the cluster asks for: short, so a process frozen
# longer than it is dropped by the broker within the test.
HEARTBEAT = int(os.environ.get("CHAOS_HEARTBEAT_SECONDS", "5"))
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE not in item.path.parents:
            continue
        for marker in ("chaos", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, marker))
        if item.get_closest_marker("chaos_full") and not FULL:
            item.add_marker(pytest.mark.skip(reason="a long fault: run with `make chaos`"))


@pytest.fixture(scope="session")
def chaos_seed() -> int:
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(10**6))
    print(f"\nCHAOS_SEED={seed}")
    return seed


@pytest.fixture
def rng(chaos_seed: int, request: pytest.FixtureRequest) -> random.Random:
    """This test's random moments: the same seed gives the same moments for the test."""
    return random.Random(f"{chaos_seed}:{request.node.name}")


@pytest.fixture(scope="module")
def chaos_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[infra.RestartableStore]:
    """The cluster's own object store: the ledger lists every object in it as its own."""
    with infra.restartable_seaweedfs(tmp_path_factory.mktemp("chaos-store")) as store:
        yield store


@pytest.fixture(scope="module")
def chaos_broker() -> Iterator[PrivateBroker]:
    with private_rabbitmq() as broker:
        yield broker


@pytest.fixture(scope="module")
def chaos_postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


@pytest.fixture(scope="module")
async def cluster(
    chaos_broker: PrivateBroker,
    chaos_postgres: PrivatePostgres,
    chaos_store: infra.RestartableStore,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    logs = tmp_path_factory.mktemp("chaos-logs")
    print(f"\nchaos logs: {logs}")
    running = await open_cluster(
        chaos_broker, chaos_postgres, chaos_store, logs, citizens=20, heartbeat=HEARTBEAT
    )
    try:
        yield running
    finally:
        await close_cluster(running)
