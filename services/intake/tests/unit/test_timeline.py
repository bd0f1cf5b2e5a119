"""The timeline entries the citizen reads for workflow's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake.services.projection import timeline_note
from shared.contracts import Envelope
from shared.contracts import events as ev

NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)
DOSSIER = {
    "procedure_code": "1.004194", "procedure_name": "Đăng ký tạm trú", "field": "residence",
    "agency_code": "G01.306.000.000", "agency_name": "Công an tỉnh Bắc Kạn",
    "status": ev.DossierStatus.IN_PROGRESS, "actor": ev.Actor(kind="citizen"),
}  # fmt: skip


def note(data: ev.WorkflowDossierEvent) -> str:
    envelope = Envelope.wrap(data, source="workflow", dossier_code="G01.306-261201-0001")
    return timeline_note(envelope, data)


def resumed(previous: datetime | None, due: datetime) -> ev.DossierResumed:
    return ev.DossierResumed(**DOSSIER, round=1, resumed_at=NOW, paused_working_hours=4,
                             previous_due_at=previous, due_at=due)  # fmt: skip


def test_a_supplement_that_moved_the_appointment_tells_the_new_date_in_vietnam_time() -> None:
    moved = note(resumed(NOW + timedelta(days=3), NOW + timedelta(days=4, hours=8)))
    # 02:00 UTC + 4 days + 8 h = 10:00 UTC on 5 Dec = 17:00 in Vietnam.
    assert moved.endswith("Ngày hẹn trả kết quả mới: 17:00 ngày 05/12/2026.")


def test_a_supplement_that_did_not_move_the_appointment_says_only_that_it_resumed() -> None:
    due = NOW + timedelta(days=3)
    assert note(resumed(due, due)) == "Hồ sơ đã bổ sung được tiếp tục giải quyết."
    assert note(resumed(None, due)) == "Hồ sơ đã bổ sung được tiếp tục giải quyết."


def test_a_rejection_gives_its_reason() -> None:
    rejected = ev.DossierRejected(**DOSSIER, reason="Ngoài địa bàn", rejected_at=NOW,
                                  stage="intake")  # fmt: skip
    assert note(rejected) == "Hồ sơ bị từ chối. Lý do: Ngoài địa bàn"


def test_a_dossier_awaiting_its_fee_tells_the_amount_to_bring_to_the_desk() -> None:
    waiting = ev.DossierAwaitingFee(**{**DOSSIER, "status": ev.DossierStatus.AWAITING_FEE},
                                    amount_vnd=1_200_000, awaiting_since=NOW)  # fmt: skip
    assert note(waiting) == (
        "Hồ sơ đã được phê duyệt, chờ nộp phí, lệ phí. "
        "Mời nộp 1.200.000 đồng tại Bộ phận Một cửa khi nhận kết quả."
    )
