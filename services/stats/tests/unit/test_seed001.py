"""Seed 001's Sở Tài nguyên và Môi trường row, to the digit, from a generated event
history: the events merged, counted and laid out by the service's own rules, then the
same row in the CSV and the spreadsheet."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

from openpyxl import load_workbook

from services.stats.tests.seed001 import AGENCY, ASKED_TWICE, PERIOD, ROW, generate
from shared.contracts import Envelope
from stats.adapters import exports
from stats.domain.counting import contribution
from stats.domain.facts import facts_of, merge
from stats.domain.report import OUTCOMES, indicators, rows

BLANK = {
    "received_at": None, "online": True, "due_at": None, "due_sequence": 0,
    "resolved_at": None, "judgement": None, "processing_hours": None, "e_result": False,
    "digitised": False, "rejected_at": None, "withdrawn_at": None, "returned_at": None,
    "stopped_at": None, "paid_at": None, "fee_vnd": 0, "paid_online": False,
    "fee_timing": "on_result", "fee_wait_from": None, "national_queued": 0, "national_synced": 0,
}  # fmt: skip


def counters(events: list[Envelope]) -> tuple[dict[str, float], dict[str, float]]:
    """Each dossier's events merged into its facts, its counters summed before the period
    and during it: what the projection and the report's reading do, without a database."""
    dossiers: dict[str, list[Envelope]] = defaultdict(list)
    for envelope in events:
        dossiers[envelope.dossier_code or ""].append(envelope)
    start, end = PERIOD
    before: dict[str, float] = defaultdict(float)
    during: dict[str, float] = defaultdict(float)
    for envelopes in dossiers.values():
        row: dict[str, Any] = dict(BLANK)
        rounds: dict[int, dict[str, Any]] = {}
        for envelope in envelopes:
            change = merge(row, envelope.payload(), envelope.sequence or 0)
            if change is not None:
                pause = rounds.setdefault(change.round, {"requested_at": None, "resumed_at": None})
                pause.update(change.values)
        for metric, on, value in contribution(facts_of(row, rounds.values())):
            if on < start:
                before[metric] += value
            elif on <= end:
                during[metric] += value
    return before, during


def test_the_seed_row_is_reproduced_to_the_digit() -> None:
    before, during = counters(generate())
    (row,) = rows({AGENCY[0]: (before, during)}, {AGENCY[0]: AGENCY[1]})
    assert row["name"] == "Sở Tài nguyên và Môi trường"
    assert row["resolved_early"] + row["resolved_on_time"] == ROW["resolved_on_time_or_early"]
    assert {c: row[c] for c in ROW if c in row} == {c: v for c, v in ROW.items() if c in row}
    assert row["total"] == sum(row[c] for c in OUTCOMES)
    assert row["awaiting_supplement"] + row["awaiting_fee"] == 388 + 608
    # Decision 766 judges the dossiers asked twice as late; the table judges by the dates.
    on_time = indicators(before, during)["on_time_rate"]
    assert on_time["late_for_supplements"] == ASKED_TWICE
    assert on_time["numerator"] == 11414 + 278 - ASKED_TWICE
    assert on_time["denominator"] == 12768

    data = {"from": PERIOD[0], "to": PERIOD[1], "rows": [row], "totals": row}
    lines = list(csv.reader(io.StringIO(exports.to_csv(data).decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(data))).active
    assert sheet is not None
    cells = [[c.value for c in r] for r in sheet.iter_rows(min_row=6)]
    for line in (lines[1], cells[0]):
        found = {column: line[i] for i, (column, _) in enumerate(exports.HEADERS)}
        assert found["name"] == "Sở Tài nguyên và Môi trường"
        assert [int(found[c]) for c in (
            "carried_over_in_time", "carried_over_overdue", "carried_over_awaiting_supplement",
            "total", "resolved_late", "in_progress_in_time", "in_progress_overdue",
            "awaiting_supplement", "awaiting_fee", "stopped", "returned_rejected",
        )] == [337, 10, 69, 12768, 76, 278, 4, 388, 608, 0, 0]  # fmt: skip
        assert found["on_time_rate_text"] == "99,3%"
        assert int(found["total"]) == sum(int(found[c]) for c in OUTCOMES)
