"""Dossiers as the citizen makes them: draft, attachments, submission, supplements,
withdrawal, feedback, the result. Each use case is one transaction; its event goes to
the outbox inside it."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.tables import (
    attachments,
    dossiers,
    feedback,
)
from intake.domain import statuses
from intake.domain.drafts import check_complete, checked_draft, submitted_applicant
from intake.domain.payments import must_pay_first
from intake.services import payments
from intake.services.catalogue import agency_and_procedure
from intake.services.context import Context
from intake.services.limits import HOUR, hit
from intake.services.records import (
    NOT_FOUND,
    active_account,
    agency_row,
    change_dossier,
    facts,
    file_ref,
    find_dossier,
    owned,
    owned_for_submission,
    owned_with_size,
    procedure_row,
    recipient,
    require_active,
    require_status,
)
from intake.services.sealing import update_code_digest, update_code_matches
from intake.services.uploads import (
    FRAMING_BYTES,
    discard,
    held,
    insert_attachment,
    insert_checked,
    receive_files,
)
from shared.contracts import events
from shared.contracts.codes import SequenceExhausted, issued_code, new_update_code
from shared.contracts.events import VIETNAM, DossierStatus
from shared.db.idempotency import Answer, Retry
from shared.db.sql import Runner, Sql, json_text
from shared.errors import Conflict, Invalid, NotFound, TooMany, field_error
from shared.multipart import MultipartStream

log = logging.getLogger(__name__)


# --- drafts -------------------------------------------------------------------------------


async def create_draft(
    ctx: Context, owner_id: uuid.UUID, draft: dict[str, Any], key: str | None
) -> Answer:
    """A new draft for a procedure at an agency, its form checked against the schema."""
    # Before the database work: the catalogue is kept in memory, and a use case that is
    # not atomic may take nothing else from the database while it runs (`once_sql`).
    _, procedure = await agency_and_procedure(ctx, draft["agency_code"], draft["procedure_code"])
    return await ctx.once_sql(
        f"draft:{owner_id}",
        Retry.of(key, draft),
        lambda connection: _create_draft(connection, owner_id, procedure, draft),
        atomic=False,  # the account read, then the one insert
    )


_NEW_DRAFT = Sql(
    "INSERT INTO dossiers (id, owner_id, procedure_code, agency_code, case_code, applicant,"
    " form, notify_via, result_delivery, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)


async def _create_draft(
    on: Runner, owner_id: uuid.UUID, procedure: Any, draft: dict[str, Any]
) -> Answer:
    account = await active_account(on, owner_id)
    applicant = checked_draft(procedure, account, draft)
    dossier_id = uuid.uuid4()
    await _NEW_DRAFT.execute(
        on, dossier_id, owner_id, procedure["code"], draft["agency_code"],
        draft.get("case_code"), json_text(applicant), json_text(draft["form"]),
        draft["notify_via"], json_text(draft["result_delivery"]), DossierStatus.DRAFT,
    )  # fmt: skip
    return Answer(
        201,
        {
            "id": str(dossier_id),
            "status": DossierStatus.DRAFT,
            "procedure_code": procedure["code"],
            "agency_code": draft["agency_code"],
        },
    )


# --- attachments --------------------------------------------------------------------------


async def add_attachment(
    ctx: Context, owner_id: uuid.UUID, dossier_id: uuid.UUID, body: MultipartStream
) -> dict[str, Any]:
    """Stream one file of a draft to the store, checked by size, real type and count."""
    limits = ctx.settings
    body.refuse_if_declared_over(limits.max_file_bytes + FRAMING_BYTES)
    # Reads only, before the body is read: no transaction, one round trip.
    async with ctx.db.statement() as connection:
        dossier = await owned_with_size(connection, owner_id, dossier_id)
        require_status(dossier, statuses.DRAFT, "Chỉ thêm tệp khi hồ sơ chưa nộp.")
        used = dossier["held_size"]
    procedure = await procedure_row(ctx, dossier["procedure_code"])
    room = limits.max_dossier_bytes - used
    body.refuse_if_declared_over(room + FRAMING_BYTES)

    uploads = await receive_files(ctx, body, procedure, dossier_id, room, single=True)
    upload = uploads.files[0]
    try:
        # On a driver transaction: BEGIN, the locked draft, the row with what the draft
        # held before it (checked before COMMIT), COMMIT.
        async with ctx.db.driver_transaction() as connection:
            dossier = await owned(connection, owner_id, dossier_id=dossier_id, lock=True)
            require_status(dossier, statuses.DRAFT, "Chỉ thêm tệp khi hồ sơ chưa nộp.")
            row = await insert_checked(
                connection, dossier_id, upload,
                lambda held: held.check(
                    procedure, [upload.document_code], upload.stored.size, limits.max_dossier_bytes
                ),
            )  # fmt: skip
    except BaseException:
        await discard(ctx, [upload])
        raise
    return row


async def remove_attachment(
    ctx: Context, owner_id: uuid.UUID, dossier_id: uuid.UUID, attachment_id: uuid.UUID
) -> None:
    """Remove a file from a draft."""
    async with ctx.db.transaction() as session:
        dossier = await owned(session, owner_id, dossier_id=dossier_id, lock=True)
        require_status(dossier, statuses.DRAFT, "Chỉ xoá tệp khi hồ sơ chưa nộp.")
        deleted = (
            await session.execute(
                attachments.delete()
                .where(attachments.c.id == attachment_id, attachments.c.dossier_id == dossier_id)
                .returning(attachments.c.bucket, attachments.c.object_key)
            )
        ).first()
    if deleted is None:
        raise NotFound("Không tìm thấy tệp đính kèm.")
    await ctx.store.remove(deleted.bucket, deleted.object_key)


# --- submission ---------------------------------------------------------------------------


async def submit(
    ctx: Context, owner_id: uuid.UUID, dossier_id: uuid.UUID, commitment: bool, key: str | None
) -> Answer:
    """Check the dossier is complete, give it its code and update code, emit
    `dossier.submitted`."""
    if commitment is not True:
        raise Invalid(
            "Vui lòng xác nhận cam đoan trước khi nộp hồ sơ.",
            errors=[
                field_error(
                    "commitment",
                    "Vui lòng đánh dấu cam đoan chịu trách nhiệm về thông tin đã khai.",
                )
            ],
        )
    secret = ctx.settings.secret("jwt_secret")
    update_code = new_update_code()
    digest = update_code_digest(secret, update_code)
    return await ctx.once_sql(
        f"submit:{dossier_id}",
        Retry.of(key, commitment),
        lambda connection: _submit(ctx, connection, owner_id, dossier_id, update_code, digest),
    )


async def _submit(
    ctx: Context,
    session: Runner,
    owner_id: uuid.UUID,
    dossier_id: uuid.UUID,
    update_code: str,
    digest: str,
) -> Answer:
    dossier = await owned_for_submission(session, owner_id, dossier_id)
    require_status(dossier, statuses.DRAFT, "Hồ sơ đã được nộp.")
    procedure = await procedure_row(ctx, dossier["procedure_code"])
    agency = await agency_row(ctx, dossier["agency_code"])
    files = dossier["files"]
    check_complete(procedure, dossier["form"], {f["document_code"] for f in files})
    account = require_active(dossier["account"])
    payment = None
    if must_pay_first(procedure["fee_timing"], procedure["fee_vnd"]):
        payment = await payments.paid_for(session, dossier_id)
        if payment is None:
            raise Conflict(payments.NOT_PAID, fee_vnd=procedure["fee_vnd"])

    now = datetime.now(UTC)
    try:
        code = issued_code(
            "online",
            agency["code"],
            now.astimezone(VIETNAM).date(),
            await _next_sequence(ctx, agency["code"], now),
        )
    except SequenceExhausted:
        # The rest of the day's numbers belong to the desk (shared/contracts/codes.py).
        raise TooMany(
            "Cơ quan đã nhận hết số hồ sơ trực tuyến của ngày hôm nay, "
            "vui lòng nộp lại vào ngày mai.",
            retry_after=3600,
        ) from None
    submitted = events.DossierSubmitted(
        **facts(procedure, agency, DossierStatus.SUBMITTED),
        dossier_id=dossier_id,
        case_code=dossier["case_code"],
        online_level=procedure["online_level"],
        submitted_at=now,
        applicant=submitted_applicant(dossier["applicant"]),
        form=dossier["form"],
        attachments=[file_ref(f) for f in files],
        result_delivery=events.ResultDelivery(**dossier["result_delivery"]),
        recipient=recipient(account, dossier["notify_via"]),
        update_code=update_code,
        fee_vnd=procedure["fee_vnd"],
        fee_timing=procedure["fee_timing"],
        processing_days=procedure["processing_days"],
        cutoff_time=procedure["cutoff_time"],
        supplement_days=procedure["supplement_days"],
    )
    await change_dossier(
        ctx, session, dossier, code, submitted, "Hồ sơ đã được nộp trực tuyến.", now,
        code=code, submitted_at=now, update_code_hash=digest,
    )  # fmt: skip
    if payment is not None:
        completed = payments.completed(procedure, agency, payment)
        await ctx.outbox.add(session, completed, dossier_code=code, occurred_at=now)
    log.info(
        "dossier submitted",
        extra={"procedure_code": procedure["code"], "agency_code": agency["code"]},
    )
    return Answer(
        200,
        {
            "id": str(dossier_id),
            "code": code,
            "update_code": update_code,
            "status": DossierStatus.SUBMITTED,
            "submitted_at": now.isoformat(),
        },
    )


_NEXT_NUMBER = Sql(
    "INSERT INTO code_sequences AS s (agency_code, day, last) VALUES ($1, $2, 1)"
    " ON CONFLICT (agency_code, day) DO UPDATE SET last = s.last + 1 RETURNING last"
)


async def _next_sequence(ctx: Context, agency_code: str, now: datetime) -> int:
    """The next number of that agency's day (1, 2, …), never repeated; the code takes its
    sequence from it in the online range.

    One statement on a connection of its own, outside the submission's transaction: the
    agency-day row is then locked for one statement, not for the rest of a submission
    (measured: holding it to the end let concurrent submissions queue behind each other).
    Only the agency's own day waits; a submission that dies after taking its number
    leaves a gap, never a duplicate.
    """
    async with ctx.db.statement() as connection:
        return int(
            await _NEXT_NUMBER.fetchval(connection, agency_code, now.astimezone(VIETNAM).date())
        )


# --- after submission ---------------------------------------------------------------------


async def supplement(
    ctx: Context,
    code: str,
    owner_id: uuid.UUID | None,
    update_code: str | None,
    address: str,
    body: MultipartStream,
) -> dict[str, Any]:
    """Add what the officer asked for (by the owner, or with the update code); the dossier
    goes back to the officer and the clock resumes there."""
    if update_code is not None:
        await _update_code_guessed(ctx, code, owner_id, address)
    async with ctx.db.transaction() as session:
        dossier = await _for_supplement(ctx, session, code, owner_id, update_code)
        procedure = await procedure_row(ctx, dossier["procedure_code"])
        used = (await held(session, dossier["id"])).size
    room = ctx.settings.max_dossier_bytes - used
    body.refuse_if_declared_over(room + FRAMING_BYTES * 4)
    received = await receive_files(ctx, body, procedure, dossier["id"], room, single=False)
    try:
        async with ctx.db.transaction() as session:
            dossier = await _for_supplement(ctx, session, code, owner_id, update_code, lock=True)
            agency = await agency_row(ctx, dossier["agency_code"])
            (await held(session, dossier["id"])).check(
                procedure,
                [f.document_code for f in received.files],
                sum(f.stored.size for f in received.files),
                ctx.settings.max_dossier_bytes,
            )
            round_ = (
                int(
                    await session.scalar(
                        select(func.coalesce(func.max(attachments.c.round), 0)).where(
                            attachments.c.dossier_id == dossier["id"]
                        )
                    )
                    or 0
                )
                + 1
            )
            rows = [
                await insert_attachment(session, dossier["id"], f, round_) for f in received.files
            ]
            now = datetime.now(UTC)
            stored = {f.stored.key for f in received.files}
            files = (
                (
                    await session.execute(
                        select(attachments).where(attachments.c.object_key.in_(stored))
                    )
                )
                .mappings()
                .all()
            )
            supplemented = events.DossierSupplemented(
                **facts(procedure, agency, DossierStatus.SUBMITTED),
                dossier_id=dossier["id"],
                attachments=[file_ref(f) for f in files],
                note=received.note,
                supplemented_at=now,
            )
            await change_dossier(
                ctx, session, dossier, code, supplemented, "Công dân đã bổ sung hồ sơ.", now
            )
    except BaseException:
        await discard(ctx, received.files)
        raise
    return {"code": code, "status": DossierStatus.SUBMITTED, "attachments": rows}


async def _update_code_guessed(
    ctx: Context, code: str, caller_id: uuid.UUID | None, address: str
) -> None:
    """A few update-code tries per dossier, per address and per account, then wait: a
    token opens no one else's dossier, so a signed-in caller is counted like any other."""
    limits = ctx.settings
    await hit(ctx, f"update-code-ip:{address}", limits.limit_update_code_per_ip_hour, HOUR)
    await hit(ctx, f"update-code:{code}", limits.limit_update_code_per_dossier_hour, HOUR)
    if caller_id is not None:
        await hit(
            ctx, f"update-code-account:{caller_id}", limits.limit_update_code_per_account_hour, HOUR
        )


async def _for_supplement(
    ctx: Context,
    session: AsyncSession,
    code: str,
    owner_id: uuid.UUID | None,
    update_code: str | None,
    *,
    lock: bool = False,
) -> Any:
    dossier = await find_dossier(session, dossiers.c.code == code, lock=lock)
    allowed = dossier is not None and (
        (owner_id is not None and dossier["owner_id"] == owner_id)
        or (
            update_code is not None
            and update_code_matches(
                ctx.settings.secret("jwt_secret"), dossier["update_code_hash"], update_code
            )
        )
    )
    if not allowed:
        raise NotFound(NOT_FOUND)
    require_status(dossier, statuses.AWAITING_SUPPLEMENT, "Hồ sơ không ở trạng thái chờ bổ sung.")
    return dossier


async def withdraw(
    ctx: Context, owner_id: uuid.UUID, code: str, reason: str, key: str | None
) -> Answer:
    """Withdraw a dossier before its result exists."""
    return await ctx.once_sql(
        f"withdraw:{code}",
        Retry.of(key, reason),
        lambda connection: _withdraw(ctx, connection, owner_id, code, reason),
    )


async def _withdraw(
    ctx: Context, session: Runner, owner_id: uuid.UUID, code: str, reason: str
) -> Answer:
    dossier = await owned(session, owner_id, code=code, lock=True)
    require_status(dossier, statuses.OPEN, "Hồ sơ đã có kết quả hoặc đã kết thúc, không thể rút.")
    procedure = await procedure_row(ctx, dossier["procedure_code"])
    agency = await agency_row(ctx, dossier["agency_code"])
    account = await active_account(session, owner_id)
    now = datetime.now(UTC)
    withdrawn = events.DossierWithdrawn(
        **facts(procedure, agency, DossierStatus.WITHDRAWN),
        dossier_id=dossier["id"],
        reason=reason,
        withdrawn_at=now,
        recipient=recipient(account, dossier["notify_via"]),
    )
    await change_dossier(ctx, session, dossier, code, withdrawn, "Công dân đã rút hồ sơ.", now)
    # Withdrawn before it was handled: a fee paid online is owed back.
    await payments.refund_if_paid(session, dossier["id"])
    return Answer(
        200, {"code": code, "status": DossierStatus.WITHDRAWN, "withdrawn_at": now.isoformat()}
    )


async def give_feedback(
    ctx: Context, owner_id: uuid.UUID, code: str, rating: int, comment: str | None, complaint: bool
) -> dict[str, Any]:
    """The citizen's satisfaction rating, once per resolved dossier."""
    async with ctx.db.transaction() as session:
        dossier = await owned(session, owner_id, code=code, lock=True)
        require_status(dossier, statuses.RESOLVED, "Chỉ đánh giá khi hồ sơ đã có kết quả.")
        now = datetime.now(UTC)
        added = await session.execute(
            insert(feedback)
            .values(dossier_id=dossier["id"], rating=rating, comment=comment, complaint=complaint)
            .on_conflict_do_nothing()
            .returning(feedback.c.dossier_id)
        )
        if added.first() is None:
            raise Conflict("Hồ sơ này đã được đánh giá.")
        await ctx.outbox.add(
            session,
            events.FeedbackSubmitted(
                procedure_code=dossier["procedure_code"],
                agency_code=dossier["agency_code"],
                rating=rating,
                complaint=complaint,
                comment=comment,
                submitted_at=now,
            ),
            dossier_code=code,
            occurred_at=now,
        )
    return {"code": code, "rating": rating, "complaint": complaint, "submitted_at": now.isoformat()}


async def result_link(ctx: Context, owner_id: uuid.UUID, code: str) -> str:
    """A short-lived link to the electronic result, for its owner."""
    async with ctx.db.transaction() as session:
        dossier = await owned(session, owner_id, code=code)
    result_file = (dossier["result"] or {}).get("file")
    if dossier["status"] not in statuses.RESOLVED or not result_file:
        raise NotFound("Hồ sơ chưa có kết quả điện tử.")
    return ctx.store.presigned_get(result_file["bucket"], result_file["key"], timedelta(minutes=10))
