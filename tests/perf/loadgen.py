"""The load generator of the intake benchmarks, run as its own processes
(`python -m tests.perf.loadgen`, driven by `support.LoadGenerators`) so that the client is
not the bottleneck: aiohttp on uvloop, first on the CPU (nice -10 when allowed), several
processes side by side, each measured (its CPU) by the benchmark.

It reads one job per line on stdin (JSON: the service's URL, the flow's draft and file,
the citizens' tokens, which share of the flows is its own, and either the rate, the
duration and the shared start time on the monotonic clock: open loop; or `count` flows
with `concurrency` at once: closed loop) and answers one line per job on stdout with what
happened to every request and how long each completed flow took. A flow is a citizen's
submission: draft, one PDF attachment (none when the job's file is null), submit; in
open loop it starts at its intended time whatever the answers before it; it stops when
refused (503 or 429), as a citizen told to come back would.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

REFUSED = (429, 503)


@dataclass
class Outcome:
    # Per request: status (0: no answer), seconds from when it was due (the flow's
    # intended start for the first, the previous answer for the others), seconds from
    # when it was actually sent, whether it carried Retry-After.
    requests: list[tuple[int, float, float, bool]] = field(default_factory=list)
    lag: list[float] = field(default_factory=list)  # how late each flow started
    flows: list[float] = field(default_factory=list)  # seconds of each completed flow
    done: int = 0
    refused: int = 0
    errors: int = 0


async def flow(
    session: aiohttp.ClientSession,
    job: dict[str, Any],
    pdf: bytes,
    i: int,
    intended: float,
    out: Outcome,
) -> None:
    out.lag.append(time.monotonic() - intended)
    auth = {"Authorization": f"Bearer {job['tokens'][i % len(job['tokens'])]}"}
    due = intended

    async def call(method: str, path: str, **kwargs: Any) -> dict[str, Any] | None:
        nonlocal due
        sent = time.monotonic()
        try:
            async with session.request(method, job["url"] + path, headers=auth, **kwargs) as answer:
                body = await answer.read()
                status, retry_after = answer.status, "Retry-After" in answer.headers
        except (aiohttp.ClientError, TimeoutError):
            out.errors += 1
            out.requests.append((0, time.monotonic() - due, time.monotonic() - sent, False))
            return None
        answered = time.monotonic()
        out.requests.append((status, answered - due, answered - sent, retry_after))
        due = answered
        if status in REFUSED:
            out.refused += 1
            return None
        return {"status": status, "json": json.loads(body) if body else None}

    created = await call("POST", "/api/v1/dossiers", json=job["draft"])
    if created is None or created["status"] != 201:
        return
    if pdf:
        form = aiohttp.FormData()
        form.add_field("document_code", "TP1")
        form.add_field("file", pdf, filename="to-khai.pdf", content_type="application/pdf")
        attached = await call(
            "POST", f"/api/v1/dossiers/{created['json']['id']}/attachments", data=form
        )
        if attached is None or attached["status"] != 201:
            return
    submitted = await call(
        "POST", f"/api/v1/dossiers/{created['json']['id']}/submit", json={"commitment": True}
    )
    if submitted is not None and submitted["status"] == 200:
        out.done += 1
        out.flows.append(time.monotonic() - intended)


async def run(session: aiohttp.ClientSession, job: dict[str, Any]) -> Outcome:
    """This process's share of the flows: every `workers`-th from `index`, each started at
    `start + i / rate` (open loop), or, with `count`, `concurrency` at a time, each as soon
    as one before it is done (closed loop)."""
    out = Outcome()
    pdf = base64.b64decode(job["pdf"]) if job["pdf"] else b""
    if "count" in job:
        shares = iter(range(job["index"], job["count"], job["workers"]))

        async def worker() -> None:
            for i in shares:
                await flow(session, job, pdf, i, time.monotonic(), out)

        await asyncio.gather(*(worker() for _ in range(job["concurrency"])))
        return out
    tasks = []
    for i in range(job["index"], int(job["rate"] * job["seconds"]), job["workers"]):
        intended = job["start"] + i / job["rate"]
        delay = intended - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(flow(session, job, pdf, i, intended, out)))
    await asyncio.gather(*tasks)
    return out


async def main() -> None:
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)  # a job carries its file (base64)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        print(json.dumps({"ready": True, "nice": os.getpriority(os.PRIO_PROCESS, 0)}), flush=True)
        while line := await reader.readline():
            out = await run(session, json.loads(line))
            print(json.dumps(out.__dict__), flush=True)


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
