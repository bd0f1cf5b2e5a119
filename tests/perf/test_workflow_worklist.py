"""The officers' work list over 1,000,000 dossiers: p50/p99 of the filtered, paginated list
through workflow's HTTP API, beside the raw limits it depends on, measured in the same
run: the same SQL queried straight on the database, and an HTTP round trip that does no
work (/healthz).

The dossiers are generated in SQL (1,000,000 by default, `BENCH_CASES`), 10 % of them in
the demo province whose desk officer runs the queries, the rest spread over 99 agencies.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text

from services.workflow.tests.conftest import StartWorkflow, start_workflow
from services.workflow.tests.integration.support import BAC_KAN, token
from tests.perf.support import Results

__all__ = ["start_workflow"]

CASES = int(os.environ.get("BENCH_CASES", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "100"))

GENERATE = """
INSERT INTO cases (
    id, code, status, agency_code, agency_name, procedure_code, procedure_name, field,
    online_level, processing_days, cutoff_time, fee_vnd, applicant, applicant_name, form,
    attachments, result_delivery, recipient, submitted_at, received_at, due_at, priority_at,
    assignee_id, assignee_name, updated_at)
SELECT
    gen_random_uuid(),
    agency || '-' || to_char(submitted, 'YYMMDD') || '-' || lpad(n::text, 7, '0'),
    status, agency, 'Đơn vị ' || agency, procedure, 'Thủ tục ' || procedure, 'residence',
    'full', 3, '15:00', 0, '{}'::jsonb, name, '{}'::jsonb, '[]'::jsonb,
    '{"method": "in_person"}'::jsonb, '{"full_name": "x"}'::jsonb,
    submitted,
    CASE WHEN status = 'submitted' THEN NULL ELSE submitted + interval '2 hours' END,
    CASE WHEN status = 'submitted' THEN NULL ELSE submitted + interval '5 days' END,
    CASE WHEN status = 'submitted' THEN submitted ELSE submitted + interval '5 days' END,
    CASE WHEN status IN ('in_progress', 'pending_approval') AND n % 3 = 0
         THEN '00000000-0000-0000-0000-000000000001'::uuid END,
    NULL, now()
FROM (
    SELECT n,
        CASE WHEN n % 10 = 0 THEN :agency
             ELSE 'H' || lpad((n % 99)::text, 2, '0') || '.000.000.000' END AS agency,
        '1.00' || (4000 + n % 40)::text AS procedure,
        (ARRAY['Nguyễn','Trần','Lê','Phạm','Hoàng','Vũ','Đặng','Bùi'])[1 + n % 8] || ' ' ||
        (ARRAY['Văn','Thị','Minh','Thu','Đức','Ngọc'])[1 + (n / 8) % 6] || ' ' ||
        (ARRAY['An','Bình','Cường','Dung','Giang','Hà','Khoa','Lan','Mai','Nam','Phúc','Quân'])
            [1 + (n / 48) % 12] AS name,
        now() - (n % 1095) * interval '1 day' - (n % 480) * interval '1 minute' AS submitted,
        CASE
            WHEN n % 100 < 70 THEN 'returned' WHEN n % 100 < 75 THEN 'rejected'
            WHEN n % 100 < 85 THEN 'in_progress' WHEN n % 100 < 90 THEN 'received'
            WHEN n % 100 < 93 THEN 'submitted' WHEN n % 100 < 96 THEN 'supplement_requested'
            WHEN n % 100 < 98 THEN 'pending_approval' ELSE 'result_ready' END AS status
    FROM generate_series(1, :cases) AS n
) AS generated
"""

# What the API runs for each request, to time on the database alone.
RAW = {
    "first page": "SELECT code FROM cases WHERE agency_code = :agency "
    "ORDER BY priority_at, code LIMIT 51",
    "status=in_progress": "SELECT code FROM cases WHERE agency_code = :agency "
    "AND status = 'in_progress' ORDER BY priority_at, code LIMIT 51",
    "overdue": "SELECT code FROM cases WHERE agency_code = :agency AND status IN "
    "('received', 'in_progress', 'pending_approval') AND due_at < now() "
    "ORDER BY priority_at, code LIMIT 51",
    "procedure": "SELECT code FROM cases WHERE agency_code = :agency "
    "AND procedure_code = '1.004010' ORDER BY priority_at, code LIMIT 51",
    "name search": "SELECT code FROM cases WHERE agency_code = :agency "
    "AND lower(applicant_name) LIKE '%hoàng thu lan%' ORDER BY priority_at, code LIMIT 51",
}
PARAMS: dict[str, dict[str, Any]] = {
    "first page": {},
    "overdue": {"overdue": "true"},
    "status=in_progress": {"status": "in_progress"},
    "procedure": {"procedure_code": "1.004010"},
    "name search": {"q": "Hoàng Thu Lan"},
}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def _time(call: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    await call()  # warm
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return _percentiles(samples)


async def test_work_list_latency_over_a_million_dossiers(
    start_workflow: StartWorkflow, results: Results
) -> None:
    workflow = await start_workflow()
    started = time.perf_counter()
    async with workflow.runtime.db.transaction() as session:
        await session.execute(text(GENERATE), {"agency": BAC_KAN, "cases": CASES})
    # Vacuumed as a live table would be: otherwise autovacuum wakes up for the million new
    # rows in the middle of the measurements.
    connection = await asyncpg.connect(
        workflow.runtime.settings.database_url.replace("postgresql+asyncpg", "postgresql")
    )
    try:
        await connection.execute("VACUUM ANALYZE cases")
    finally:
        await connection.close()
    loaded = time.perf_counter() - started
    auth = await token(workflow, BAC_KAN, "receiver")

    async with httpx.AsyncClient(base_url=workflow.url, headers=auth, timeout=30) as client:

        async def healthz() -> None:
            (await client.get("/healthz")).raise_for_status()

        floor = await _time(healthz)
        rows = []
        for name, params in PARAMS.items():

            async def api(params: dict[str, Any] = params) -> None:
                answer = await client.get("/api/v1/dossiers", params={"limit": 50, **params})
                answer.raise_for_status()

            async def raw(sql: str = RAW[name]) -> None:
                async with workflow.runtime.db.transaction() as session:
                    await session.execute(text(sql), {"agency": BAC_KAN})

            rows.append((name, await _time(api), await _time(raw)))

        # Deep paging: the 20th page costs what the first does (keyset, not OFFSET).
        cursor = None
        for _ in range(19):
            page = await client.get("/api/v1/dossiers", params={"limit": 50, "cursor": cursor})
            cursor = page.json()["next_cursor"]

        async def deep() -> None:
            (
                await client.get("/api/v1/dossiers", params={"limit": 50, "cursor": cursor})
            ).raise_for_status()

        rows.append(("page 20", await _time(deep), rows[0][2]))

    print(f"\n{CASES:,} dossiers generated and indexed in {loaded:.0f} s; {RUNS} requests each")
    print(f"HTTP floor (/healthz): p50 {floor[0]:.1f} ms, p99 {floor[1]:.1f} ms")
    print(
        f"{'query':<20} {'API p50':>9} {'API p99':>9} {'SQL p50':>9} {'SQL p99':>9} {'API/SQL+HTTP p50':>17}"
    )
    section = f"officers' work list over {CASES:,} dossiers ({RUNS} requests each)"
    for name, (p50, p99), (s50, s99) in rows:
        ratio = p50 / (s50 + floor[0])
        print(f"{name:<20} {p50:>7.1f}ms {p99:>7.1f}ms {s50:>7.1f}ms {s99:>7.1f}ms {ratio:>16.2f}x")
        results.add(section, f"{name}: API p50", p50, "ms", raw=s50 + floor[0],
                    raw_name="SQL p50 + /healthz p50", note=f"p99 {p99:.1f} ms")  # fmt: skip
