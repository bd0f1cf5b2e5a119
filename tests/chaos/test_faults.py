"""Each fault under load, at moments drawn from the seed, then quiescence and the ledger:
0 lost, 0 duplicated, 0 unexpected, 0 orphans, parked = what was poisoned."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from shared.testing import infra
from tests.chaos.cluster import ROLES, SERVICES, Cluster
from tests.chaos.ledger import Ledger, assert_clean, quiesce, read_ledger
from tests.chaos.load import Client, Load
from tests.chaos.poison import poison

RATE = float(os.environ.get("CHAOS_RATE", "5"))  # dossiers a second
SECONDS = float(os.environ.get("CHAOS_SECONDS", "20"))  # of load per fault
BROKER_DOWN = float(os.environ.get("CHAOS_BROKER_DOWN_SECONDS", "15"))

Fault = Callable[[Load, float], Coroutine[Any, Any, None]]


async def at(start: float, moment: float) -> None:
    """Until `moment` seconds after `start`: when a fault strikes, not a wait for an effect."""
    await asyncio.sleep(max(0.0, start + moment - time.monotonic()))


async def under_load(cluster: Cluster, name: str, fault: Fault) -> Ledger:
    """`fault` while citizens and an officer work, then quiescence and the ledger."""
    await cluster.ensure_one_of_each()
    client = Client({s: cluster.api_urls(s) for s in ("intake", "workflow")})
    load = Load(client, cluster.citizens)
    try:
        await load.sign_in()
        start = time.monotonic()
        # A fault that fails cancels the load: its journeys, cut off, are not in the client's
        # log the ledger joins (their rows are still checked from the databases' side).
        async with asyncio.TaskGroup() as group:
            group.create_task(load.drive(RATE, SECONDS))
            group.create_task(fault(load, start))
        cluster.loads.append(load)
        took = time.monotonic() - start
        await quiesce(cluster)
        quiet = time.monotonic() - start - took
    finally:
        await client.close()
        (cluster.logs / f"{name}-client.jsonl").write_text("\n".join(load.log_lines()) + "\n")
    ledger = await read_ledger(cluster, cluster.loads)
    print(f"\n{ledger.table(name)}\n   load {RATE:g}/s for {SECONDS:g} s: done in {took:.1f} s,"
          f" quiet {quiet:.1f} s later")  # fmt: skip
    return ledger


def slots(rng: random.Random, count: int) -> list[float]:
    """`count` moments, one in each of `count` equal slices of the load, at random."""
    width = SECONDS / count
    return [i * width + rng.uniform(0.1, 0.6) * width for i in range(count)]


async def kill_each(cluster: Cluster, rng: random.Random, role: str, start: float) -> None:
    """kill -9 of each service's `role`, one at a time, each restarted after a while (as
    a supervisor would)."""
    order = rng.sample(SERVICES, len(SERVICES))
    for service, moment in zip(order, slots(rng, len(order)), strict=True):
        await at(start, moment)
        victim = cluster.replicas(service, role)[0]
        cluster.kill(victim)
        print(f"   {time.monotonic() - start:5.1f} s: kill -9 {service} {role}")
        await asyncio.sleep(rng.uniform(0.5, 3.0))  # how long it stays dead
        await cluster.start(service, role)


# Outside the short subset for time: there, the two-replica test kills a consumer of each
# service under load.
@pytest.mark.chaos_full
async def test_consumer_killed(cluster: Cluster, rng: random.Random) -> None:
    async def fault(_: Load, start: float) -> None:
        await kill_each(cluster, rng, "consume", start)

    assert_clean(await under_load(cluster, "kill -9 of each consumer", fault), cluster.poisoned)


async def test_relay_killed(cluster: Cluster, rng: random.Random) -> None:
    async def fault(_: Load, start: float) -> None:
        await kill_each(cluster, rng, "relay", start)

    assert_clean(await under_load(cluster, "kill -9 of each relay", fault), cluster.poisoned)


async def test_poison_messages_are_parked_and_the_queues_keep_flowing(
    cluster: Cluster, rng: random.Random
) -> None:
    before = dict(cluster.poisoned)

    async def fault(_: Load, start: float) -> None:
        await at(start, rng.uniform(0.3, 0.6) * SECONDS)
        await poison(cluster)

    ledger = await under_load(cluster, "poison messages", fault)
    assert_clean(ledger, cluster.poisoned)
    assert sum(cluster.poisoned.values()) == sum(before.values()) + 4


async def test_two_replicas_of_everything_one_killed(cluster: Cluster, rng: random.Random) -> None:
    """Two of every API (the client takes turns), consumer and relay; one replica of each
    consumer and relay killed mid-run and not restarted: the other carries on."""
    await cluster.ensure_one_of_each()
    await cluster.start_all([(s, r) for s in SERVICES for r in ROLES])
    victims = [(s, r) for s in SERVICES for r in ("consume", "relay")]
    rng.shuffle(victims)

    async def fault(_: Load, start: float) -> None:
        for (service, role), moment in zip(victims, slots(rng, len(victims)), strict=True):
            await at(start, moment)
            replicas = cluster.replicas(service, role)
            assert len(replicas) == 2
            cluster.kill(replicas[rng.randrange(2)])
            print(f"   {time.monotonic() - start:5.1f} s: kill -9 one {service} {role}")

    try:
        ledger = await under_load(cluster, "two replicas, one killed", fault)
    finally:
        for service in SERVICES:
            for extra in cluster.replicas(service, "api")[1:]:
                cluster.stop(extra)
    assert_clean(ledger, cluster.poisoned)


@pytest.mark.chaos_broker
async def test_broker_restarted(cluster: Cluster, rng: random.Random) -> None:
    """RabbitMQ's application stopped under load and started again: intake keeps accepting
    dossiers while it is away, and everything catches up."""
    away: list[float] = []

    async def fault(load: Load, start: float) -> None:
        await at(start, rng.uniform(0.15, 0.3) * SECONDS)
        await asyncio.to_thread(infra.rabbitmqctl, "stop_app")
        away.append(time.monotonic())
        print(f"   {away[0] - start:5.1f} s: broker stopped")
        try:
            await asyncio.sleep(BROKER_DOWN)  # how long the broker stays away
        finally:
            await asyncio.to_thread(infra.rabbitmqctl, "start_app")
            await asyncio.to_thread(infra.rabbitmqctl, "await_startup")
            away.append(time.monotonic())
            print(f"   {away[1] - start:5.1f} s: broker started")
        accepted = sum(1 for t in load.submitted_at if away[0] <= t <= away[1])
        print(f"   dossiers accepted while the broker was away: {accepted}")
        assert accepted > 0

    assert_clean(await under_load(cluster, "broker restarted", fault), cluster.poisoned)
