"""Submitted dossiers applied as runs (one statement per table for the run): a batch gives
exactly the rows and events that the same events applied one after another give,
including two events of one dossier in a batch, a copy redelivered under a new id and a
duplicate."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from services.workflow.tests.integration.support import submitted, withdrawn
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.messaging import Batched, InboxConsumer
from shared.runtime import Role, bind_all
from shared.testing.delivered import Delivered
from shared.testing.service import ServiceUnderTest
from workflow.consumers import HANDLERS

pytestmark = pytest.mark.integration


def _scenario() -> list[Envelope]:
    """Five dossiers A to E as delivered: E twice (the copy under a new id) in one run, A
    withdrawn and then delivered again under a new id, B's very message twice, D
    withdrawn right after its submission."""
    sub = {
        label: submitted(code=f"G01.306.000.000-261123-{label}").model_copy(
            update={"correlation_id": f"c-{label}"}
        )
        for label in "ABCDE"
    }
    again = {
        label: sub[label].model_copy(update={"id": uuid.uuid4(), "correlation_id": f"c-{label}2"})
        for label in "AE"
    }
    return [
        sub["E"], sub["A"], again["E"], sub["B"],
        withdrawn(sub["A"]).model_copy(update={"correlation_id": "c-wA"}),
        again["A"], sub["C"], sub["B"], sub["D"],
        withdrawn(sub["D"]).model_copy(update={"correlation_id": "c-wD"}),
    ]  # fmt: skip


def _variant(envelopes: list[Envelope], tag: str) -> tuple[list[Envelope], dict[str, str]]:
    """The same events about other dossiers (their codes, ids, procedure and correlation
    ids marked with `tag`); and how to read the marks back to the originals."""
    back: dict[str, str] = {}
    out = []
    for e in envelopes:
        data = dict(e.data)
        dossier_id = str(uuid.uuid5(uuid.NAMESPACE_OID, tag + data["dossier_id"]))
        back[dossier_id] = data["dossier_id"]
        data["dossier_id"] = dossier_id
        back[f"P-{tag}"] = data["procedure_code"]
        data["procedure_code"] = f"P-{tag}"
        code, correlation = f"{e.dossier_code}-{tag}", f"{e.correlation_id}-{tag}"
        back[code], back[correlation] = e.dossier_code or "", e.correlation_id or ""
        out.append(
            e.model_copy(
                update={
                    "id": uuid.uuid5(uuid.NAMESPACE_OID, tag + str(e.id)),
                    "dossier_code": code,
                    "correlation_id": correlation,
                    "data": data,
                }
            )
        )
    return out, back


_TABLES = {
    "cases": "SELECT * FROM cases WHERE code = ANY(:codes) ORDER BY code",
    "history": "SELECT h.* FROM history h JOIN cases c ON c.id = h.case_id"
    " WHERE c.code = ANY(:codes) ORDER BY h.id",
    "national_sync": "SELECT * FROM national_sync WHERE dossier_code = ANY(:codes) ORDER BY id",
    "outbox": "SELECT event_type, dossier_code, envelope FROM outbox"
    " WHERE dossier_code = ANY(:codes) ORDER BY id",
    "procedures": "SELECT * FROM procedures WHERE code = :procedure",
}
# What differs between two applications of the same events by nature: serial numbers and
# the database's clock.
_SERIAL = {"cases": {"created_at"}, "history": {"id"}, "national_sync": {"id"}}


async def _rows(workflow: ServiceUnderTest, back: dict[str, str]) -> dict[str, Any]:
    """The rows the events wrote, their marks read back to the originals."""
    codes = [k for k in back if k.startswith("G01")]
    procedure = next(k for k in back if k.startswith("P-"))
    snapshot: dict[str, Any] = {}
    async with workflow.runtime.db.transaction() as session:
        for table, query in _TABLES.items():
            rows = await session.execute(text(query), {"codes": codes, "procedure": procedure})
            snapshot[table] = [
                {k: v for k, v in row.items() if k not in _SERIAL.get(table, ())}
                for row in rows.mappings()
            ]
    for event in snapshot["outbox"]:
        envelope = event["envelope"]
        event["envelope"] = {k: v for k, v in envelope.items() if k != "id"}
    dumped = json.dumps(snapshot, default=str, ensure_ascii=False, sort_keys=True)
    for marked, original in sorted(back.items(), key=lambda kv: -len(kv[0])):
        dumped = dumped.replace(marked, original)
    result: dict[str, Any] = json.loads(dumped)
    return result


async def test_a_batch_of_submitted_dossiers_writes_what_they_write_one_by_one(
    start_workflow: Any,
) -> None:
    assert isinstance(HANDLERS[ev.DossierSubmitted], Batched)
    # No consumer, relay or worker of its own: only this test applies and reads.
    workflow = await start_workflow(roles=frozenset({Role.API}))
    runtime = workflow.runtime
    consumer = InboxConsumer(
        "workflow", runtime.db, runtime.broker, bind_all(HANDLERS, runtime.ctx), runtime.metrics
    )
    scenario = _scenario()
    alone, alone_back = _variant(scenario, "one")
    together, together_back = _variant(scenario, "run")

    for envelope in alone:
        await consumer.on_batch([Delivered(envelope)])  # type: ignore[list-item]
    await consumer.on_batch([Delivered(e) for e in together])  # type: ignore[misc]

    expected = await _rows(workflow, alone_back)
    assert await _rows(workflow, together_back) == expected
    # And what one after another gives is what a dossier's events mean.
    code = "G01.306.000.000-261123-{}".format
    assert [c["code"] for c in expected["cases"]] == [code(x) for x in "ABCDE"]
    assert {c["code"]: c["status"] for c in expected["cases"]} == {
        code("A"): "withdrawn", code("B"): "submitted", code("C"): "submitted",
        code("D"): "withdrawn", code("E"): "submitted",
    }  # fmt: skip
    actions = [(h["case_id"], h["action"]) for h in expected["history"]]
    ids = {c["code"]: c["id"] for c in expected["cases"]}
    assert actions == [
        (ids[code("E")], "submit"), (ids[code("A")], "submit"), (ids[code("B")], "submit"),
        (ids[code("A")], "withdraw"), (ids[code("C")], "submit"), (ids[code("D")], "submit"),
        (ids[code("D")], "withdraw"),
    ]  # fmt: skip
    queued = [
        (e["dossier_code"], e["envelope"]["data"]["record_sequence"], e["envelope"]["correlation_id"])
        for e in expected["outbox"]
    ]  # fmt: skip
    # Each record's event in the correlation of the event that caused it.
    assert queued == [
        (code("E"), 1, "c-E"), (code("A"), 1, "c-A"), (code("B"), 1, "c-B"),
        (code("A"), 2, "c-wA"), (code("C"), 1, "c-C"), (code("D"), 1, "c-D"),
        (code("D"), 2, "c-wD"),
    ]  # fmt: skip
    assert [(s["dossier_code"], s["sequence"], s["status_code"]) for s in expected["national_sync"]] == [
        (code("E"), 1, 1), (code("A"), 1, 1), (code("B"), 1, 1), (code("A"), 2, 7),
        (code("C"), 1, 1), (code("D"), 1, 1), (code("D"), 2, 7),
    ]  # fmt: skip


async def test_a_submission_without_a_correlation_id_starts_one_for_what_it_causes(
    start_workflow: Any,
) -> None:
    workflow = await start_workflow(roles=frozenset({Role.API}))
    runtime = workflow.runtime
    consumer = InboxConsumer(
        "workflow", runtime.db, runtime.broker, bind_all(HANDLERS, runtime.ctx), runtime.metrics
    )
    run = [submitted().model_copy(update={"correlation_id": None}) for _ in range(2)]

    await consumer.on_batch([Delivered(e) for e in run])  # type: ignore[misc]

    async with runtime.db.transaction() as session:
        rows = await session.execute(
            text("SELECT envelope FROM outbox WHERE dossier_code = ANY(:codes) ORDER BY id"),
            {"codes": [e.dossier_code for e in run]},
        )
        correlations = [envelope["correlation_id"] for envelope in rows.scalars()]
    # One each, as each event handled alone would have had.
    assert len(correlations) == 2
    assert None not in correlations
    assert len(set(correlations)) == 2
