"""What an officer's action needs beyond the state machine (`lifecycle`): their own work,
a result before it goes to the leader, the originals compared before it is handed over,
the rules of the one apology letter, and a stop only after the supplement deadline."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from shared.contracts.events import VIETNAM
from shared.errors import Conflict, Forbidden, Invalid, invalid_field
from workflow.domain.deadlines import DeadlineEngine, end_of_day
from workflow.domain.text import moment


def own_work(officer_id: uuid.UUID, assignee_id: uuid.UUID | None) -> None:
    """A processor works on the dossiers given to them, or on those given to nobody."""
    if assignee_id is not None and assignee_id != officer_id:
        raise Forbidden("Hồ sơ này được giao cho cán bộ khác.")


def result_recorded(result_summary: str | None) -> None:
    """Nothing goes to the leader for signature before a result is recorded."""
    if not result_summary:
        raise Conflict("Chưa có kết quả xử lý: hãy cập nhật kết quả trước khi trình ký.")


def originals_checked(verified: bool) -> None:
    """The result is handed over only once the paper originals match the online dossier."""
    if not verified:
        raise Invalid(
            "Chỉ trả kết quả sau khi đã đối chiếu bản chính; nếu không khớp, hãy từ chối hồ sơ.",
            errors=[{"field": "originals_verified", "message": "Phải xác nhận đã đối chiếu."}],
        )


def new_appointment(
    engine: DeadlineEngine,
    *,
    due_at: datetime | None,
    extended_at: datetime | None,
    now: datetime,
    new_due_date: date,
) -> datetime:
    """The new due moment an apology letter sets: once per dossier, at least one working
    day before the due date, on a later working day, at that day's end of office hours."""
    if extended_at is not None:
        raise Conflict("Hồ sơ đã được xin lỗi và hẹn lại một lần; không gia hạn lần nữa.")
    if due_at is None or not engine.can_extend(due_at, now):
        raise Conflict("Chỉ được hẹn lại trước ngày hẹn trả ít nhất một ngày làm việc.")
    if new_due_date <= due_at.astimezone(VIETNAM).date():
        raise invalid_field("new_due_date", "Ngày hẹn mới phải sau ngày hẹn cũ.")
    if not engine.calendar.is_working_day(new_due_date):
        raise invalid_field("new_due_date", "Ngày hẹn mới phải là ngày làm việc.")
    return end_of_day(engine, new_due_date)


def supplement_lapsed(supplement_due_at: datetime | None, now: datetime) -> bool:
    """Whether the citizen's deadline to supplement has passed (a request with no deadline
    recorded never lapses; the deadline's own moment is still in time)."""
    return supplement_due_at is not None and now > supplement_due_at


def supplement_deadline_passed(supplement_due_at: datetime | None, now: datetime) -> None:
    """A dossier waiting for a supplement is stopped only once the citizen's deadline has
    passed."""
    if not supplement_lapsed(supplement_due_at, now):
        raise Conflict("Chưa hết thời hạn bổ sung hồ sơ của công dân: chưa thể dừng giải quyết.")


def stop_reason(supplement_due_at: datetime) -> str:
    """The reason the desk finds prefilled when it stops a dossier (it may write its own)."""
    return (
        f"Quá thời hạn bổ sung, hoàn thiện hồ sơ ({moment(supplement_due_at)}) mà công dân "
        "chưa bổ sung: dừng giải quyết hồ sơ."
    )


def fee_matches(paid_vnd: int, fee_vnd: int) -> None:
    """The desk records the procedure's fee as it is, not a part of it nor more."""
    if paid_vnd != fee_vnd:
        raise invalid_field(
            "amount_vnd",
            f"Số tiền phải đúng mức phí, lệ phí của thủ tục: {fee_vnd:,} đồng.".replace(",", "."),
        )
