"""The raw limits a dossier's figures depend on, measured on this machine in the same run:
a publish with confirms and a consume with acks (aio-pika, durable quorum queue,
persistent messages, as the services use them), an asyncpg transaction of two inserts,
an object PUT with the services' own client, and a bare FastAPI endpoint behind the
services' own middleware (`RequestMiddleware`, `RequestGuard`) in its own process.

Each is given as CPU per operation (client, and server where it is a process of ours or
of the infrastructure) and as a rate at a fixed concurrency. `BENCH_RAW_OPS` sets how
many operations each measures.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aio_pika
import asyncpg
import httpx

from shared.storage import MinioObjectStore
from shared.testing import infra
from tests.perf.support import Http, Results, cpu_of, cpu_of_all, own_cpu, pids_named

OPS = int(os.environ.get("BENCH_RAW_OPS", "2000"))
CONCURRENCY = 8
SMALL = b"%PDF-1.7\n" + b"0" * 2048 + b"\nstartxref\n9\n%%EOF\n"
LARGE = b"%PDF-1.7\n" + os.urandom(256 * 1024 - 28) + b"\nstartxref\n9\n%%EOF\n"


@dataclass
class Cost:
    """One raw operation: CPU seconds per operation (client side, server side) and the
    rate reached at `CONCURRENCY`."""

    client: float
    server: float
    rate: float

    @property
    def cpu(self) -> float:
        return self.client + self.server


@dataclass
class RawLimits:
    publish: Cost
    consume: Cost
    transaction: Cost
    put_small: Cost
    put_large: Cost
    http: Cost
    # What httpx costs per request (the benchmarks' own client is `Http`, whose cost is
    # `http.client`).
    httpx_client: float

    def per_dossier(self, transactions: float, publishes: float, consumes: float) -> float:
        """Σ raw CPU of one dossier: 3 requests, one 2 KiB PUT and the counted
        transactions, publishes and consumes (server sides included)."""
        return (
            3 * self.http.server
            + self.put_small.cpu
            + transactions * self.transaction.cpu
            + publishes * self.publish.cpu
            + consumes * self.consume.cpu
        )


async def _concurrently(count: int, work: Callable[[int], Awaitable[None]]) -> float:
    """Run work(0..count-1), CONCURRENCY at a time; returns the wall seconds taken."""
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await work(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started


async def _broker(amqp_url: str) -> tuple[Cost, Cost]:
    queue_name = f"bench.raw.{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.declare_queue(queue_name, durable=True, arguments={"x-queue-type": "quorum"})
        body = b'{"id": "' + b"x" * 900 + b'"}'  # the size of a dossier event's envelope

        async def publish(_i: int) -> None:
            await channel.default_exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                queue_name,
                mandatory=True,
            )

        broker = pids_named("beam.smp")
        cpu, server = own_cpu(), cpu_of_all(broker)
        wall = await _concurrently(OPS, publish)
        publish_cost = Cost(
            (own_cpu() - cpu) / OPS, (cpu_of_all(broker) - server) / OPS, OPS / wall
        )

        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=32)
        source = await consumer.get_queue(queue_name)
        done = asyncio.Event()
        seen = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            await message.ack()
            seen += 1
            if seen == OPS:
                done.set()

        cpu, server = own_cpu(), cpu_of_all(broker)
        started = time.perf_counter()
        tag = await source.consume(on_message)
        await asyncio.wait_for(done.wait(), timeout=120)
        wall = time.perf_counter() - started
        consume_cost = Cost(
            (own_cpu() - cpu) / OPS, (cpu_of_all(broker) - server) / OPS, OPS / wall
        )
        await source.cancel(tag)
        await channel.queue_delete(queue_name)
    finally:
        await connection.close()
    return publish_cost, consume_cost


async def _database() -> Cost:
    name = f"dvc_bench_raw_{uuid.uuid4().hex[:8]}"
    url = await infra.recreate_database(name)
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    try:
        pool = await asyncpg.create_pool(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY)
        try:
            async with pool.acquire() as conn:
                await conn.execute(
                    "CREATE TABLE a (id uuid PRIMARY KEY, body jsonb NOT NULL);"
                    "CREATE TABLE b (id bigserial PRIMARY KEY, a uuid NOT NULL, at timestamptz"
                    " NOT NULL DEFAULT now())"
                )
            backends = await asyncio.gather(
                *(pool.fetchval("SELECT pg_backend_pid()") for _ in range(CONCURRENCY * 2))
            )
            body = '{"form": "' + "x" * 500 + '"}'

            async def transaction(_i: int) -> None:
                async with pool.acquire() as conn, conn.transaction():
                    key = uuid.uuid4()
                    await conn.execute("INSERT INTO a VALUES ($1, $2)", key, body)
                    await conn.execute("INSERT INTO b (a) VALUES ($1)", key)

            await _concurrently(CONCURRENCY * 4, transaction)  # statements prepared
            servers = set(backends)
            cpu, server = own_cpu(), cpu_of_all(servers)
            wall = await _concurrently(OPS, transaction)
            return Cost((own_cpu() - cpu) / OPS, (cpu_of_all(servers) - server) / OPS, OPS / wall)
        finally:
            await pool.close()
    finally:
        await infra.drop_database(name)


def _weed_pid(server: infra.ObjectStoreServer) -> list[int]:
    port = server.endpoint.rsplit(":", 1)[1]
    found = []
    for pid in pids_named("weed"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if f"-s3.port={port}".encode() in cmdline.read():
                    found.append(pid)
        except OSError:
            continue
    return found


async def _store(server: infra.ObjectStoreServer, body: bytes, count: int) -> Cost:
    store = MinioObjectStore(server.endpoint, server.access_key, server.secret_key)
    bucket = "bench-raw"
    await store.ensure_buckets(bucket)

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    async def put(_i: int) -> None:
        await store.put_stream(
            bucket, f"raw/{uuid.uuid4()}", chunks(), content_type="application/pdf",
            max_size=len(body),
        )  # fmt: skip

    await _concurrently(CONCURRENCY, put)
    weed = _weed_pid(server)
    cpu, served = own_cpu(), cpu_of_all(weed)
    wall = await _concurrently(count, put)
    return Cost((own_cpu() - cpu) / count, (cpu_of_all(weed) - served) / count, count / wall)


# A bare endpoint behind the services' own middleware, as `create_app` installs it.
BARE_APP = textwrap.dedent(
    """
    import sys, uvicorn
    from fastapi import FastAPI
    from shared.api.guard import Limits, RequestGuard
    from shared.api.middleware import RequestMiddleware
    from shared.observability.metrics import metrics_for

    metrics = metrics_for("bench")
    app = FastAPI()
    app.add_middleware(RequestGuard, metrics=metrics, limits=Limits())
    app.add_middleware(RequestMiddleware, metrics=metrics)

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
    """
)


async def _bare_http() -> tuple[Cost, float]:
    port = infra.free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 (started, not waited for)
        [sys.executable, "-c", BARE_APP, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            async def up() -> bool:
                try:
                    return (await client.get("/ping")).status_code == 200
                except httpx.TransportError:
                    return False

            await infra.eventually(up, timeout=30, what="the bare endpoint")

            async def get(_i: int) -> None:
                (await client.get("/ping")).raise_for_status()

            await _concurrently(CONCURRENCY * 10, get)
            cpu = own_cpu()
            await _concurrently(OPS // 4, get)
            httpx_cpu = (own_cpu() - cpu) / (OPS // 4)
        http = Http("127.0.0.1", port)

        async def raw_get(_i: int) -> None:
            status, _ = await http.request("GET", "/ping")
            assert status == 200

        await _concurrently(CONCURRENCY * 10, raw_get)
        cpu, served = own_cpu(), cpu_of(process.pid)
        wall = await _concurrently(OPS, raw_get)
        cost = Cost((own_cpu() - cpu) / OPS, (cpu_of(process.pid) - served) / OPS, OPS / wall)
        await http.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    return cost, httpx_cpu


async def measure_raw_limits(
    amqp_url: str, store: infra.ObjectStoreServer, results: Results
) -> RawLimits:
    publish, consume = await _broker(amqp_url)
    transaction = await _database()
    put_small = await _store(store, SMALL, min(OPS, 500))
    put_large = await _store(store, LARGE, min(OPS, 200))
    http, http_client = await _bare_http()
    raw = RawLimits(publish, consume, transaction, put_small, put_large, http, http_client)
    section = f"raw limits (concurrency {CONCURRENCY}, {OPS} operations each)"
    for name, cost in (
        ("publish, confirmed (aio-pika, quorum queue)", publish),
        ("consume + ack (aio-pika, prefetch 32)", consume),
        ("asyncpg transaction of two inserts", transaction),
        ("object PUT 2 KiB (MinioObjectStore)", put_small),
        ("object PUT 256 KiB (MinioObjectStore)", put_large),
        ("bare FastAPI GET behind the middleware (client: Http)", http),
    ):
        results.add(section, f"{name}: client CPU", cost.client * 1000, "ms/op")
        results.add(section, f"{name}: server CPU", cost.server * 1000, "ms/op")
        results.add(section, f"{name}: rate", cost.rate, "op/s")
    results.add(section, "httpx client CPU per request (not used for load)", http_client * 1000,
                "ms/req")  # fmt: skip
    return raw
