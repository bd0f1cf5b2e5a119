"""`python -m stats.rebuild` over an archive of `BENCH_REBUILD_EVENTS` events (a generated
history of dossiers, as the consumer archives them): events applied per second and CPU
per event of the command's process, beside the raw asyncpg transaction rate.

The archive is copied in directly (redacted envelopes, the applicant's name beside), so
that loading it measures nothing; the command then runs as an operator runs it.
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time
from typing import Any

import asyncpg

from services.stats.tests.conftest import StartStats, start_stats
from services.stats.tests.integration.history import catalogue, generate
from shared.contracts import events as ev
from shared.runtime import Role
from tests.perf.raw import RawLimits
from tests.perf.support import Results

__all__ = ["start_stats"]

EVENTS = int(os.environ.get("BENCH_REBUILD_EVENTS", "50000"))


def _archive_rows(count: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    envelopes = [catalogue()]
    seed = 0
    while len(envelopes) < count:
        seed += 1
        envelopes += generate(seed=seed, count=300).events
    for envelope in envelopes[:count]:
        data = envelope.payload()
        name = data.applicant.full_name if isinstance(data, ev.DossierSubmitted) else None
        rows.append((envelope.id, envelope.type, envelope.occurred_at,
                     envelope.redacted().model_dump_json(), name))  # fmt: skip
    return rows


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def test_rebuild_from_the_archive(
    start_stats: StartStats, raw_limits: RawLimits, results: Results
) -> None:
    # Not consuming: the rebuild refuses to run beside a consumer.
    stats = await start_stats(roles=frozenset({Role.API}))
    url = stats.runtime.settings.database_url
    rows = await asyncio.to_thread(_archive_rows, EVENTS)
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.copy_records_to_table(
            "archive", records=rows,
            columns=["event_id", "type", "occurred_at", "envelope", "applicant_name"],
        )  # fmt: skip
    finally:
        await connection.close()

    cpu = _children_cpu()
    started = time.perf_counter()
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "stats.rebuild"],
        env={**os.environ, "STATS_DATABASE_URL": url}, capture_output=True, text=True,
        timeout=3600,
    )  # fmt: skip
    wall = time.perf_counter() - started
    used = _children_cpu() - cpu
    assert done.returncode == 0, done.stderr
    assert f"from {len(rows)} event(s)" in done.stdout, done.stdout
    section = f"stats rebuild (python -m stats.rebuild, {len(rows)} archived events)"
    results.add(section, "events applied per s", len(rows) / wall, "events/s",
                raw=raw_limits.transaction.rate, raw_name="raw asyncpg 2-insert transactions/s",
                note="goal >= 5000/s")  # fmt: skip
    results.add(section, "CPU per event, the command's process", used / len(rows) * 1000, "ms",
                raw=raw_limits.transaction.client * 1000,
                raw_name="asyncpg 2-insert transaction, client CPU")  # fmt: skip
