"""Fees paid online before submission (docs/PAYMENTS.md): an attempt to pay a draft's
fee, the gateway's notification that settles it, the receipt, the refund flag of a
dossier ended unhandled after payment, and the daily reconciliation with the gateway."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters import receipt as receipt_pdf
from intake.adapters.gateway import PaymentGateway
from intake.domain import payments as rules
from intake.domain import statuses
from intake.services.context import Context
from intake.services.limits import HOUR, hit
from intake.services.records import (
    agency_row,
    facts,
    iso,
    owned,
    procedure_row,
    require_status,
)
from shared import payment_gateway as protocol
from shared.contracts import events
from shared.contracts.events import VIETNAM, DossierStatus
from shared.db import Database
from shared.db.sql import Runner, Sql
from shared.errors import Conflict, NotFound

log = logging.getLogger(__name__)

_NEW = Sql(
    "INSERT INTO payments (id, dossier_id, amount_vnd, catalogue_version) VALUES ($1, $2, $3, $4)"
)
# The one paid (a second attempt the bank approved too is refund_due from the start).
_PAID_FOR = Sql(
    "SELECT * FROM payments WHERE dossier_id = $1 AND status IN ('paid', 'refund_due')"
    " ORDER BY status = 'paid' DESC, paid_at LIMIT 1"
)
_PAID = Sql("SELECT 1 FROM payments WHERE dossier_id = $1 AND status = 'paid'")
# Settlements of one draft's attempts wait for each other here: only one is paid.
_LOCK_DOSSIER = Sql("SELECT 1 FROM dossiers WHERE id = $1 FOR UPDATE")
# The dossier's payment as the citizen sees it: the paid one, else the latest attempt.
_LATEST = Sql(
    "SELECT * FROM payments WHERE dossier_id = $1"
    " ORDER BY status IN ('paid', 'refund_due') DESC, created_at DESC LIMIT 1"
)
_FOR_NOTICE = Sql("SELECT * FROM payments WHERE id = $1 FOR UPDATE")
# Settled only while pending: the row lock orders concurrent notifications, and the
# condition makes a second settlement impossible whatever the caller checked.
_SETTLE = Sql(
    "UPDATE payments SET status = $2, response_code = $3, transaction_no = $4,"
    " bank_code = $5, settled_by = $6, paid_at = $7, receipt_no = $8, updated_at = now()"
    " WHERE id = $1 AND status = 'pending' RETURNING id"
)
_RECEIPT_NUMBER = Sql("SELECT nextval('receipt_numbers')")
_REFUND_DUE = Sql(
    "UPDATE payments SET status = 'refund_due', updated_at = now()"
    " WHERE dossier_id = $1 AND status = 'paid'"
)
_OF_DAY = Sql(
    "SELECT id, amount_vnd, status FROM payments"
    " WHERE (status IN ('paid', 'refund_due') AND paid_at >= $1 AND paid_at < $2)"
    " OR id = ANY($3::uuid[])"
)
# Flagged during the day (updated_at: a refund_due row is never updated again), whenever
# it was paid: the refunds the day adds to the accountant's list.
_REFUNDS_OF_DAY = Sql(
    "SELECT p.id, p.amount_vnd, p.receipt_no, d.code FROM payments p"
    " JOIN dossiers d ON d.id = p.dossier_id"
    " WHERE p.status = 'refund_due' AND p.updated_at >= $1 AND p.updated_at < $2"
    " ORDER BY p.updated_at, p.id"
)

NOT_PAID = "Hồ sơ chưa nộp lệ phí. Vui lòng nộp lệ phí trực tuyến trước khi nộp hồ sơ."


def _order_info(procedure_code: str) -> str:
    # The gateway shows it to the bank: no personal data, no diacritics (its rule).
    return f"Le phi ho so thu tuc {procedure_code}"


async def start(
    ctx: Context, owner_id: uuid.UUID, dossier_id: uuid.UUID, client_ip: str
) -> dict[str, Any]:
    """A new attempt to pay a draft's fee: its amount from the catalogue in force, and the
    signed link to the gateway."""
    await hit(ctx, f"payment:{owner_id}", ctx.settings.limit_payment_per_account_hour, HOUR)
    async with ctx.db.transaction() as session:
        dossier = await owned(session, owner_id, dossier_id=dossier_id, lock=True)
        require_status(dossier, statuses.DRAFT, "Hồ sơ đã được nộp.")
        procedure = await procedure_row(ctx, dossier["procedure_code"])
        if not rules.must_pay_first(procedure["fee_timing"], procedure["fee_vnd"]):
            raise Conflict(
                "Thủ tục này không thu lệ phí trực tuyến trước khi nộp hồ sơ"
                " (nếu có, lệ phí được nộp khi nhận kết quả)."
            )
        if await _PAID_FOR.fetchrow(session, dossier_id) is not None:
            raise Conflict("Hồ sơ đã nộp lệ phí.")
        payment_id = uuid.uuid4()
        amount = int(procedure["fee_vnd"])
        await _NEW.execute(session, payment_id, dossier_id, amount, procedure["catalogue_version"])
    url = ctx.gateway.payment_url(
        str(payment_id), amount, _order_info(procedure["code"]), client_ip, datetime.now(UTC)
    )
    return {"payment_id": str(payment_id), "amount_vnd": amount, "redirect_url": url}


async def status_of(ctx: Context, owner_id: uuid.UUID, dossier_id: uuid.UUID) -> dict[str, Any]:
    """The dossier's payment: the paid one, else the latest attempt."""
    async with ctx.db.statement() as connection:
        await owned(connection, owner_id, dossier_id=dossier_id)
        payment = await summary(connection, dossier_id)
    if payment is None:
        raise NotFound("Hồ sơ chưa có giao dịch nộp lệ phí.")
    return payment


async def summary(runner: Runner, dossier_id: uuid.UUID) -> dict[str, Any] | None:
    """The dossier's payment as its owner sees it (the paid one, else the latest attempt),
    or None if no payment was started."""
    payment = await _LATEST.fetchrow(runner, dossier_id)
    if payment is None:
        return None
    return {
        "payment_id": str(payment["id"]),
        "status": payment["status"],
        "amount_vnd": payment["amount_vnd"],
        "receipt_no": payment["receipt_no"],
        "paid_at": iso(payment["paid_at"]),
    }


async def paid_for(session: Runner, dossier_id: uuid.UUID) -> Any:
    """The dossier's paid payment, or None."""
    return await _PAID_FOR.fetchrow(session, dossier_id)


def completed(procedure: Any, agency: Any, payment: Any) -> events.PaymentCompleted:
    """`payment.completed` of a paid draft, emitted with its submission: only then has
    the dossier the code every consumer knows it by."""
    return events.PaymentCompleted(
        **facts(procedure, agency, DossierStatus.SUBMITTED),
        amount_vnd=payment["amount_vnd"],
        method="online",
        reference=payment["receipt_no"],
        paid_at=payment["paid_at"],
    )


def _answer(answer: rules.Answer) -> dict[str, str]:
    return {"RspCode": answer.code, "Message": answer.message}


def _notice(params: dict[str, str]) -> tuple[uuid.UUID, rules.Notice] | None:
    """The notification's order and facts, or None when a field cannot be read."""
    try:
        return uuid.UUID(params["vnp_TxnRef"]), rules.Notice(
            signature=params[protocol.HASH].lower(),
            amount_x100=int(params["vnp_Amount"]),
            approved=params["vnp_ResponseCode"] == protocol.APPROVED
            and params.get("vnp_TransactionStatus", protocol.APPROVED) == protocol.APPROVED,
            response_code=params["vnp_ResponseCode"],
            transaction_no=params["vnp_TransactionNo"],
            bank_code=params.get("vnp_BankCode"),
            paid_at=protocol.parse_gateway_time(params["vnp_PayDate"]),
        )
    except (KeyError, ValueError):
        return None


async def notified(ctx: Context, params: dict[str, str]) -> dict[str, str]:
    """The gateway's server-to-server notification: settles the order it names once, and
    only when its signature verifies and its amount matches (docs/PAYMENTS.md)."""
    if not ctx.gateway.verifies(params):
        log.warning("payment notification refused: invalid signature")
        return _answer(rules.INVALID_SIGNATURE)
    read = _notice(params)
    if read is None:
        return _answer(rules.MALFORMED)
    order, notice = read
    async with ctx.db.transaction() as session:
        row = await _FOR_NOTICE.fetchrow(session, order)
        held = rules.Held(row["amount_vnd"], row["status"], row["settled_by"]) if row else None
        verdict = rules.judge(held, notice)
        if verdict.settle is not None and row is not None:
            await _settle(session, order, row["dossier_id"], verdict.settle, notice)
    if verdict.answer != rules.CONFIRMED or verdict.settle is not None:
        log.info(
            "payment notification",
            extra={"order": str(order), "answer": verdict.answer.code, "settled": verdict.settle},
        )
    return _answer(verdict.answer)


async def _settle(
    session: AsyncSession,
    order: uuid.UUID,
    dossier_id: uuid.UUID,
    status: rules.PaymentStatus,
    notice: rules.Notice,
) -> None:
    receipt_no = None
    paid_at = None
    if status == "paid":
        paid_at = notice.paid_at
        await _LOCK_DOSSIER.execute(session, dossier_id)
        # Another attempt of the same draft already paid: the bank took the money twice.
        if await _PAID.fetchval(session, dossier_id) is not None:
            status = "refund_due"
        receipt_no = rules.receipt_number(paid_at, int(await _RECEIPT_NUMBER.fetchval(session)))
    await _SETTLE.execute(
        session, order, status, notice.response_code, notice.transaction_no,
        notice.bank_code, notice.signature, paid_at, receipt_no,
    )  # fmt: skip


async def refund_if_paid(session: AsyncSession, dossier_id: uuid.UUID) -> None:
    """A dossier that will never be handled (rejected, stopped, withdrawn) after its fee
    was paid: the payment is flagged for refund."""
    await _REFUND_DUE.execute(session, dossier_id)


async def receipt(ctx: Context, owner_id: uuid.UUID, code: str) -> bytes:
    """The fee receipt of the caller's dossier, as PDF."""
    async with ctx.db.statement() as connection:
        dossier = await owned(connection, owner_id, code=code)
        payment = await _PAID_FOR.fetchrow(connection, dossier["id"])
    if payment is None:
        raise NotFound("Hồ sơ chưa có biên lai lệ phí.")
    procedure = await procedure_row(ctx, dossier["procedure_code"])
    agency = await agency_row(ctx, dossier["agency_code"])
    return receipt_pdf.render(
        receipt_pdf.Receipt(
            receipt_no=payment["receipt_no"],
            paid_at=payment["paid_at"],
            amount_vnd=payment["amount_vnd"],
            dossier_code=code,
            procedure_name=procedure["name"],
            agency_name=agency["name"],
            payer_name=dossier["applicant"].get("full_name") or "",
            transaction_no=payment["transaction_no"] or "",
        )
    )


async def reconcile(db: Database, gateway: PaymentGateway, day: date) -> list[rules.Mismatch]:
    """The payments of `day` (Vietnam time) against the gateway's report of that day."""
    report = await gateway.daily_report(day)
    theirs = [
        rules.Theirs(
            order=item["vnp_TxnRef"],
            amount_x100=int(item["vnp_Amount"]),
            approved=item.get("vnp_ResponseCode") == protocol.APPROVED
            and item.get("vnp_TransactionStatus") == protocol.APPROVED,
            transaction_no=item.get("vnp_TransactionNo", ""),
        )
        for item in report
    ]
    start = datetime(day.year, day.month, day.day, tzinfo=VIETNAM)
    named = []
    for t in theirs:
        try:
            named.append(uuid.UUID(t.order))
        except ValueError:
            continue
    async with db.statement() as connection:
        rows = await _OF_DAY.fetch(connection, start, start + timedelta(days=1), named)
    ours = [rules.Ours(str(r["id"]), r["amount_vnd"], r["status"]) for r in rows]
    return rules.reconcile(ours, theirs)


async def refunds_due(db: Database, day: date) -> list[rules.Refund]:
    """The payments flagged for refund during `day` (Vietnam time)."""
    start = datetime(day.year, day.month, day.day, tzinfo=VIETNAM)
    async with db.statement() as connection:
        rows = await _REFUNDS_OF_DAY.fetch(connection, start, start + timedelta(days=1))
    return [rules.Refund(str(r["id"]), r["amount_vnd"], r["receipt_no"], r["code"]) for r in rows]
