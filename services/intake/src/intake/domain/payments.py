"""Fees paid online: when a procedure's fee is paid, how the gateway's notification is
judged against the payment it names, the receipt's number, and the daily reconciliation.
Plain data only; the signature itself is checked by shared/payment_gateway.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.contracts.events import VIETNAM, FeeTiming

BEFORE_SUBMISSION: FeeTiming = "before_submission"
ON_RESULT: FeeTiming = "on_result"

PaymentStatus = Literal["pending", "paid", "failed", "refund_due"]
# A payment whose money the bank took (refunded or not).
SETTLED_PAID: frozenset[str] = frozenset({"paid", "refund_due"})


def fee_timing(online_level: str, fee_vnd: int) -> FeeTiming:
    """A fully online procedure with a fixed fee is paid online before submission; any
    other fee is paid at the desk when the result is collected."""
    return BEFORE_SUBMISSION if online_level == "full" and fee_vnd > 0 else ON_RESULT


def must_pay_first(timing: str, fee_vnd: int) -> bool:
    return timing == BEFORE_SUBMISSION and fee_vnd > 0


# --- the gateway's notification (IPN) ------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the merchant answers the gateway (`{"RspCode", "Message"}`)."""

    code: str
    message: str


CONFIRMED = Answer("00", "Confirm Success")
UNKNOWN_ORDER = Answer("01", "Order not found")
ALREADY_CONFIRMED = Answer("02", "Order already confirmed")
INVALID_AMOUNT = Answer("04", "Invalid amount")
INVALID_SIGNATURE = Answer("97", "Invalid signature")
MALFORMED = Answer("99", "Unknown error")


@dataclass(frozen=True)
class Notice:
    """A notification whose signature verified, its parameters read."""

    signature: str
    amount_x100: int
    approved: bool
    response_code: str
    transaction_no: str
    bank_code: str | None
    paid_at: datetime


@dataclass(frozen=True)
class Held:
    """The payment the notification names, as stored."""

    amount_vnd: int
    status: str
    settled_by: str | None


@dataclass(frozen=True)
class Verdict:
    answer: Answer
    # The status to settle the payment at; None changes nothing.
    settle: PaymentStatus | None = None


def judge(held: Held | None, notice: Notice) -> Verdict:
    """The answer to a verified notification, and what it settles.

    An order is settled once. The same notification again (a retry of the gateway's, a
    replay) answers success and changes nothing, so the gateway stops retrying; another
    notification for a settled order answers 02 and changes nothing either.
    """
    if held is None:
        return Verdict(UNKNOWN_ORDER)
    if notice.amount_x100 != held.amount_vnd * 100:
        return Verdict(INVALID_AMOUNT)
    if held.status != "pending":
        same = held.settled_by is not None and held.settled_by == notice.signature
        return Verdict(CONFIRMED if same else ALREADY_CONFIRMED)
    return Verdict(CONFIRMED, "paid" if notice.approved else "failed")


def receipt_number(paid_at: datetime, sequence: int) -> str:
    """`BL` + the Vietnam date of payment + a number never repeated: BL20261201-0000042."""
    return f"BL{paid_at.astimezone(VIETNAM):%Y%m%d}-{sequence:07d}"


# --- reconciliation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ours:
    order: str
    amount_vnd: int
    status: str


@dataclass(frozen=True)
class Theirs:
    order: str
    amount_x100: int
    approved: bool
    transaction_no: str


MismatchKind = Literal["missing_here", "missing_at_gateway", "amount_differs", "status_differs"]


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    order: str
    ours: str
    theirs: str

    def line(self) -> str:
        return f"{self.kind}\t{self.order}\tportal: {self.ours}\tgateway: {self.theirs}"


def reconcile(ours: list[Ours], theirs: list[Theirs]) -> list[Mismatch]:
    """The day's payments against the gateway's report of the day.

    `ours` holds the payments settled that day and those the report names. A payment
    never decided at the gateway (the citizen left the page) is in no report: only a paid
    one missing there is a mismatch.
    """
    held = {o.order: o for o in ours}
    found: list[Mismatch] = []
    for t in sorted(theirs, key=lambda t: t.order):
        gateway = f"{'approved' if t.approved else 'declined'} {t.amount_x100 // 100} VND"
        o = held.get(t.order)
        if o is None:
            found.append(Mismatch("missing_here", t.order, "-", gateway))
            continue
        portal = f"{o.status} {o.amount_vnd} VND"
        if t.amount_x100 != o.amount_vnd * 100:
            found.append(Mismatch("amount_differs", t.order, portal, gateway))
        elif t.approved != (o.status in SETTLED_PAID):
            found.append(Mismatch("status_differs", t.order, portal, gateway))
    reported = {t.order for t in theirs}
    for o in sorted(ours, key=lambda o: o.order):
        if o.order not in reported and o.status in SETTLED_PAID:
            found.append(
                Mismatch("missing_at_gateway", o.order, f"{o.status} {o.amount_vnd} VND", "-")
            )
    return found


@dataclass(frozen=True)
class Refund:
    """A payment flagged `refund_due`: money the bank took that the portal owes back."""

    order: str
    amount_vnd: int
    receipt_no: str | None
    dossier_code: str | None

    def line(self) -> str:
        return (
            f"refund_due\t{self.order}\t{self.amount_vnd} VND\treceipt: {self.receipt_no or '-'}"
            f"\tdossier: {self.dossier_code or '-'}"
        )
