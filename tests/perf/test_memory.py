"""intake's memory while 20 clients at once each send a 50 MB body: JSON and multipart,
with a declared length and streamed without one. Bodies are refused before they are
buffered (JSON past 1 MiB, a file past its limit while it streams to the store), so the
process's resident memory must stay under 400 MB. A multipart body sent to a JSON route
is bounded like a JSON one.

The resident set size is sampled from `/proc/<pid>/status` every 10 ms while the bodies
arrive; the kernel's own high-water mark (VmHWM) is reported beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import httpx
import pytest

from intake.bootstrap import build
from intake.config import IntakeSettings
from services.intake.tests.integration.support import Citizen, add_citizen, draft_body
from shared.testing.fixtures import Backing
from shared.testing.processes import ServiceProcess, process_under_test
from shared.testing.service import ServiceUnderTest
from tests.hostile import multipart as mp
from tests.hostile.memory import MIB, peak_rss, rss
from tests.hostile.raw import Answer, chunked, exchange, head, repeated
from tests.perf.test_intake_submit import add_bench_procedure

CLIENTS = int(os.environ.get("BENCH_MEMORY_CLIENTS", "20"))
BODY = 50 * MIB
LIMIT = 400 * MIB


@pytest.fixture
async def intake(
    backing: Backing, tmp_path: Path
) -> AsyncIterator[tuple[ServiceProcess, ServiceUnderTest]]:
    """intake as its own process with its production limits; a runtime beside it only
    for test data."""
    async with process_under_test(
        "intake", build, IntakeSettings, backing, tmp_path / "intake.log",
        # Every client admitted at once (the default bound would shed some), so that
        # each of their bodies is in the figure.
        max_in_flight=str(CLIENTS + 4),
    ) as running:  # fmt: skip
        yield running


@contextlib.asynccontextmanager
async def sampled(pid: int, peaks: list[int]) -> AsyncIterator[None]:
    """Sample the process's RSS every 10 ms in the block; its peak is appended to `peaks`."""
    peak = rss(pid)
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss(pid))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.01)

    task = asyncio.create_task(sample())
    try:
        yield
    finally:
        stop.set()
        await task
        peaks.append(peak)


FILE_HEAD = (
    mp.body([mp.text("document_code", "TP1")], closed=False)
    + (
        f'--{mp.BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="to-khai.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
    ).encode()
)


def body(kind: str) -> Iterable[bytes]:
    """50 MB: a JSON string, or a PDF that streams to the store until refused."""
    if kind == "json":
        return repeated(BODY, prefix=b'{"form": {"ho_ten": "', suffix=b'"}}')
    return repeated(BODY, prefix=FILE_HEAD, suffix=f"\r\n--{mp.BOUNDARY}--\r\n".encode())


async def send(
    intake: ServiceUnderTest,
    citizen: Citizen,
    target: str,
    content_type: str,
    kind: str,
    declared: bool,
) -> Answer:
    headers = {"Content-Type": content_type, **citizen.auth}
    if declared:
        request = head("POST", target, {**headers, "Content-Length": str(BODY)})
        return await exchange(intake.url, request, body(kind))
    request = head("POST", target, {**headers, "Transfer-Encoding": "chunked"})
    return await exchange(intake.url, request, chunked(body(kind)))


async def drafts(intake: ServiceUnderTest, agency: str, citizens: list[Citizen]) -> list[str]:
    async with httpx.AsyncClient(base_url=intake.url, timeout=30) as client:
        created = [
            await client.post("/api/v1/dossiers", json=draft_body(agency), headers=c.auth)
            for c in citizens
        ]
    return [r.json()["id"] for r in created]


async def test_memory_stays_bounded_while_clients_send_50_mb_bodies(
    intake: tuple[ServiceProcess, ServiceUnderTest],
) -> None:
    process, service = intake
    pid = process.process.pid
    agency = await add_bench_procedure(service)
    citizens = [await add_citizen(service) for _ in range(CLIENTS)]
    ids = await drafts(service, agency, citizens)
    json_route = ["/api/v1/dossiers"] * CLIENTS
    uploads = [f"/api/v1/dossiers/{i}/attachments" for i in ids]
    variants = [
        # (what, targets, content type, body, declared)
        ("JSON, Content-Length", json_route, "application/json", "json", True),
        ("JSON, chunked", json_route, "application/json", "json", False),
        ("multipart file, Content-Length", uploads, mp.content_type(), "file", True),
        ("multipart file, chunked", uploads, mp.content_type(), "file", False),
        ("multipart to a JSON route", json_route, mp.content_type(), "json", True),
    ]
    lines = [
        f"intake RSS while {CLIENTS} clients at once each send a 50 MB body "
        f"(intake as one process; RSS before: {rss(pid) / MIB:.0f} MiB)",
        f"{'':34}{'answers':>18}{'sent MiB p50/max':>18}{'s max':>7}{'peak RSS MiB':>14}",
    ]
    peaks: list[int] = []
    bounded = []
    for what, targets, content_type, kind, declared in variants:
        async with sampled(pid, peaks):
            answers = await asyncio.gather(
                *(send(service, c, t, content_type, kind, declared) for c, t in zip(citizens, targets, strict=True))
            )  # fmt: skip
        statuses = sorted({a.status for a in answers})
        sent = sorted(a.sent / MIB for a in answers)
        lines.append(
            f"{what:34}{','.join(map(str, statuses)):>18}"
            f"{sent[len(sent) // 2]:9.1f}/{sent[-1]:<8.1f}{max(a.seconds for a in answers):7.1f}"
            f"{peaks[-1] / MIB:14.0f}"
        )
        bounded.append((what, peaks[-1], statuses))
    lines.append(f"kernel high-water mark (VmHWM) over the run: {peak_rss(pid) / MIB:.0f} MiB")
    print("\n" + "\n".join(lines))
    for what, peak, statuses in bounded:
        assert statuses == [413], (what, statuses)
        assert peak < LIMIT, f"{what}: {peak / MIB:.0f} MiB"
