"""The processing report for a year over 10k, 100k and 1M dossiers (`BENCH_SIZES`): p50/p99
through stats's HTTP API, beside what a report costs that scans the dossiers instead of
the counters, measured in the same run on the same data.

The dossiers' counters are made by the production counting code (domain.counting and the
same day/month/year roll-up as the projection) from generated facts, then copied in:
replaying a million dossiers' events through the consumer would take hours and measure
the consumer, not the report. The scan baseline reads a facts table of the same size.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text

from services.stats.tests.conftest import StartStats, start_stats
from shared.contracts.events import VIETNAM
from stats.domain.counting import Facts, Pause, contribution, unit_start
from stats.services.projection import ALL_AGENCIES, ALL_PROCEDURES, UNITS
from tests.perf.support import Results

__all__ = ["start_stats"]

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
AGENCIES = [f"H{n:02d}.000.000.000" for n in range(100)]
PROCEDURES = [f"1.00{4000 + n}" for n in range(40)]
YEAR = datetime(2025, 1, 1, tzinfo=VIETNAM)

SCAN = """
SELECT agency_code,
  count(*) FILTER (WHERE received_at < :s AND coalesce(resolved_at, 'infinity') >= :s),
  count(*) FILTER (WHERE received_at >= :s AND received_at < :e),
  count(*) FILTER (WHERE resolved_at >= :s AND resolved_at < :e AND judgement = 'late'),
  count(*) FILTER (WHERE received_at < :e AND coalesce(resolved_at, 'infinity') >= :e
                   AND due_at < :e)
FROM facts GROUP BY agency_code
"""


def _facts(rng: random.Random) -> Facts:
    received = YEAR + timedelta(days=rng.uniform(-30, 365), minutes=rng.uniform(0, 600))
    due = received + timedelta(days=rng.choice([3, 5, 7, 15]))
    pauses: tuple[Pause, ...] = ()
    if rng.random() < 0.1:
        start = received + timedelta(days=1)
        pauses = (Pause(start, start + timedelta(days=rng.uniform(1, 10))),)
    resolved = received + timedelta(days=rng.uniform(1, 20)) if rng.random() < 0.85 else None
    judgement = None if resolved is None else ("late" if resolved > due else "on_time")
    return Facts(received_at=received, online=rng.random() < 0.7, due_at=due,
                 resolved_at=resolved, judgement=judgement, pauses=pauses,
                 processing_hours=24.0 if resolved else None)  # fmt: skip


def _counters(size: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = random.Random(size)
    summed: dict[tuple[str, str, str, str, Any], float] = defaultdict(float)
    rows = []
    for n in range(size):
        agency, procedure = rng.choice(AGENCIES), rng.choice(PROCEDURES)
        facts = _facts(rng)
        rows.append((f"D{n:08d}", agency, procedure, facts.received_at, facts.due_at,
                     facts.resolved_at, facts.judgement))  # fmt: skip
        for metric, on, value in contribution(facts):
            for a, p in ((agency, procedure), (agency, ALL_PROCEDURES), (ALL_AGENCIES, procedure)):
                for unit in UNITS:
                    summed[(a, p, metric, unit, unit_start(unit, on))] += value
    return [(*key, value) for key, value in summed.items()], rows


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000)  # fmt: skip


async def test_year_report_latency_grows_with_counters_not_dossiers(
    start_stats: StartStats, results: Results
) -> None:
    figures = results
    stats = await start_stats()
    dsn = stats.runtime.settings.database_url.replace("postgresql+asyncpg", "postgresql")
    measured = []
    async with httpx.AsyncClient(base_url=stats.url, timeout=60) as client:
        for size in SIZES:
            started = time.perf_counter()
            counters, facts_rows = _counters(size)
            connection = await asyncpg.connect(dsn)
            try:
                await connection.execute("TRUNCATE counts, facts")
                await connection.copy_records_to_table(
                    "counts", records=counters,
                    columns=["agency_code", "procedure_code", "metric", "unit", "start", "value"],
                )  # fmt: skip
                await connection.copy_records_to_table(
                    "facts", records=facts_rows,
                    columns=["code", "agency_code", "procedure_code", "received_at", "due_at",
                             "resolved_at", "judgement"],
                )  # fmt: skip
                # Vacuumed as live tables would be, so autovacuum does not run mid-measurement.
                await connection.execute("VACUUM ANALYZE counts")
                await connection.execute("VACUUM ANALYZE facts")
            finally:
                await connection.close()
            loaded = time.perf_counter() - started
            params = {"from": "2025-01-01", "to": "2025-12-31", "group_by": "agency"}
            (await client.get("/api/v1/reports/processing", params=params)).raise_for_status()
            samples = []
            for _ in range(RUNS):
                began = time.perf_counter()
                answer = await client.get("/api/v1/reports/processing", params=params)
                samples.append(time.perf_counter() - began)
                answer.raise_for_status()
            by_procedure = []
            for _ in range(max(RUNS // 3, 3)):
                began = time.perf_counter()
                await client.get(
                    "/api/v1/reports/processing", params={**params, "group_by": "procedure"}
                )
                by_procedure.append(time.perf_counter() - began)
            scans = []
            s = datetime(2025, 1, 1, tzinfo=VIETNAM).astimezone(UTC)
            e = datetime(2026, 1, 1, tzinfo=VIETNAM).astimezone(UTC)
            for _ in range(3):
                async with stats.runtime.db.transaction() as session:
                    began = time.perf_counter()
                    await session.execute(text(SCAN), {"s": s, "e": e})
                    scans.append(time.perf_counter() - began)
            total = answer.json()["totals"]["total"]
            measured.append((size, len(counters), loaded, _percentiles(samples),
                            _percentiles(by_procedure), statistics.median(scans) * 1000, total))  # fmt: skip

    print(f"\nOne-year processing report, {RUNS} requests per size")
    print(f"{'dossiers':>10} {'counter rows':>13} {'load s':>7} {'agency p50':>11} "
          f"{'p99':>8} {'procedure p50':>14} {'scan p50':>9} {'scan/report':>12}")  # fmt: skip
    section = f"one-year processing report ({RUNS} requests per size)"
    for size, rows, loaded, (p50, p99), (q50, _), scan, total in measured:
        figures.add(section, f"{size:,} dossiers ({rows:,} counter rows): by agency p50", p50,
                    "ms", raw=scan, raw_name="scan of the facts p50", note=f"p99 {p99:.1f} ms")  # fmt: skip
        print(f"{size:>10,} {rows:>13,} {loaded:>7.0f} {p50:>9.1f}ms {p99:>6.1f}ms "
              f"{q50:>12.1f}ms {scan:>7.1f}ms {scan / p50:>11.1f}x  (total {total:,})")  # fmt: skip
