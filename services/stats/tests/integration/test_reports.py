"""The processing report against a reference computed independently from the same event
history, whatever the order and duplication of the events; exports, indicators, the
public list, and the wiring through RabbitMQ."""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook

from services.stats.tests.integration.history import (
    AGENCIES,
    DISTRICT,
    OTHER,
    PROVINCE,
    History,
    expected_report,
    generate,
)
from shared.runtime import Role
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest, StartService
from stats.adapters.exports import HEADERS
from stats.domain.report import COUNTS, OUTCOMES
from stats.rebuild import apply, rebuild

pytestmark = pytest.mark.integration

PERIODS = [
    (date(2025, 1, 1), date(2025, 12, 31)),  # the year, with dossiers carried over into it
    (date(2025, 3, 1), date(2025, 3, 31)),
    (date(2025, 4, 15), date(2025, 8, 2)),  # neither starts nor ends on a month
    (date(2025, 6, 30), date(2025, 6, 30)),  # one day
]
IDENTITY = OUTCOMES
CARRIED = ("carried_over_in_time", "carried_over_overdue", "carried_over_awaiting_supplement")


async def _report(stats: ServiceUnderTest, start: date, end: date, **params: Any) -> Any:
    async with stats.client() as client:
        answer = await client.get(
            "/api/v1/reports/processing",
            params={"from": start.isoformat(), "to": end.isoformat(), **params},
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _compare(report: Any, expected: dict[str, dict[str, int]]) -> None:
    got = {row["key"]: row for row in report["rows"]}
    assert set(got) == set(expected)
    for agency, counts in expected.items():
        row = got[agency]
        for column in COUNTS:
            if column in ("received", "total", "resolved"):
                continue
            assert row[column] == counts.get(column, 0), (agency, column)
        assert row["total"] == sum(row[c] for c in IDENTITY)


@pytest.fixture
async def history() -> History:
    return generate(seed=20251123)


async def test_the_report_matches_the_history_counted_dossier_by_dossier(
    stats: ServiceUnderTest, history: History
) -> None:
    await _apply(stats, history.events)
    every = set(AGENCIES)
    snapshots = []
    for start, end in PERIODS:
        report = await _report(stats, start, end)
        _compare(report, expected_report(history.truths, start, end, every))
        snapshots.append(report)
        for row in [*report["rows"], report["totals"]]:
            assert row["total"] == sum(row[c] for c in IDENTITY)
            assert row["total"] == sum(row[c] for c in CARRIED) + row["received"]
    # The history has each of the new columns somewhere in the year.
    year = snapshots[0]["totals"]
    assert all(year[c] > 0 for c in ("awaiting_fee", "stopped", "carried_over_awaiting_supplement"))
    # A parent agency sums its units; another province is left out.
    tree = await _report(stats, *PERIODS[0], agency_code=PROVINCE)
    assert {r["key"] for r in tree["rows"]} == {PROVINCE, DISTRICT}
    _compare(tree, expected_report(history.truths, *PERIODS[0], {PROVINCE, DISTRICT}))
    by_field = await _report(stats, *PERIODS[0], group_by="field")
    by_procedure = await _report(stats, *PERIODS[0], group_by="procedure")
    assert by_field["totals"] == by_procedure["totals"] == snapshots[0]["totals"]
    assert {r["name"] for r in by_field["rows"]} >= {"Cư trú", "Quản lý con dấu"}

    # The same events shuffled and duplicated, rebuilt from scratch: the identical report.
    shuffled = history.events + random.Random(7).sample(history.events, 200)
    random.Random(11).shuffle(shuffled)
    await _truncate_and_apply(stats, shuffled)
    for (start, end), before in zip(PERIODS, snapshots, strict=True):
        assert await _report(stats, start, end) == before


async def _apply(stats: ServiceUnderTest, events: list[Any]) -> None:
    """The events through the handlers, as the consumer applies them (no archived names)."""
    await apply(stats.runtime.ctx, [(e, None) for e in events])


async def _truncate_and_apply(stats: ServiceUnderTest, events: list[Any]) -> None:
    from sqlalchemy import text

    async with stats.runtime.db.transaction() as session:
        await session.execute(text("TRUNCATE facts, pauses, counts"))
    await _apply(stats, events)


async def test_rebuilding_from_the_archive_gives_the_same_report(
    start_stats: StartService, history: History
) -> None:
    # Not consuming: a rebuild refuses to run beside a consumer.
    stats = await start_stats(roles=frozenset({Role.API}))
    await _apply(stats, history.events[:150])
    before = await _report(stats, *PERIODS[0])
    assert await rebuild(stats.runtime.ctx) == 150
    assert await _report(stats, *PERIODS[0]) == before


async def test_exports_carry_the_official_headings_and_the_same_numbers(
    stats: ServiceUnderTest, history: History
) -> None:
    await _apply(stats, history.events)
    start, end = PERIODS[0]
    report = await _report(stats, start, end)
    params = {"from": start.isoformat(), "to": end.isoformat()}
    async with stats.client() as client:
        as_csv = await client.get("/api/v1/reports/processing.csv", params=params)
        as_xlsx = await client.get("/api/v1/reports/processing.xlsx", params=params)
        bad = await client.get("/api/v1/reports/processing",
                               params={"from": "2025-12-31", "to": "2025-01-01"})  # fmt: skip
        worse = await client.get("/api/v1/reports/processing", params={"from": "hôm qua"})
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["Đơn vị / Thủ tục / Lĩnh vực", "Tổng số hồ sơ nhận giải quyết",
                            "Số mới tiếp nhận trực tuyến"]  # fmt: skip
    assert lines[-1][0] == "Tổng cộng"
    assert int(lines[-1][1]) == report["totals"]["total"]
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert "Số hồ sơ đã giải quyết" in cells[3]
    assert "Đã giải quyết trước hạn" in cells[4]
    assert cells[-1][0] == "Tổng cộng"
    assert cells[-1][1] == report["totals"]["total"]
    # Every line of both files adds up, with the new columns beside the old ones.
    position = {column: i for i, (column, _) in enumerate(HEADERS)}
    assert {"carried_over_awaiting_supplement", "awaiting_fee", "stopped"} <= set(position)
    for line in [*lines[1:], *cells[5:]]:
        number = [int(line[position[c]]) for c in ("total", *IDENTITY)]
        assert number[0] == sum(number[1:]), line
    assert len(lines) - 1 == len(cells) - 5 == len(report["rows"]) + 1
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert worse.status_code == 422


async def test_indicators_show_numerators_and_denominators(
    stats: ServiceUnderTest, history: History
) -> None:
    await _apply(stats, history.events)
    start, end = PERIODS[0]
    report = await _report(stats, start, end)
    async with stats.client() as client:
        answer = await client.get(
            "/api/v1/indicators", params={"from": start.isoformat(), "to": end.isoformat()}
        )
        empty = await client.get(
            "/api/v1/indicators", params={"from": "2030-01-01", "to": "2030-01-31"}
        )
    found = answer.json()["indicators"]
    totals = report["totals"]
    assert found["online_rate"]["numerator"] == totals["received_online"]
    assert found["online_rate"]["denominator"] == totals["received"]
    assert found["on_time_rate"]["denominator"] == totals["total"]
    assert found["on_time_rate"]["late_for_supplements"] >= 0
    assert found["satisfaction"]["handled"] == totals["total"]
    assert found["e_result_rate"]["value"] == 0.0
    assert empty.json()["indicators"]["online_rate"]["value"] is None


async def test_the_public_list_masks_names_by_default(
    stats: ServiceUnderTest, history: History
) -> None:
    await _apply(stats, history.events)
    async with stats.client() as client:
        listed = (await client.get("/api/v1/public/awaiting-pickup", params={"limit": 200})).json()
        one_agency = (
            await client.get("/api/v1/public/awaiting-pickup", params={"agency_code": OTHER})
        ).json()
    waiting = {
        t.code for t in history.truths
        if t.end and t.end[1] == "resolved"
    }  # fmt: skip
    assert listed["items"]
    assert {i["code"] for i in listed["items"]} <= waiting
    assert all(i["applicant_name"] == "Nguyễn V*** A***" for i in listed["items"])
    assert all(i["agency_name"] == "Công an tỉnh Sóc Trăng" for i in one_agency["items"])


async def test_the_public_list_shows_full_names_when_set_to(
    start_stats: Any, history: History
) -> None:
    full = await start_stats(public_full_names=True)
    await _apply(full, history.events[:60])
    async with full.client() as client:
        shown = (await client.get("/api/v1/public/awaiting-pickup")).json()["items"]
    assert all(i["applicant_name"] == "Nguyễn Văn An" for i in shown)


async def test_events_arrive_through_the_broker_and_show_in_metrics(
    start_stats: Any, history: History
) -> None:
    stats = await start_stats(gauges_seconds=0.2)
    for envelope in history.events[:40]:
        await stats.publish(envelope)

    async def applied() -> bool:
        report = await _report(stats, date(2024, 1, 1), date(2026, 12, 31))
        return report["totals"]["total"] > 0

    await eventually(applied, timeout=20, what="the events to be projected")

    async def gauges() -> str | None:
        async with stats.client() as client:
            text = (await client.get("/metrics")).text
        return text if "stats_dossiers{" in text else None

    text = await eventually(gauges, timeout=10, what="the business gauges")
    assert 'agency="G01.' in text
    assert "Nguyễn" not in text
    assert "stats_consumer_lag_seconds" in text
