"""A dossier's events merged into its facts, whatever their order: pure rules, nothing
running."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

import pytest

from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from shared.contracts.events import VIETNAM
from stats.domain.counting import Pause, feedback_counters
from stats.domain.facts import PauseChange, facts_of, merge, set_once

RECEIVED = datetime(2025, 3, 3, 9, tzinfo=VIETNAM)
DUE = RECEIVED + timedelta(days=5)
DOSSIER = {
    "procedure_code": "1.004194", "procedure_name": "Đăng ký tạm trú", "field": "residence",
    "agency_code": "G01.306.000.000", "agency_name": "Công an tỉnh Bắc Kạn",
}  # fmt: skip
WORKFLOW = {**DOSSIER, "actor": ev.Actor(kind="officer"), "received_at": RECEIVED}


def blank() -> dict[str, Any]:
    """A facts row as the table's defaults make it."""
    return {
        "code": "G01-0001", "agency_code": DOSSIER["agency_code"],
        "procedure_code": DOSSIER["procedure_code"], "submitted_at": None, "received_at": None,
        "online": True, "due_at": None, "due_sequence": 0, "resolved_at": None,
        "judgement": None, "processing_hours": None, "e_result": False, "digitised": False,
        "rejected_at": None, "withdrawn_at": None, "returned_at": None, "stopped_at": None,
        "paid_at": None, "fee_vnd": 0, "fee_timing": "on_result", "fee_wait_from": None,
        "paid_online": False, "national_queued": 0, "national_synced": 0,
        "applicant_name": None, "contribution": [],
    }  # fmt: skip


def submitted(name: str = "Nguyễn Văn An", attachments: int = 1) -> EventData:
    file = ev.FileRef(bucket="b", key="k", size=1, content_type="application/pdf", sha256="0")
    return ev.DossierSubmitted(
        **DOSSIER, status=ev.DossierStatus.SUBMITTED, dossier_id=uuid.uuid4(),
        online_level="full", submitted_at=RECEIVED - timedelta(hours=2),
        applicant=ev.Applicant(kind="citizen", full_name=name), form={},
        attachments=[file] * attachments, result_delivery=ev.ResultDelivery(method="in_person"),
        recipient=ev.Recipient(full_name=name), update_code="X", fee_vnd=30000,
    )  # fmt: skip


def received(channel: Literal["online", "direct"] = "direct", due: datetime = DUE) -> EventData:
    return ev.DossierReceived(**WORKFLOW, status=ev.DossierStatus.RECEIVED, channel=channel,
                              counted_from=RECEIVED, rule_set="nd-118-2025",
                              original_due_at=due)  # fmt: skip


def resolved(at: datetime = DUE, judgement: ev.Judgement = ev.Judgement.ON_TIME) -> EventData:
    file = ev.FileRef(bucket="b", key="r", size=1, content_type="application/pdf", sha256="0")
    return ev.DossierResultReady(**WORKFLOW, status=ev.DossierStatus.RESULT_READY,
                                 resolved_at=at, judgement=judgement, result_summary="Xong",
                                 processing_working_hours=12.5, result_file=file,
                                 original_due_at=DUE + timedelta(days=2))  # fmt: skip


def paid(method: Literal["online", "in_person"]) -> EventData:
    return ev.PaymentCompleted(**DOSSIER, status=ev.DossierStatus.RECEIVED, amount_vnd=30000,
                               method=method, reference="P1", paid_at=RECEIVED)  # fmt: skip


def merged(*events: tuple[EventData, int]) -> dict[str, Any]:
    row = blank()
    for data, sequence in events:
        merge(row, data, sequence)
    return row


def test_any_order_of_the_events_gives_the_same_facts() -> None:
    result = resolved()
    history = [
        (submitted(), 1), (received(), 1), (paid("online"), 0), (paid("in_person"), 0),
        (result, 3), (result, 3),  # delivered twice
    ]  # fmt: skip
    rows = [merged(*order) for order in itertools.permutations(history)]
    assert all(row == rows[0] for row in rows)
    first = rows[0]
    assert (first["resolved_at"], first["judgement"], first["processing_hours"]) == (
        DUE, "on_time", 12.5,
    )  # fmt: skip
    # The due date of the highest sequence, the result's, wins over the receipt's.
    assert (first["due_at"], first["due_sequence"]) == (DUE + timedelta(days=2), 3)
    assert first["paid_online"]
    assert first["e_result"]
    assert first["digitised"]
    assert (first["applicant_name"], first["fee_vnd"], first["online"]) == (
        "Nguyễn Văn An",
        30000,
        False,
    )


@pytest.mark.parametrize(
    ("events", "due_at", "due_sequence"),
    [
        # An event without a sequence never sets the due date.
        ([(received(), 0)], None, 0),
        # The same sequence again does not move it.
        ([(received(due=DUE), 2), (received(due=DUE + timedelta(days=1)), 2)], DUE, 2),
        # An older event arriving late does not undo a newer one.
        ([(received(due=DUE + timedelta(days=1)), 5), (received(due=DUE), 2)],
         DUE + timedelta(days=1), 5),
        ([(received(due=DUE), 2), (received(due=DUE + timedelta(days=1)), 5)],
         DUE + timedelta(days=1), 5),
    ],
)  # fmt: skip
def test_the_due_date_is_the_newest_workflow_events(
    events: list[tuple[EventData, int]], due_at: datetime | None, due_sequence: int
) -> None:
    row = merged(*events)
    assert (row["due_at"], row["due_sequence"]) == (due_at, due_sequence)


def test_what_is_known_is_never_forgotten() -> None:
    # A second submission without files does not undo the digitisation; a name once known
    # is kept.
    row = merged((submitted("Nguyễn Văn An", 1), 1), (submitted("Trần Văn Bình", 0), 1))
    assert row["digitised"]
    assert row["applicant_name"] == "Nguyễn Văn An"
    row = {"received_at": RECEIVED, "judgement": None}
    set_once(row, {"received_at": None, "judgement": "late"})
    set_once(row, {"received_at": RECEIVED + timedelta(days=1), "judgement": "early"})
    assert row == {"received_at": RECEIVED, "judgement": "late"}


def test_a_pause_is_keyed_by_its_round_and_known_only_once_requested() -> None:
    requested = ev.DossierSupplementRequested(
        **WORKFLOW, status=ev.DossierStatus.SUPPLEMENT_REQUESTED, requested_at=DUE,
        items=[ev.SupplementItem(description="Thiếu giấy tờ")], round=2,
    )  # fmt: skip
    resumed = ev.DossierResumed(**WORKFLOW, status=ev.DossierStatus.IN_PROGRESS, round=2,
                                resumed_at=DUE + timedelta(days=1), paused_working_hours=8)  # fmt: skip
    row = blank()
    assert merge(row, requested, 3) == PauseChange(2, {"requested_at": DUE})
    assert merge(row, resumed, 4) == PauseChange(2, {"resumed_at": DUE + timedelta(days=1)})
    assert merge(row, received(), 1) is None
    rounds = [
        {"requested_at": None, "resumed_at": DUE},  # its request has not arrived yet
        {"requested_at": DUE, "resumed_at": None},
    ]
    assert facts_of(row, rounds).pauses == (Pause(DUE, None),)


@pytest.mark.parametrize(
    ("rating", "complaint", "poor"),
    [(2, False, True), (3, True, True), (3, False, False), (1, False, True), (5, False, False)],
)
def test_a_rating_of_two_stars_or_less_or_a_complaint_counts_as_poor(
    rating: int, complaint: bool, poor: bool
) -> None:
    at = datetime(2025, 3, 31, 23, 30, tzinfo=VIETNAM)  # 16:30 UTC: still the 31st here
    feedback = ev.FeedbackSubmitted(procedure_code="1.004194", agency_code="G01.306.000.000",
                                    rating=rating, complaint=complaint, submitted_at=at)  # fmt: skip
    counters = feedback_counters(feedback)
    day = at.date()
    assert counters == ({("rated", day): 1.0, ("rated_poor", day): 1.0} if poor
                        else {("rated", day): 1.0})  # fmt: skip


def test_a_desk_registration_counts_as_a_submission_and_its_receipt_as_direct() -> None:
    online = submitted("Hà Văn Tùng")
    assert isinstance(online, ev.DossierSubmitted)
    desk = ev.DossierRegistered(
        **online.model_dump(exclude={"update_code"}), update_code="K7M2P9QX", channel="post",
        registered_by=ev.Actor(kind="officer", id="o1", role="receiver"),
    )  # fmt: skip
    row = blank()
    merge(row, desk, 1)
    merge(row, received("direct"), 2)
    assert row["submitted_at"] == online.submitted_at
    assert row["applicant_name"] == "Hà Văn Tùng"
    assert row["digitised"] is True
    assert row["fee_vnd"] == 30000
    assert facts_of(row, []).online is False
