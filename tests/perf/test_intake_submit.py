"""Citizen submissions per second through intake's HTTP API (draft, optional 256 KiB PDF,
submit), beside the raw limit they depend on: the object store's PUT rate for the same
256 KiB objects at the same concurrency, measured in the same run."""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from minio import Minio
from sqlalchemy import select

from intake.adapters.tables import agencies, procedures
from intake.bootstrap import build
from intake.config import IntakeSettings
from intake.domain.text import fold
from services.intake.tests.integration.support import (
    DOCUMENTS,
    FORM_SCHEMA,
    PROCEDURE,
    Citizen,
    add_citizen,
    draft_body,
    file_part,
)
from shared.runtime import Runtime
from shared.testing.infra import ObjectStoreServer, free_port
from shared.testing.processes import service_env, start_service
from shared.testing.service import ServiceUnderTest
from tests.perf.support import Results

FLOWS = int(os.environ.get("BENCH_FLOWS", "200"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
TRAILER = b"\nstartxref\n9\n%%EOF\n"
ATTACHMENT = b"%PDF-1.7\n" + os.urandom(256 * 1024 - 9 - len(TRAILER)) + TRAILER


@pytest.fixture
async def intake(
    database_url: str,
    rabbit: tuple[str, str],
    amqp_namespace: str,
    object_store_server: ObjectStoreServer,
    tmp_path: Path,
) -> AsyncIterator[ServiceUnderTest]:
    """intake as its own process (api, consumer and relay), so that the load generator
    here does not take the service's CPU; the runtime below is only for test data."""
    env = service_env(
        "intake", database_url=database_url, amqp_url=rabbit[1], namespace=amqp_namespace,
        store=object_store_server, port=free_port(), limit_submit_per_ip_hour=str(10**9),
        limit_submit_per_account_hour=str(10**9), database_pool_size=str(CONCURRENCY),
    )  # fmt: skip
    process = await start_service("intake", env, tmp_path / "intake.log")
    runtime = Runtime(build(IntakeSettings(database_url=database_url)))
    try:
        yield ServiceUnderTest(process.url, runtime, app=None)  # type: ignore[arg-type]
    finally:
        process.stop()
        await runtime.db.dispose()


async def add_bench_procedure(service: ServiceUnderTest) -> str:
    """The test procedure with every document optional, so a flow may attach nothing."""
    optional = [{**d, "required": False} for d in DOCUMENTS]
    async with service.runtime.db.transaction() as session:
        await session.execute(
            procedures.insert().values(
                code=PROCEDURE, name="Thủ tục đo hiệu năng", field="residence", online_level="full",
                authority_levels=["province", "district", "commune"], applicant_kinds=["citizen"],
                processing_days=3, fee_vnd=0, cutoff_time="15:00", form_schema=FORM_SCHEMA,
                documents=optional, cases=[], search_text=fold("do hieu nang"), catalogue_version="bench",
            )
        )  # fmt: skip
        agency = await session.scalar(
            select(agencies.c.code).where(agencies.c.level == "province").order_by(agencies.c.code)
        )
    return str(agency)


async def run(count: int, work: Callable[[int], Awaitable[None]]) -> tuple[float, list[float]]:
    """Run `work(i)` for i < count, CONCURRENCY at a time: (per second, latencies)."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            await work(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - started), latencies


def p(latencies: list[float], q: float) -> float:
    return statistics.quantiles(latencies, n=100)[int(q) - 1] * 1000


async def test_submissions_per_second(
    intake: ServiceUnderTest, object_store_server: ObjectStoreServer, results: Results
) -> None:
    agency = await add_bench_procedure(intake)
    citizens = [await add_citizen(intake) for _ in range(CONCURRENCY)]

    async def flow(client: httpx.AsyncClient, citizen: Citizen, with_file: bool) -> None:
        created = await client.post(
            "/api/v1/dossiers", json=draft_body(agency), headers=citizen.auth
        )
        assert created.status_code == 201, created.text
        dossier_id = created.json()["id"]
        if with_file:
            attached = await client.post(
                f"/api/v1/dossiers/{dossier_id}/attachments", data={"document_code": "TP1"},
                files=[file_part(ATTACHMENT)], headers=citizen.auth,
            )  # fmt: skip
            assert attached.status_code == 201, attached.text
        submitted = await client.post(
            f"/api/v1/dossiers/{dossier_id}/submit", json={"commitment": True}, headers=citizen.auth
        )
        assert submitted.status_code == 200, submitted.text

    s = object_store_server
    store = Minio(s.endpoint, access_key=s.access_key, secret_key=s.secret_key, secure=False)

    async def raw_put(_i: int) -> None:
        await asyncio.to_thread(
            store.put_object, "dossier-attachments", f"bench/{uuid.uuid4()}",
            io.BytesIO(ATTACHMENT), len(ATTACHMENT), content_type="application/pdf",
        )  # fmt: skip

    async with intake.client() as client:
        await run(CONCURRENCY, lambda i: flow(client, citizens[i % CONCURRENCY], True))  # warm-up
        bare_rate, bare = await run(FLOWS, lambda i: flow(client, citizens[i % CONCURRENCY], False))
        file_rate, with_file = await run(
            FLOWS, lambda i: flow(client, citizens[i % CONCURRENCY], True)
        )
    put_rate, puts = await run(FLOWS, raw_put)

    lines = [
        f"intake submissions, {FLOWS} flows, concurrency {CONCURRENCY}, intake as one process "
        "(api + consumer + relay), client in another, 2 cores shared with PostgreSQL and the store",
        f"{'':34}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}",
        f"{'draft + submit':34}{bare_rate:8.1f}{p(bare, 50):9.1f}{p(bare, 99):9.1f}",
        f"{'draft + 256 KiB PDF + submit':34}{file_rate:8.1f}{p(with_file, 50):9.1f}{p(with_file, 99):9.1f}",
        f"{'raw object-store PUT, 256 KiB':34}{put_rate:8.1f}{p(puts, 50):9.1f}{p(puts, 99):9.1f}",
        f"with-file flows / raw PUTs = {file_rate / put_rate:.2f}"
        f"   (each flow does one PUT; 1.00 would mean the store alone sets the pace)",
    ]
    print("\n" + "\n".join(lines))
    section = f"intake submissions, closed loop at concurrency {CONCURRENCY} ({FLOWS} flows)"
    results.add(section, "draft + submit", bare_rate, "flows/s", note=f"p99 {p(bare, 99):.0f} ms")
    results.add(section, "draft + 256 KiB PDF + submit", file_rate, "flows/s", raw=put_rate,
                raw_name="raw 256 KiB PUT rate", note=f"p99 {p(with_file, 99):.0f} ms, goal >= 0.70")  # fmt: skip
