"""The fault tests' ledger, on snapshots made by hand: a clean one counts nothing, and
each kind of damage is counted where the databases show it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from tests.chaos.ledger import ATTACHMENTS_BUCKET, Snapshot, tally
from tests.chaos.load import FAILED, OK, UNKNOWN, Call, Journey, Load

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _load(*journeys: Journey) -> Load:
    load = Load(client=None, citizens=[])  # type: ignore[arg-type]
    load.journeys.extend(journeys)
    return load


def _journey(n: int, submit: str, receive: str | None = OK) -> Journey:
    journey = Journey(f"marker-{n}")
    journey.calls["draft"] = Call("draft", f"k{n}-draft", OK, 201, 1)
    journey.calls["submit"] = Call("submit", f"k{n}-submit", submit, 200, 1)
    if submit == OK:
        journey.code = f"D{n}"
        if receive is not None:
            journey.calls["receive"] = Call("receive", f"k{n}-receive", receive, 200, 1)
    return journey


def _clean(n: int) -> dict[str, Any]:
    """The rows one accepted and received dossier leaves in every database."""
    code, event, received = f"D{n}", uuid.uuid4(), uuid.uuid4()
    return {
        "dossiers": [{"id": uuid.uuid4(), "code": code, "marker": f"marker-{n}",
                      "received_at": NOW}],
        "attachments": [{"bucket": ATTACHMENTS_BUCKET, "object_key": f"obj-{n}"}],
        "cases": [{"code": code, "received": True}],
        "deliveries": [
            {"event_id": event, "event_type": "dossier.submitted", "dossier_code": code,
             "channel": "sms", "recipient": "0900000000"},
            {"event_id": received, "event_type": "dossier.received", "dossier_code": code,
             "channel": "sms", "recipient": "0900000000"},
        ],
        "sms": [{"phone": "0900000000", "text": f"{code} da nop"},
                {"phone": "0900000000", "text": f"{code} da tiep nhan"}],
        "facts": [{"code": code, "received_at": NOW}],
        "stored": {f"obj-{n}"},
    }  # fmt: skip


def _snapshot(*parts: dict[str, Any], counted: int | None = None) -> Snapshot:
    merged: dict[str, Any] = {"stored": set()}
    for part in parts:
        for key, value in part.items():
            if key == "stored":
                merged["stored"] |= value
            else:
                merged.setdefault(key, []).extend(value)
    received = sum(1 for f in merged["facts"] if f["received_at"] is not None)
    return Snapshot(**merged, counted=received if counted is None else counted)


def test_a_clean_run_counts_nothing() -> None:
    ledger = tally(_snapshot(_clean(1), _clean(2)), [_load(_journey(1, OK), _journey(2, OK))])
    assert (ledger.lost, ledger.duplicated, ledger.orphans, ledger.unexpected) == ([], [], [], [])
    assert (ledger.accepted, ledger.received, ledger.journeys) == (2, 2, 2)


def test_an_accepted_dossier_missing_downstream_is_lost() -> None:
    rows = _clean(1)
    rows["cases"] = []
    rows["facts"] = []
    ledger = tally(_snapshot(rows), [_load(_journey(1, OK))])
    assert any("no case in workflow" in item for item in ledger.lost)
    assert any("no fact in stats" in item for item in ledger.lost)
    assert any("the officer was told" in item for item in ledger.lost)


def test_a_second_sms_or_case_count_is_a_duplicate() -> None:
    rows = _clean(1)
    rows["deliveries"].append({**rows["deliveries"][0], "id": None})
    rows["sms"].append(rows["sms"][0])
    ledger = tally(_snapshot(rows, counted=2), [_load(_journey(1, OK))])
    assert len(ledger.duplicated) == 4  # per event, per event and recipient, SMS, report


def test_objects_and_rows_apart_are_orphans() -> None:
    rows = _clean(1)
    rows["stored"] = {"obj-stray"}
    ledger = tally(_snapshot(rows), [_load(_journey(1, OK))])
    assert sorted(ledger.orphans) == ["object obj-stray without a row",
                                      "row of obj-1 without its object"]  # fmt: skip


def test_an_effect_of_a_refused_submit_is_unexpected_and_unknowns_are_split() -> None:
    refused, unknown_in, unknown_out = (
        _journey(1, FAILED),
        _journey(2, UNKNOWN),
        _journey(3, UNKNOWN),
    )
    ledger = tally(_snapshot(_clean(1), _clean(2)), [_load(refused, unknown_in, unknown_out)])
    assert ledger.unexpected == ["marker-1: submit refused, yet accepted"]
    assert (ledger.unknown_present, ledger.unknown_absent) == (1, 1)


def test_a_server_fault_the_client_saw_is_counted() -> None:
    load = _load(_journey(1, OK))
    load.faults.append("submit POST /api/v1/dossiers/x/submit: 500 {}")
    ledger = tally(_snapshot(_clean(1)), [load])
    assert ledger.faults == ["submit POST /api/v1/dossiers/x/submit: 500 {}"]
    assert tally(_snapshot(_clean(1)), [_load(_journey(1, OK))]).faults == []
