"""Fees paid online: when a fee is paid, how a verified notification is judged, the
receipt's number, and what the daily reconciliation calls a mismatch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intake.domain import payments as rules
from intake.domain.payments import Held, Notice, Ours, Theirs

PAID_AT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("online_level", "fee_vnd", "timing"),
    [
        ("full", 7000, "before_submission"),
        ("full", 0, "on_result"),
        ("partial", 30000, "on_result"),
        ("partial", 0, "on_result"),
    ],
)
def test_only_a_fully_online_procedure_with_a_fee_is_paid_before_submission(
    online_level: str, fee_vnd: int, timing: str
) -> None:
    assert rules.fee_timing(online_level, fee_vnd) == timing


def notice(*, amount_x100: int = 700000, approved: bool = True, signature: str = "s1") -> Notice:
    return Notice(
        signature=signature, amount_x100=amount_x100, approved=approved,
        response_code="00" if approved else "24", transaction_no="14000001",
        bank_code="NCB", paid_at=PAID_AT,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("held", "given", "answer", "settle"),
    [
        (None, notice(), rules.UNKNOWN_ORDER, None),
        (Held(7000, "pending", None), notice(amount_x100=70000), rules.INVALID_AMOUNT, None),
        (Held(7000, "pending", None), notice(amount_x100=700001), rules.INVALID_AMOUNT, None),
        (Held(7000, "pending", None), notice(), rules.CONFIRMED, "paid"),
        (Held(7000, "pending", None), notice(approved=False), rules.CONFIRMED, "failed"),
        # The same notification again: success, nothing changes.
        (Held(7000, "paid", "s1"), notice(), rules.CONFIRMED, None),
        (Held(7000, "failed", "s1"), notice(approved=False), rules.CONFIRMED, None),
        (Held(7000, "refund_due", "s1"), notice(), rules.CONFIRMED, None),
        # Another notification for a settled order changes nothing either.
        (Held(7000, "paid", "s1"), notice(signature="s2"), rules.ALREADY_CONFIRMED, None),
        (Held(7000, "failed", "s1"), notice(signature="s2"), rules.ALREADY_CONFIRMED, None),
        # A wrong amount is refused before anything else about a settled order.
        (Held(7000, "paid", "s1"), notice(amount_x100=1), rules.INVALID_AMOUNT, None),
    ],
)  # fmt: skip
def test_a_verified_notification_is_judged_against_its_payment(
    held: Held | None, given: Notice, answer: rules.Answer, settle: str | None
) -> None:
    assert rules.judge(held, given) == rules.Verdict(answer, settle)  # type: ignore[arg-type]


def test_the_receipt_number_carries_the_vietnam_date() -> None:
    late = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 01:00 on the 2nd in Vietnam
    assert rules.receipt_number(late, 42) == "BL20261202-0000042"


@pytest.mark.parametrize(
    ("ours", "theirs", "kinds"),
    [
        ([Ours("a", 7000, "paid")], [Theirs("a", 700000, True, "1")], []),
        ([Ours("a", 7000, "failed")], [Theirs("a", 700000, False, "1")], []),
        ([Ours("a", 7000, "refund_due")], [Theirs("a", 700000, True, "1")], []),
        # Never decided at the gateway: in no report, and no mismatch.
        ([Ours("a", 7000, "pending")], [], []),
        ([], [Theirs("a", 700000, True, "1")], ["missing_here"]),
        ([Ours("a", 7000, "paid")], [], ["missing_at_gateway"]),
        ([Ours("a", 7000, "paid")], [Theirs("a", 800000, True, "1")], ["amount_differs"]),
        ([Ours("a", 7000, "pending")], [Theirs("a", 700000, True, "1")], ["status_differs"]),
        ([Ours("a", 7000, "paid")], [Theirs("a", 700000, False, "1")], ["status_differs"]),
        (
            [Ours("b", 7000, "paid"), Ours("c", 7000, "paid")],
            [Theirs("a", 700000, True, "1"), Theirs("c", 700000, True, "2")],
            ["missing_here", "missing_at_gateway"],
        ),
    ],
)  # fmt: skip
def test_reconciliation_names_each_mismatch(
    ours: list[Ours], theirs: list[Theirs], kinds: list[str]
) -> None:
    assert [m.kind for m in rules.reconcile(ours, theirs)] == kinds
