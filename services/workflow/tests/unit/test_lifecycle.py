"""The state machine's verdicts: which role may take which action, and which status each
action moves a dossier from and to, against a table written here from API.md and
ARCHITECTURE.md ("Dossier lifecycle")."""

from __future__ import annotations

import pytest

from shared.contracts.events import DossierStatus as S
from shared.errors import Conflict, Forbidden
from workflow.domain.lifecycle import Action, Role, allowed, fee_due, next_status

OPEN = {S.SUBMITTED, S.RECEIVED, S.SUPPLEMENT_REQUESTED, S.IN_PROGRESS, S.PENDING_APPROVAL}
RUNNING = {S.RECEIVED, S.IN_PROGRESS, S.PENDING_APPROVAL}
# action: (roles that may take it, statuses it is taken from, status it leads to; None: stays)
MODEL: dict[Action, tuple[set[str], set[S], S | None]] = {
    Action.RECEIVE: ({"receiver"}, {S.SUBMITTED}, S.RECEIVED),
    Action.REQUEST_SUPPLEMENT: (
        {"receiver", "processor"}, {S.SUBMITTED, S.RECEIVED, S.IN_PROGRESS},
        S.SUPPLEMENT_REQUESTED,
    ),
    Action.REJECT: ({"receiver", "approver"}, OPEN, S.REJECTED),
    Action.ASSIGN: ({"receiver", "approver"}, {S.RECEIVED, S.IN_PROGRESS}, S.IN_PROGRESS),
    Action.RECORD_RESULT: ({"processor"}, {S.IN_PROGRESS}, None),
    Action.SUBMIT_FOR_APPROVAL: ({"processor"}, {S.IN_PROGRESS}, S.PENDING_APPROVAL),
    Action.SEND_BACK: ({"approver"}, {S.PENDING_APPROVAL}, S.IN_PROGRESS),
    Action.APPROVE: ({"approver"}, {S.PENDING_APPROVAL}, S.RESULT_READY),
    Action.RETURN_RESULT: ({"receiver"}, {S.RESULT_READY}, S.RETURNED),
    Action.EXTEND_DEADLINE: ({"approver"}, RUNNING | {S.SUPPLEMENT_REQUESTED}, None),
    Action.WITHDRAW: (set(), OPEN | {S.AWAITING_FEE, S.RESULT_READY}, S.WITHDRAWN),
    # The fee paid at the desk: the result waiting for it is ready to hand over.
    Action.RECORD_FEE: ({"receiver"}, {S.AWAITING_FEE}, S.RESULT_READY),
    # The citizen's supplement deadline passed: the desk stops the processing.
    Action.STOP: ({"receiver"}, {S.SUPPLEMENT_REQUESTED}, S.STOPPED),
}  # fmt: skip
EVERY_ROLE_AND_ACTION = [(role, action) for action in Action for role in Role]
# A case begins at submission: drafts stay in intake.
CASE_STATUSES = [s for s in S if s is not S.DRAFT]


@pytest.mark.parametrize(
    ("role", "action", "may"),
    [
        # Hard cases first: an administrator administers and processes nothing; nobody
        # takes the citizen's actions; the leader is no desk and hands nothing over.
        (Role.ADMIN, Action.REJECT, False),
        (Role.ADMIN, Action.EXTEND_DEADLINE, False),
        (Role.RECEIVER, Action.SUPPLEMENT, False),
        (Role.APPROVER, Action.WITHDRAW, False),
        (Role.APPROVER, Action.RETURN_RESULT, False),
        (Role.PROCESSOR, Action.EXTEND_DEADLINE, False),
        (Role.PROCESSOR, Action.REQUEST_SUPPLEMENT, True),
        (Role.APPROVER, Action.ASSIGN, True),
        # Stopping is the desk's, as receiving is: neither the processor nor the leader.
        (Role.PROCESSOR, Action.STOP, False),
        (Role.APPROVER, Action.STOP, False),
        (Role.RECEIVER, Action.STOP, True),
        # The fee is taken at the desk: not by the leader who approved, nor the processor.
        (Role.APPROVER, Action.RECORD_FEE, False),
        (Role.PROCESSOR, Action.RECORD_FEE, False),
        (Role.ADMIN, Action.RECORD_FEE, False),
        (Role.RECEIVER, Action.RECORD_FEE, True),
    ],
)
def test_the_hard_cases_of_who_may_act(role: Role, action: Action, may: bool) -> None:
    if may:
        allowed(role, action)
    else:
        with pytest.raises(Forbidden):
            allowed(role, action)


@pytest.mark.parametrize(("role", "action"), EVERY_ROLE_AND_ACTION)
def test_each_role_may_take_exactly_its_actions(role: Role, action: Action) -> None:
    roles = MODEL[action][0] if action in MODEL else set()
    if role in roles:
        allowed(role, action)
    else:
        with pytest.raises(Forbidden, match="Vai trò của bạn không được thực hiện"):
            allowed(role, action)


def test_a_supplement_resumes_where_the_dossier_was_asked_for_it() -> None:
    for before in (S.SUBMITTED, S.RECEIVED, S.IN_PROGRESS):
        assert next_status(Action.SUPPLEMENT, S.SUPPLEMENT_REQUESTED, before) is before
    with pytest.raises(Conflict):
        next_status(Action.SUPPLEMENT, S.IN_PROGRESS, S.IN_PROGRESS)


def test_a_refusal_names_the_status_and_the_action() -> None:
    with pytest.raises(Conflict) as refused:
        next_status(Action.APPROVE, S.SUBMITTED)
    assert "“Mới nộp”" in refused.value.detail
    assert refused.value.extensions == {"current_status": "submitted", "action": "approve"}


@pytest.mark.parametrize(
    ("action", "current"), [(a, s) for a in MODEL for s in CASE_STATUSES], ids=str
)
def test_each_action_moves_exactly_the_statuses_it_applies_to(action: Action, current: S) -> None:
    _, sources, target = MODEL[action]
    if current in sources:
        assert next_status(action, current) is (target or current)
    else:
        with pytest.raises(Conflict):
            next_status(action, current)


@pytest.mark.parametrize(
    ("fee_vnd", "timing", "paid", "waits"),
    [
        (0, "on_result", False, False),  # no fee: nothing to wait for
        # Paid online before submission: never waits, even before the payment is heard of.
        (30_000, "before_submission", True, False),
        (30_000, "before_submission", False, False),
        # Paid at the desk with the result: waits until the receiver records it.
        (30_000, "on_result", False, True),
        (30_000, "on_result", True, False),
        (1, "on_result", False, True),
    ],
)
def test_an_approval_waits_for_a_fee_still_owed_at_the_desk(
    fee_vnd: int, timing: str, paid: bool, waits: bool
) -> None:
    assert fee_due(fee_vnd, timing, paid) is waits
    owed = fee_due(fee_vnd, timing, paid)
    after = next_status(Action.APPROVE, S.PENDING_APPROVAL, fee_owed=owed)
    assert after is (S.AWAITING_FEE if waits else S.RESULT_READY)


@pytest.mark.parametrize("current", [s for s in CASE_STATUSES if s is not S.PENDING_APPROVAL])
def test_a_fee_owed_opens_no_other_way_to_awaiting_fee(current: S) -> None:
    """Only the approval leads to the wait for the fee; a fee owed changes no refusal."""
    for action in MODEL:
        try:
            after = next_status(action, current, fee_owed=True)
        except Conflict:
            continue
        assert after is not S.AWAITING_FEE or current is S.AWAITING_FEE, (action, current)
