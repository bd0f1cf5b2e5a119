"""The dossier's state machine (ARCHITECTURE.md, "Dossier lifecycle"): which action may
be taken from which status, by which role, and where it leads.

Officers act through the API; the citizen acts through intake's events (supplement,
withdraw); timers only announce and never change a status.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum

from shared.contracts.events import CLOCK_RUNNING as CLOCK_RUNNING
from shared.contracts.events import DossierStatus as S
from shared.contracts.events import Judgement
from shared.errors import Conflict, Forbidden


class Role(StrEnum):
    RECEIVER = "receiver"
    PROCESSOR = "processor"
    APPROVER = "approver"
    ADMIN = "admin"


class Action(StrEnum):
    RECEIVE = "receive"
    REQUEST_SUPPLEMENT = "request-supplement"
    REJECT = "reject"
    ASSIGN = "assign"
    RECORD_RESULT = "result"
    SUBMIT_FOR_APPROVAL = "submit-for-approval"
    SEND_BACK = "send-back"
    APPROVE = "approve"
    RETURN_RESULT = "return-result"
    EXTEND_DEADLINE = "extend-deadline"
    STOP = "stop"
    # The receiver records the fee paid at the desk: the result is then handed over.
    RECORD_FEE = "fee"
    # The citizen's, arriving as intake's events.
    SUPPLEMENT = "supplement"
    WITHDRAW = "withdraw"


class Recorded(StrEnum):
    """What the audit trail holds besides the actions: the submission or the desk's
    registration that opens a case, and a fee paid, which changes no status."""

    SUBMIT = "submit"
    # A paper dossier a receiver registered at the desk (in person or by post).
    REGISTER = "register"
    PAYMENT = "payment"


@dataclass(frozen=True)
class Rule:
    sources: frozenset[S]
    roles: frozenset[Role]
    # None: the status stays what it was (recording a result, extending the deadline).
    target: S | None


def _rule(sources: AbstractSet[S], roles: AbstractSet[Role], target: S | None) -> Rule:
    return Rule(frozenset(sources), frozenset(roles), target)


# As officers and citizens read them, on forms and in refusals.
STATUS_NAMES = {
    S.SUBMITTED: "Mới nộp",
    S.RECEIVED: "Đã tiếp nhận",
    S.SUPPLEMENT_REQUESTED: "Chờ bổ sung",
    S.IN_PROGRESS: "Đang xử lý",
    S.PENDING_APPROVAL: "Chờ phê duyệt",
    S.RESULT_READY: "Có kết quả",
    S.RETURNED: "Đã trả kết quả",
    S.REJECTED: "Từ chối",
    S.WITHDRAWN: "Đã rút",
    S.STOPPED: "Dừng xử lý",
    S.AWAITING_FEE: "Chờ nộp phí, lệ phí",
}

OPEN = {S.SUBMITTED, S.RECEIVED, S.SUPPLEMENT_REQUESTED, S.IN_PROGRESS, S.PENDING_APPROVAL}
FINAL = {S.RETURNED, S.REJECTED, S.WITHDRAWN, S.STOPPED}

R, P, A = Role.RECEIVER, Role.PROCESSOR, Role.APPROVER

RULES: dict[Action, Rule] = {
    Action.RECEIVE: _rule({S.SUBMITTED}, {R}, S.RECEIVED),
    # Before receipt (the desk finds the dossier incomplete) or while processing.
    Action.REQUEST_SUPPLEMENT: _rule(
        {S.SUBMITTED, S.RECEIVED, S.IN_PROGRESS}, {R, P}, S.SUPPLEMENT_REQUESTED
    ),
    Action.REJECT: _rule(OPEN, {R, A}, S.REJECTED),
    Action.ASSIGN: _rule({S.RECEIVED, S.IN_PROGRESS}, {R, A}, S.IN_PROGRESS),
    Action.RECORD_RESULT: _rule({S.IN_PROGRESS}, {P}, None),
    Action.SUBMIT_FOR_APPROVAL: _rule({S.IN_PROGRESS}, {P}, S.PENDING_APPROVAL),
    Action.SEND_BACK: _rule({S.PENDING_APPROVAL}, {A}, S.IN_PROGRESS),
    # To AWAITING_FEE instead when a fee is still owed (`fee_due`, passed by the caller).
    Action.APPROVE: _rule({S.PENDING_APPROVAL}, {A}, S.RESULT_READY),
    Action.RECORD_FEE: _rule({S.AWAITING_FEE}, {R}, S.RESULT_READY),
    Action.RETURN_RESULT: _rule({S.RESULT_READY}, {R}, S.RETURNED),
    Action.EXTEND_DEADLINE: _rule(CLOCK_RUNNING | {S.SUPPLEMENT_REQUESTED}, {A}, None),
    # The citizen let the supplement deadline pass (checked by `preconditions`): the desk
    # that asked for the supplement stops the processing.
    Action.STOP: _rule({S.SUPPLEMENT_REQUESTED}, {R}, S.STOPPED),
    # Back to where the dossier was when the supplement was requested (set by the caller).
    Action.SUPPLEMENT: _rule({S.SUPPLEMENT_REQUESTED}, set(), None),
    # Intake allows it only before a result; by the time the event arrives the result may
    # be ready, and the citizen's withdrawal still stands.
    Action.WITHDRAW: _rule(OPEN | {S.AWAITING_FEE, S.RESULT_READY}, set(), S.WITHDRAWN),
}


def allowed(roles: str | Iterable[str], action: Action) -> None:
    """Forbidden unless an officer holding `roles` (one or several) may ever take `action`
    (admins administer, not process)."""
    held = {roles} if isinstance(roles, str) else set(roles)
    if not held & RULES[action].roles:
        raise Forbidden("Vai trò của bạn không được thực hiện thao tác này.")


def fee_due(fee_vnd: int, timing: str, paid: bool) -> bool:
    """Whether an approved dossier waits for its fee before the result is handed over: a
    fee paid at the desk with the result (`on_result`) and not recorded yet. A fee paid
    online before submission (`before_submission`) was paid before intake let the
    dossier be submitted: such a dossier never waits, whether or not the payment's event
    has reached workflow yet."""
    return fee_vnd > 0 and timing == "on_result" and not paid


def next_status(
    action: Action, current: S, resume_to: S | None = None, *, fee_owed: bool = False
) -> S:
    """The status after `action`, or Conflict when the state machine says no. A
    supplement resumes at `resume_to`; an approval with a fee owed (`fee_due`) waits for
    it."""
    rule = RULES[action]
    if current not in rule.sources:
        raise Conflict(
            f"Không thể thực hiện thao tác này khi hồ sơ đang ở trạng thái "
            f"“{STATUS_NAMES[current]}”.",
            current_status=current.value,
            action=action.value,
        )
    if action is Action.SUPPLEMENT:
        assert resume_to is not None
        return resume_to
    if action is Action.APPROVE and fee_owed:
        return S.AWAITING_FEE
    return rule.target if rule.target is not None else current


def judge(resolved_at: datetime, due_at: datetime, zone: tzinfo) -> Judgement:
    """Early: resolved on a day before the due date; on time: by the due moment; late: after.

    "Early" counts in days, as the official report does: a result an hour before the
    appointment on the appointment day is on time, not early.
    """
    if resolved_at > due_at:
        return Judgement.LATE
    if resolved_at.astimezone(zone).date() < due_at.astimezone(zone).date():
        return Judgement.EARLY
    return Judgement.ON_TIME
