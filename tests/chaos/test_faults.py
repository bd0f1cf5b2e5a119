"""Each fault under load, at moments drawn from the seed, then quiescence and the ledger:
0 lost, 0 duplicated, 0 unexpected, 0 orphans, no 5xx but a 503 problem, parked = what was
poisoned. The broker, the database and the store are the cluster's own (conftest.py)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from intake.services.sweeper import sweep_orphans
from shared.db import Database
from shared.storage import MinioObjectStore
from shared.testing import infra
from shared.testing.processes import ServiceProcess
from tests.chaos.cluster import ROLES, SERVICES, Cluster
from tests.chaos.conftest import HEARTBEAT
from tests.chaos.ledger import Ledger, assert_clean, quiesce, read_ledger
from tests.chaos.load import Client, Load
from tests.chaos.poison import poison

RATE = float(os.environ.get("CHAOS_RATE", "5"))  # dossiers a second
SECONDS = float(os.environ.get("CHAOS_SECONDS", "20"))  # of load per fault
BROKER_DOWN = float(os.environ.get("CHAOS_BROKER_DOWN_SECONDS", "15"))
ALARM = float(os.environ.get("CHAOS_ALARM_SECONDS", "30"))
DATABASE_DOWN = float(os.environ.get("CHAOS_DATABASE_DOWN_SECONDS", "8"))
STORE_DOWN = float(os.environ.get("CHAOS_STORE_DOWN_SECONDS", "8"))

Fault = Callable[[Load, float], Coroutine[Any, Any, None]]


async def at(start: float, moment: float) -> None:
    """Until `moment` seconds after `start`: when a fault strikes, not a wait for an effect."""
    await asyncio.sleep(max(0.0, start + moment - time.monotonic()))


async def sweep(cluster: Cluster) -> int:
    """intake's orphan sweeper, told that every object is old enough: what an upload cut
    between the store and its row (an API killed, the store away) left is removed, as the
    consume process's worker does once such an object is `orphan_objects_after_hours` old."""
    s = cluster.store.server
    db = Database(cluster.urls["intake"], pool_size=1)
    try:
        store = MinioObjectStore(s.endpoint, s.access_key, s.secret_key)
        return await sweep_orphans(
            db, store, older_than=timedelta(0), now=datetime.now(UTC) + timedelta(seconds=1)
        )
    finally:
        await db.dispose()


async def under_load(cluster: Cluster, name: str, fault: Fault, *, sweeps: bool = False) -> Ledger:
    """`fault` while citizens and an officer work, then quiescence and the ledger (after
    intake's orphan sweeper, if `sweeps`: for the faults that cut uploads halfway)."""
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
        load.faults = list(client.faults)
        await client.close()
        (cluster.logs / f"{name}-client.jsonl").write_text("\n".join(load.log_lines()) + "\n")
    swept = await sweep(cluster) if sweeps else 0
    ledger = await read_ledger(cluster, cluster.loads)
    ledger.swept = swept
    answers = sorted(f"{kind} {status}: {n}" for (kind, status), n in client.answers.items()
                     if status >= 500)  # fmt: skip
    if answers:
        print(f"   5xx answers the client saw (then retried): {'; '.join(answers)}")
    print(f"\n{ledger.table(name)}\n   load {RATE:g}/s for {SECONDS:g} s: done in {took:.1f} s,"
          f" quiet {quiet:.1f} s later")  # fmt: skip
    return ledger


@dataclass
class Away:
    """When a server was away (its stop done, then its start done), and the dossiers intake
    accepted meanwhile (known once it is back)."""

    since: float
    until: float = 0.0
    accepted: int = 0


@asynccontextmanager
async def outage(
    load: Load,
    start: float,
    stop: Callable[[], object],
    restart: Callable[[], object],
    *,
    stopped: str,
    started: str,
) -> AsyncIterator[Away]:
    """`stop` a server, hold it away for as long as the block runs, then `restart` it even
    if the block fails; each moment printed with `stopped` and `started`. Both are commands
    that block until done, so they run in a thread while the load goes on."""
    await asyncio.to_thread(stop)
    away = Away(time.monotonic())
    print(f"   {away.since - start:5.1f} s: {stopped}")
    try:
        yield away
    finally:
        await asyncio.to_thread(restart)
        away.until = time.monotonic()
        print(f"   {away.until - start:5.1f} s: {started}")
        away.accepted = sum(1 for t in load.submitted_at if away.since <= t <= away.until)


def slots(rng: random.Random, count: int) -> list[float]:
    """`count` moments, one in each of `count` equal slices of the load, at random."""
    width = SECONDS / count
    return [i * width + rng.uniform(0.1, 0.6) * width for i in range(count)]


def port_of(process: ServiceProcess) -> int:
    return int(process.url.rsplit(":", 1)[1])


async def kill_and_restart(
    cluster: Cluster, rng: random.Random, victims: list[tuple[str, str]], start: float
) -> None:
    """kill -9 of these (service, role) at once, each restarted after a while as a
    supervisor would (an API on its port: the load balancer still sends requests there)."""
    killed = []
    for service, role in victims:
        victim = cluster.replicas(service, role)[0]
        cluster.kill(victim)
        killed.append((service, role, port_of(victim) if role == "api" else None))
    names = " and ".join(f"{s} {r}" for s, r in victims)
    print(f"   {time.monotonic() - start:5.1f} s: kill -9 {names}")
    await asyncio.sleep(rng.uniform(0.5, 3.0))  # how long it stays dead
    await cluster.start_all_on([(s, r, port) for s, r, port in killed])


async def kill_each(cluster: Cluster, rng: random.Random, role: str, start: float) -> None:
    """kill -9 of each service's `role`, one at a time, then of two services' at once; each
    restarted after a while."""
    order = rng.sample(SERVICES, len(SERVICES))
    moments = slots(rng, len(order) + 1)
    for service, moment in zip(order, moments, strict=False):
        await at(start, moment)
        await kill_and_restart(cluster, rng, [(service, role)], start)
    await at(start, moments[-1])
    pair = rng.sample(SERVICES, 2)
    await kill_and_restart(cluster, rng, [(s, role) for s in pair], start)


# Outside the short subset for time: there, the two-replica test kills a consumer of each
# service under load.
@pytest.mark.chaos_full
async def test_consumer_killed(cluster: Cluster, rng: random.Random) -> None:
    async def fault(_: Load, start: float) -> None:
        await kill_each(cluster, rng, "consume", start)

    assert_clean(
        await under_load(cluster, "kill -9 of each consumer, then two", fault), cluster.poisoned
    )


async def test_relay_killed(cluster: Cluster, rng: random.Random) -> None:
    async def fault(_: Load, start: float) -> None:
        await kill_each(cluster, rng, "relay", start)

    assert_clean(
        await under_load(cluster, "kill -9 of each relay, then two", fault), cluster.poisoned
    )


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


async def test_broker_restarted(cluster: Cluster, rng: random.Random) -> None:
    """The cluster's RabbitMQ node stopped under load (`rabbitmqctl stop`: every connection
    closed, the port gone) and started again: intake keeps accepting dossiers while it is
    away, and everything catches up."""

    async def fault(load: Load, start: float) -> None:
        await at(start, rng.uniform(0.15, 0.3) * SECONDS)
        broker = cluster.broker
        async with outage(
            load, start, broker.stop, broker.start, stopped="broker stopped", started="broker started"
        ) as away:  # fmt: skip
            await asyncio.sleep(BROKER_DOWN)  # how long the broker stays away
        print(f"   dossiers accepted while the broker was away: {away.accepted}")
        assert away.accepted > 0

    assert_clean(await under_load(cluster, "broker restarted", fault), cluster.poisoned)


@pytest.mark.chaos_full
async def test_api_killed(cluster: Cluster, rng: random.Random) -> None:
    """kill -9 of each service's API, one at a time, then of two at once; each restarted
    on its port. An upload cut between the store and its row leaves an object without a
    row: intake's sweeper removes it."""

    async def fault(_: Load, start: float) -> None:
        await kill_each(cluster, rng, "api", start)

    ledger = await under_load(cluster, "kill -9 of each API, then two", fault, sweeps=True)
    assert_clean(ledger, cluster.poisoned)


@pytest.mark.chaos_full
async def test_broker_memory_alarm(cluster: Cluster, rng: random.Random) -> None:
    """The broker's memory alarm raised for `CHAOS_ALARM_SECONDS`: every publisher is
    blocked (the relays' outboxes grow, intake still accepts dossiers), nothing is lost
    once it clears."""

    async def fault(load: Load, start: float) -> None:
        await at(start, rng.uniform(0.15, 0.3) * SECONDS)
        broker = cluster.broker
        async with outage(
            load, start, broker.raise_memory_alarm, broker.clear_memory_alarm,
            stopped="memory alarm raised", started="memory alarm cleared",
        ) as blocked:  # fmt: skip
            assert await asyncio.to_thread(broker.memory_alarm)

            async def piling_up() -> bool:
                rows = await cluster.query(
                    "intake", "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"
                )
                return rows[0]["n"] > 0

            # The relays are blocked indeed: intake's outbox holds what it cannot publish.
            await infra.eventually(piling_up, timeout=ALARM, interval=0.5, what="a blocked relay")
            await at(blocked.since, ALARM)
        print(f"   dossiers accepted while publishers were blocked: {blocked.accepted}")
        assert blocked.accepted > 0

    assert_clean(await under_load(cluster, "broker memory alarm", fault), cluster.poisoned)


@pytest.mark.chaos_full
async def test_database_restarted(cluster: Cluster, rng: random.Random) -> None:
    """The cluster's PostgreSQL stopped (`pg_ctl -m fast`: every session ended, open
    transactions rolled back) for `CHAOS_DATABASE_DOWN_SECONDS`, then started: the APIs
    answer 503 problems meanwhile, no dossier is half written, everything catches up."""

    async def fault(load: Load, start: float) -> None:
        await at(start, rng.uniform(0.2, 0.4) * SECONDS)
        postgres = cluster.postgres
        async with outage(
            load, start, lambda: postgres.stop("fast"), postgres.start,
            stopped="PostgreSQL stopped (fast)", started="PostgreSQL started",
        ):  # fmt: skip
            await asyncio.sleep(DATABASE_DOWN)  # how long it stays away

    ledger = await under_load(cluster, "PostgreSQL restarted", fault)
    assert_clean(ledger, cluster.poisoned)
    # It was away indeed, and said so: requests answered 503 (then retried by the client).
    statuses = {status for load in cluster.loads[-1:] for _, status in load.client.answers}
    assert 503 in statuses, statuses


@pytest.mark.chaos_full
async def test_store_stopped_then_slowed(cluster: Cluster, rng: random.Random) -> None:
    """The object store killed during uploads for `CHAOS_STORE_DOWN_SECONDS`, started
    again, then frozen 2 s of every 3 for a while: uploads meanwhile are answered with a
    clear 503 problem, the client's retried upload works, and no object is left without
    its row once the sweeper has run."""

    async def fault(load: Load, start: float) -> None:
        await at(start, rng.uniform(0.1, 0.25) * SECONDS)
        store = cluster.store
        async with outage(
            load, start, store.kill, store.start,
            stopped="object store killed", started="object store started",
        ):  # fmt: skip
            await asyncio.sleep(STORE_DOWN)
        await at(start, rng.uniform(0.55, 0.65) * SECONDS)
        print(f"   {time.monotonic() - start:5.1f} s: object store slowed (SIGSTOP 2 s of 3)")
        for _pause in range(4):
            cluster.store.proc.send_signal(signal.SIGSTOP)
            try:
                await asyncio.sleep(2.0)
            finally:
                cluster.store.proc.send_signal(signal.SIGCONT)
            await asyncio.sleep(1.0)

    ledger = await under_load(cluster, "object store stopped, then slowed", fault, sweeps=True)
    assert_clean(ledger, cluster.poisoned)
    statuses = {(kind, status) for kind, status in cluster.loads[-1].client.answers}
    assert ("attachment", 503) in statuses, statuses


@pytest.mark.chaos_full
async def test_consumer_frozen_past_the_heartbeat(cluster: Cluster, rng: random.Random) -> None:
    """Every service's consumer frozen (SIGSTOP) until the broker has dropped its
    connection for missed heartbeats (`CHAOS_HEARTBEAT_SECONDS`), then resumed: the
    messages it held go to it again once it reconnects, and the inbox takes each once."""

    async def connections() -> int:
        listed = await asyncio.to_thread(
            cluster.broker.ctl, "-q", "list_connections", "name", "--no-table-headers"
        )
        return len(listed.splitlines())

    async def fault(_: Load, start: float) -> None:
        await at(start, rng.uniform(0.2, 0.4) * SECONDS)
        frozen = [cluster.replicas(s, "consume")[0] for s in SERVICES]
        before = await connections()
        for process in frozen:
            cluster.freeze(process)
        print(f"   {time.monotonic() - start:5.1f} s: 4 consumers frozen ({before} connections)")
        try:

            async def dropped() -> int | None:
                now = await connections()
                return now if now <= before - len(frozen) else None

            # Each consumer holds one connection: the broker drops it after two missed
            # heartbeats, so the freeze ends once all four are gone.
            left = await infra.eventually(
                dropped, timeout=HEARTBEAT * 4 + 30, interval=0.5,
                what="the broker to drop the frozen consumers",
            )  # fmt: skip
            print(f"   {time.monotonic() - start:5.1f} s: their connections dropped ({left} left)")
        finally:
            for process in frozen:
                cluster.thaw(process)
            print(f"   {time.monotonic() - start:5.1f} s: consumers resumed")

    ledger = await under_load(cluster, "consumers frozen past the heartbeat", fault)
    assert_clean(ledger, cluster.poisoned)
