"""Citizen submissions per second through intake's HTTP API (draft, optional 256 KiB PDF,
submit), beside the raw limit they depend on: the object store's PUT rate for the same
256 KiB objects at the same concurrency, measured in the same run.

The flows come from the `loadgen.py` processes (`BENCH_CLIENTS`, closed loop at
`BENCH_CONCURRENCY` in all), not from this one, and their CPU is reported beside intake's:
a client that is itself the bottleneck would show there."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    add_citizen,
    draft_body,
)
from shared.testing.fixtures import Backing
from shared.testing.infra import ObjectStoreServer
from shared.testing.processes import ServiceProcess, process_under_test
from shared.testing.service import ServiceUnderTest
from tests.perf.pipeline import Profiler
from tests.perf.support import LoadGenerators, Results, cpu_split

FLOWS = int(os.environ.get("BENCH_FLOWS", "200"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "2"))
PROFILE = os.environ.get("BENCH_PROFILE")  # a folder: py-spy profile of the upload flows
TRAILER = b"\nstartxref\n9\n%%EOF\n"
ATTACHMENT = b"%PDF-1.7\n" + os.urandom(256 * 1024 - 9 - len(TRAILER)) + TRAILER


@pytest.fixture
async def intake(
    backing: Backing, tmp_path: Path
) -> AsyncIterator[tuple[ServiceProcess, ServiceUnderTest]]:
    """intake as its own process (api, consumer and relay), so that the load generators
    do not take the service's CPU; the runtime below is only for test data."""
    async with process_under_test(
        "intake", build, IntakeSettings, backing, tmp_path / "intake.log",
        limit_submit_per_ip_hour=str(10**9), limit_submit_per_account_hour=str(10**9),
        database_pool_size=str(CONCURRENCY),
    ) as running:  # fmt: skip
        yield running


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


@dataclass
class Run:
    rate: float
    flows: list[float]  # seconds per flow
    client_cpu: float  # CPU seconds per flow: the load generators, intake
    intake_cpu: float
    intake_system: float  # of which in the kernel (system time)


async def flows(
    generators: LoadGenerators, base: dict[str, Any], pid: int, count: int, name: str = ""
) -> Run:
    """`count` flows from the load generators, closed loop at CONCURRENCY; with `name`
    and BENCH_PROFILE, intake profiled meanwhile (py-spy, collapsed stacks)."""
    profiler = Profiler(pid, name, gil=False) if name and PROFILE else None
    client, (user, system) = generators.cpu(), cpu_split(pid)
    started = time.perf_counter()
    out = await generators.closed(base, count, CONCURRENCY)
    wall = time.perf_counter() - started
    if profiler is not None:
        await profiler.stop()
    statuses = sorted({r[0] for r in out.requests})
    assert out.done == count, (
        f"{count - out.done} flows failed: {out.errors} unanswered, {statuses}"
    )
    user_after, system_after = cpu_split(pid)
    return Run(count / wall, out.flows, (generators.cpu() - client) / count,
               (user_after - user + system_after - system) / count,
               (system_after - system) / count)  # fmt: skip


async def test_submissions_per_second(
    intake: tuple[ServiceProcess, ServiceUnderTest],
    object_store_server: ObjectStoreServer,
    results: Results,
) -> None:
    process, service = intake
    pid = process.process.pid
    agency = await add_bench_procedure(service)
    citizens = [await add_citizen(service) for _ in range(CONCURRENCY)]
    bare = {"url": service.url, "draft": draft_body(agency), "pdf": None,
            "tokens": [c.token for c in citizens]}  # fmt: skip
    with_file = {**bare, "pdf": base64.b64encode(ATTACHMENT).decode()}

    s = object_store_server
    store = Minio(s.endpoint, access_key=s.access_key, secret_key=s.secret_key, secure=False)

    async def raw_put(_i: int) -> None:
        await asyncio.to_thread(
            store.put_object, "dossier-attachments", f"bench/{uuid.uuid4()}",
            io.BytesIO(ATTACHMENT), len(ATTACHMENT), content_type="application/pdf",
        )  # fmt: skip

    generators = await LoadGenerators.start(CLIENTS)
    try:
        await flows(generators, with_file, pid, CONCURRENCY)  # warm-up
        plain = await flows(generators, bare, pid, FLOWS)
        upload = await flows(generators, with_file, pid, FLOWS, "intake-upload")
    finally:
        await generators.stop()
    put_rate, puts = await run(FLOWS, raw_put)

    lines = [
        f"intake submissions, {FLOWS} flows, concurrency {CONCURRENCY}, intake as one process "
        f"(api + consumer + relay), {CLIENTS} load-generator processes, 2 cores shared with "
        "PostgreSQL and the store",
        f"{'':34}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'intake CPU':>12}{'client CPU':>12}",
        *(f"{label:34}{r.rate:8.1f}{p(r.flows, 50):9.1f}{p(r.flows, 99):9.1f}"
          f"{r.intake_cpu * 1000:9.2f} ms{r.client_cpu * 1000:9.2f} ms"
          for label, r in (("draft + submit", plain), ("draft + 256 KiB PDF + submit", upload))),
        f"{'raw object-store PUT, 256 KiB':34}{put_rate:8.1f}{p(puts, 50):9.1f}{p(puts, 99):9.1f}",
        f"with-file flows / raw PUTs = {upload.rate / put_rate:.2f}"
        f"   (each flow does one PUT; 1.00 would mean the store alone sets the pace)",
    ]  # fmt: skip
    print("\n" + "\n".join(lines))
    section = (
        f"intake submissions, closed loop at concurrency {CONCURRENCY} ({FLOWS} flows,"
        f" {CLIENTS} load-generator processes)"
    )
    for label, r, raw in (("draft + submit", plain, None), ("draft + 256 KiB PDF + submit", upload, put_rate)):  # fmt: skip
        results.add(section, label, r.rate, "flows/s", raw=raw,
                    raw_name="raw 256 KiB PUT rate" if raw else "",
                    note=f"p99 {p(r.flows, 99):.0f} ms" + (", goal >= 0.70" if raw else ""))  # fmt: skip
        results.add(section, f"{label}: intake CPU per flow", r.intake_cpu * 1000, "ms CPU",
                    note=f"{r.intake_system * 1000:.2f} ms of it system time")  # fmt: skip
        results.add(section, f"{label}: load generators' CPU per flow", r.client_cpu * 1000,
                    "ms CPU", note=f"{r.client_cpu * r.rate:.2f} of a core")  # fmt: skip
