"""Dossiers as the citizen makes them: draft, attachments, submission, supplements,
withdrawal, feedback, the result. Each use case is one transaction; its event goes to
the outbox inside it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from intake.adapters.tables import (
    accounts,
    agencies,
    attachments,
    code_sequences,
    dossiers,
    feedback,
    procedures,
    timeline,
)
from intake.domain.codes import dossier_code, new_update_code
from intake.domain.files import SNIFF_BYTES, filename_problem, safe_filename, sniff
from intake.domain.forms import form_errors
from intake.services import idempotency
from intake.services.catalogue import agency_and_procedure
from intake.services.context import ATTACHMENTS_BUCKET, Context
from intake.services.sealing import update_code_digest, update_code_matches
from shared.api.problems import Problem
from shared.api.uploads import MultipartStream, Part, refuse_if_declared_too_large, too_large
from shared.contracts import events
from shared.storage import ObjectTooLarge, StoredObject

log = logging.getLogger(__name__)

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
# Multipart framing around one file: boundaries, part headers, the document_code field.
_FRAMING_BYTES = 64 * 1024
OPEN_STATUSES = {"submitted", "received", "supplement_requested", "in_progress", "pending_approval"}
RESOLVED_STATUSES = {"result_ready", "returned"}

NOT_FOUND = "Không tìm thấy hồ sơ."


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]


# --- drafts -------------------------------------------------------------------------------


async def create_draft(
    ctx: Context, owner_id: uuid.UUID, draft: dict[str, Any], key: str | None
) -> Answer:
    """A new draft for a procedure at an agency, its form checked against the schema."""
    secret = ctx.settings.secret("jwt_secret")
    scope = f"draft:{owner_id}"
    async with ctx.db.transaction() as session:
        replay = await idempotency.claim(
            session, secret, scope, key, idempotency.request_hash(draft)
        )
        if replay is not None:
            return Answer(replay.status_code, replay.body)
        account = await _account(session, owner_id)
        _, procedure = await agency_and_procedure(
            session, draft["agency_code"], draft["procedure_code"]
        )
        errors = [
            *_case_errors(procedure, draft.get("case_code")),
            *_delivery_errors(procedure, account, draft),
            *form_errors(procedure["form_schema"], draft["form"]),
        ]
        applicant, applicant_errors = _applicant(procedure, account, draft.get("applicant"))
        errors += applicant_errors
        if errors:
            raise Problem(422, "Thông tin hồ sơ chưa hợp lệ, vui lòng kiểm tra lại.", errors=errors)
        dossier_id = uuid.uuid4()
        await session.execute(
            dossiers.insert().values(
                id=dossier_id,
                owner_id=owner_id,
                procedure_code=procedure["code"],
                agency_code=draft["agency_code"],
                case_code=draft.get("case_code"),
                applicant=applicant,
                form=draft["form"],
                notify_via=draft["notify_via"],
                result_delivery=draft["result_delivery"],
                status="draft",
            )
        )
        body = {
            "id": str(dossier_id),
            "status": "draft",
            "procedure_code": procedure["code"],
            "agency_code": draft["agency_code"],
        }
        await idempotency.remember(session, secret, scope, key, 201, body)
    return Answer(201, body)


def _case_errors(procedure: Any, case_code: str | None) -> list[dict[str, str]]:
    cases = {c["code"] for c in procedure["cases"]}
    if cases and case_code not in cases:
        return [{"field": "case_code", "message": "Vui lòng chọn trường hợp thực hiện thủ tục."}]
    if not cases and case_code is not None:
        return [{"field": "case_code", "message": "Thủ tục này không chia trường hợp."}]
    return []


def _delivery_errors(procedure: Any, account: Any, draft: dict[str, Any]) -> list[dict[str, str]]:
    errors = []
    if "email" in draft["notify_via"] and not account["email"]:
        errors.append(
            {"field": "notify_via", "message": "Tài khoản chưa có thư điện tử để nhận thông báo."}
        )
    delivery = draft["result_delivery"]
    if delivery["method"] == "post" and not (delivery.get("address") or "").strip():
        errors.append(
            {"field": "result_delivery.address", "message": "Vui lòng nhập địa chỉ nhận kết quả."}
        )
    if delivery["method"] == "online" and procedure["online_level"] != "full":
        errors.append(
            {
                "field": "result_delivery.method",
                "message": "Thủ tục này trả kết quả trực tiếp hoặc qua bưu chính.",
            }
        )
    return errors


def _applicant(
    procedure: Any, account: Any, given: dict[str, Any] | None
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Who the dossier is for: the account holder (prefilled from the profile), a person
    declared on their behalf ("khai hộ"), or an organisation."""
    given = given or {"kind": "citizen"}
    kind = given.get("kind", "citizen")
    if kind not in procedure["applicant_kinds"]:
        return {}, [
            {"field": "applicant.kind", "message": "Thủ tục này không áp dụng cho người nộp này."}
        ]
    declarant = {"full_name": account["full_name"], "id_number": account["id_number"]}
    if kind == "citizen":
        return {
            "kind": kind,
            **declarant,
            "date_of_birth": account["date_of_birth"].isoformat(),
            "phone": account["phone"],
        }, []
    required = (
        ("full_name", "id_number")
        if kind == "proxy"
        else ("organisation_name", "tax_code", "address", "legal_representative")
    )
    errors = [
        {"field": f"applicant.{name}", "message": "Trường này là bắt buộc."}
        for name in required
        if not str(given.get(name) or "").strip()
    ]
    return {**{k: v for k, v in given.items() if v is not None}, "declarant": declarant}, errors


# --- attachments --------------------------------------------------------------------------


async def add_attachment(
    ctx: Context, owner_id: uuid.UUID, dossier_id: uuid.UUID, request: Request
) -> dict[str, Any]:
    """Stream one file of a draft to the store, checked by size, real type and count."""
    limits = ctx.settings
    refuse_if_declared_too_large(request, limits.max_file_bytes + _FRAMING_BYTES)
    async with ctx.db.transaction() as session:
        dossier = await _owned(session, owner_id, dossier_id=dossier_id)
        _require_status(dossier, {"draft"}, "Chỉ thêm tệp khi hồ sơ chưa nộp.")
        procedure = await _procedure(session, dossier["procedure_code"])
        used = await _stored_bytes(session, dossier_id)
    room = limits.max_dossier_bytes - used
    refuse_if_declared_too_large(request, room + _FRAMING_BYTES)

    uploads = await _receive_files(ctx, request, procedure, dossier_id, room, single=True)
    upload = uploads.files[0]
    try:
        async with ctx.db.transaction() as session:
            dossier = await _owned(session, owner_id, dossier_id=dossier_id, lock=True)
            _require_status(dossier, {"draft"}, "Chỉ thêm tệp khi hồ sơ chưa nộp.")
            await _check_counts(session, dossier_id, procedure, [upload.document_code])
            if (
                await _stored_bytes(session, dossier_id) + upload.stored.size
                > limits.max_dossier_bytes
            ):
                raise too_large(limits.max_dossier_bytes)
            row = await _insert_attachment(session, dossier_id, upload, round_=0)
    except BaseException:
        await _discard(ctx, [upload])
        raise
    return row


async def remove_attachment(
    ctx: Context, owner_id: uuid.UUID, dossier_id: uuid.UUID, attachment_id: uuid.UUID
) -> None:
    """Remove a file from a draft."""
    async with ctx.db.transaction() as session:
        dossier = await _owned(session, owner_id, dossier_id=dossier_id, lock=True)
        _require_status(dossier, {"draft"}, "Chỉ xoá tệp khi hồ sơ chưa nộp.")
        deleted = (
            await session.execute(
                attachments.delete()
                .where(attachments.c.id == attachment_id, attachments.c.dossier_id == dossier_id)
                .returning(attachments.c.bucket, attachments.c.object_key)
            )
        ).first()
    if deleted is None:
        raise Problem(404, "Không tìm thấy tệp đính kèm.")
    await ctx.store.remove(deleted.bucket, deleted.object_key)


@dataclass(frozen=True)
class _Upload:
    document_code: str
    filename: str
    stored: StoredObject


@dataclass(frozen=True)
class _Received:
    files: list[_Upload]
    note: str | None


async def _receive_files(
    ctx: Context,
    request: Request,
    procedure: Any,
    dossier_id: uuid.UUID,
    room: int,
    *,
    single: bool,
) -> _Received:
    """Read `document_code` + `file` pairs (and an optional `note`), streaming each file to
    the store. Any refusal removes what this request already stored."""
    documents = {d["code"]: d for d in procedure["documents"]}
    limits = ctx.settings
    stream = MultipartStream(request, max_body=room + _FRAMING_BYTES * 4)
    received: list[_Upload] = []
    document_code: str | None = None
    note: str | None = None
    try:
        async for part in stream.parts():
            if part.filename is None:
                value = (await part.text()).strip()
                if part.name == "document_code":
                    document_code = value
                elif part.name == "note":
                    note = value[:2000] or None
                continue
            if part.name != "file":
                continue
            if single and received:
                raise Problem(
                    422, "Mỗi lần chỉ gửi một tệp.", errors=[_err("file", "Chỉ gửi một tệp.")]
                )
            if (problem := filename_problem(part.filename)) is not None:
                raise Problem(422, problem, errors=[_err("file", problem)])
            document = documents.get(document_code or "")
            if document is None:
                raise Problem(
                    422,
                    "Thành phần hồ sơ không đúng.",
                    errors=[
                        _err(
                            "document_code", "Vui lòng chọn thành phần hồ sơ của thủ tục trước tệp."
                        )
                    ],
                )
            stored = await _store_part(
                ctx, part, document, dossier_id, min(limits.max_file_bytes, room)
            )
            room -= stored.size
            received.append(_Upload(document["code"], safe_filename(part.filename), stored))
            document_code = None
    except BaseException:
        await _discard(ctx, received)
        raise
    if not received and (single or note is None):
        raise Problem(422, "Chưa có tệp nào được gửi.", errors=[_err("file", "Vui lòng chọn tệp.")])
    return _Received(received, note)


async def _store_part(
    ctx: Context, part: Part, document: dict[str, Any], dossier_id: uuid.UUID, limit: int
) -> StoredObject:
    chunks = part.chunks()
    head = bytearray()
    async for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    content_type = sniff(bytes(head))
    if content_type is None or content_type not in document["accepted_types"]:
        accepted = ", ".join(t.split("/")[1].upper() for t in document["accepted_types"])
        raise Problem(
            415,
            f"Tệp không đúng định dạng cho phép ({accepted}).",
            errors=[_err("file", f"Nội dung tệp không phải {accepted}.")],
        )

    async def body() -> AsyncIterator[bytes]:
        yield bytes(head)
        async for chunk in chunks:
            yield chunk

    # The key is random: it never carries the citizen's file name or anything they chose.
    key = f"{dossier_id}/{uuid.uuid4()}"
    try:
        return await ctx.store.put_stream(
            ATTACHMENTS_BUCKET, key, body(), content_type=content_type, max_size=limit
        )
    except ObjectTooLarge:
        raise too_large(limit) from None


async def _discard(ctx: Context, uploads: list[_Upload]) -> None:
    for upload in uploads:
        try:
            await ctx.store.remove(upload.stored.bucket, upload.stored.key)
        except Exception:
            log.exception("could not remove a refused upload", extra={"key": upload.stored.key})


async def _check_counts(
    session: AsyncSession, dossier_id: uuid.UUID, procedure: Any, adding: list[str]
) -> None:
    rows = await session.execute(
        select(attachments.c.document_code, func.count())
        .where(attachments.c.dossier_id == dossier_id)
        .group_by(attachments.c.document_code)
    )
    counts: dict[str, int] = {code: n for code, n in rows.all()}
    for code in adding:
        counts[code] = counts.get(code, 0) + 1
    for document in procedure["documents"]:
        if counts.get(document["code"], 0) > document["max_files"]:
            raise Problem(
                422,
                "Quá số tệp cho phép của thành phần hồ sơ.",
                errors=[_err("file", f"{document['name']}: tối đa {document['max_files']} tệp.")],
            )


async def _insert_attachment(
    session: AsyncSession, dossier_id: uuid.UUID, upload: _Upload, round_: int
) -> dict[str, Any]:
    attachment_id = uuid.uuid4()
    stored = upload.stored
    await session.execute(
        attachments.insert().values(
            id=attachment_id,
            dossier_id=dossier_id,
            document_code=upload.document_code,
            filename=upload.filename,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            bucket=stored.bucket,
            object_key=stored.key,
            round=round_,
        )
    )
    return {
        "id": str(attachment_id),
        "document_code": upload.document_code,
        "filename": upload.filename,
        "size": stored.size,
        "sha256": stored.sha256,
        "content_type": stored.content_type,
    }


async def _stored_bytes(session: AsyncSession, dossier_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(attachments.c.size), 0)).where(
            attachments.c.dossier_id == dossier_id
        )
    )
    return int(total or 0)


# --- submission ---------------------------------------------------------------------------


async def submit(
    ctx: Context, owner_id: uuid.UUID, dossier_id: uuid.UUID, commitment: bool, key: str | None
) -> Answer:
    """Check the dossier is complete, give it its code and update code, emit
    `dossier.submitted`."""
    if commitment is not True:
        raise Problem(
            422,
            "Vui lòng xác nhận cam đoan trước khi nộp hồ sơ.",
            errors=[
                _err(
                    "commitment",
                    "Vui lòng đánh dấu cam đoan chịu trách nhiệm về thông tin đã khai.",
                )
            ],
        )
    secret = ctx.settings.secret("jwt_secret")
    update_code = new_update_code()
    digest = update_code_digest(secret, update_code)
    scope = f"submit:{dossier_id}"
    async with ctx.db.transaction() as session:
        replay = await idempotency.claim(
            session, secret, scope, key, idempotency.request_hash(commitment)
        )
        if replay is not None:
            return Answer(replay.status_code, replay.body)
        dossier = await _owned(session, owner_id, dossier_id=dossier_id, lock=True)
        _require_status(dossier, {"draft"}, "Hồ sơ đã được nộp.")
        procedure = await _procedure(session, dossier["procedure_code"])
        agency = await _agency(session, dossier["agency_code"])
        files = (
            (
                await session.execute(
                    select(attachments)
                    .where(attachments.c.dossier_id == dossier_id)
                    .order_by(attachments.c.created_at)
                )
            )
            .mappings()
            .all()
        )
        present = {f["document_code"] for f in files}
        errors = [
            _err("attachments", f"Thiếu thành phần hồ sơ: {d['name']}.")
            for d in procedure["documents"]
            if d["required"] and d["code"] not in present
        ] + form_errors(procedure["form_schema"], dossier["form"])
        if errors:
            raise Problem(
                422, "Hồ sơ chưa đủ thành phần, vui lòng bổ sung trước khi nộp.", errors=errors
            )
        account = await _account(session, owner_id)

        now = datetime.now(UTC)
        code = dossier_code(
            agency["code"],
            now.astimezone(VIETNAM).date(),
            await _next_sequence(ctx, agency["code"], now),
        )
        sequence = dossier["sequence"] + 1
        await session.execute(
            dossiers.update()
            .where(dossiers.c.id == dossier_id)
            .values(
                code=code,
                status="submitted",
                submitted_at=now,
                update_code_hash=digest,
                sequence=sequence,
                updated_at=now,
            )
        )
        await _add_timeline(session, dossier_id, now, "submitted", "Hồ sơ đã được nộp trực tuyến.")
        await ctx.outbox.add(
            session,
            events.DossierSubmitted(
                **_facts(procedure, agency, "submitted"),
                dossier_id=dossier_id,
                case_code=dossier["case_code"],
                online_level=procedure["online_level"],
                submitted_at=now,
                applicant=events.Applicant(
                    kind=dossier["applicant"]["kind"],
                    full_name=dossier["applicant"].get("full_name")
                    or dossier["applicant"].get("organisation_name", ""),
                    id_number=dossier["applicant"].get("id_number"),
                    organisation_name=dossier["applicant"].get("organisation_name"),
                    tax_code=dossier["applicant"].get("tax_code"),
                ),
                form=dossier["form"],
                attachments=[_file_ref(f) for f in files],
                result_delivery=events.ResultDelivery(**dossier["result_delivery"]),
                recipient=_recipient(account, dossier["notify_via"]),
                update_code=update_code,
                fee_vnd=procedure["fee_vnd"],
            ),
            dossier_code=code,
            sequence=sequence,
            occurred_at=now,
        )
        body = {
            "id": str(dossier_id),
            "code": code,
            "update_code": update_code,
            "status": "submitted",
            "submitted_at": now.isoformat(),
        }
        await idempotency.remember(session, secret, scope, key, 200, body)
    log.info(
        "dossier submitted",
        extra={"procedure_code": procedure["code"], "agency_code": agency["code"]},
    )
    return Answer(200, body)


async def _next_sequence(ctx: Context, agency_code: str, now: datetime) -> int:
    """The next number of that agency's day, never repeated.

    Taken in its own one-statement transaction: the agency-day row is then locked for
    one statement, not for the rest of a submission (measured: holding it to the end let
    concurrent submissions queue behind each other). Only the agency's own day waits; a
    submission that dies after taking its number leaves a gap, never a duplicate.
    """
    statement = insert(code_sequences).values(
        agency_code=agency_code, day=now.astimezone(VIETNAM).date(), last=1
    )
    upserted = statement.on_conflict_do_update(
        index_elements=["agency_code", "day"], set_={"last": code_sequences.c.last + 1}
    ).returning(code_sequences.c.last)
    async with ctx.db.transaction() as session:
        return int((await session.execute(upserted)).scalar_one())


# --- after submission ---------------------------------------------------------------------


async def supplement(
    ctx: Context,
    code: str,
    owner_id: uuid.UUID | None,
    update_code: str | None,
    request: Request,
) -> dict[str, Any]:
    """Add what the officer asked for (by the owner, or with the update code); the dossier
    goes back to the officer and the clock resumes there."""
    async with ctx.db.transaction() as session:
        dossier = await _for_supplement(ctx, session, code, owner_id, update_code)
        procedure = await _procedure(session, dossier["procedure_code"])
        used = await _stored_bytes(session, dossier["id"])
    room = ctx.settings.max_dossier_bytes - used
    refuse_if_declared_too_large(request, room + _FRAMING_BYTES * 4)
    received = await _receive_files(ctx, request, procedure, dossier["id"], room, single=False)
    try:
        async with ctx.db.transaction() as session:
            dossier = await _for_supplement(ctx, session, code, owner_id, update_code, lock=True)
            agency = await _agency(session, dossier["agency_code"])
            await _check_counts(
                session, dossier["id"], procedure, [f.document_code for f in received.files]
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
                await _insert_attachment(session, dossier["id"], f, round_) for f in received.files
            ]
            now = datetime.now(UTC)
            sequence = dossier["sequence"] + 1
            await session.execute(
                dossiers.update()
                .where(dossiers.c.id == dossier["id"])
                .values(status="submitted", sequence=sequence, updated_at=now)
            )
            await _add_timeline(
                session, dossier["id"], now, "submitted", "Công dân đã bổ sung hồ sơ."
            )
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
            await ctx.outbox.add(
                session,
                events.DossierSupplemented(
                    **_facts(procedure, agency, "submitted"),
                    dossier_id=dossier["id"],
                    attachments=[_file_ref(f) for f in files],
                    note=received.note,
                    supplemented_at=now,
                ),
                dossier_code=code,
                sequence=sequence,
                occurred_at=now,
            )
    except BaseException:
        await _discard(ctx, received.files)
        raise
    return {"code": code, "status": "submitted", "attachments": rows}


async def _for_supplement(
    ctx: Context,
    session: AsyncSession,
    code: str,
    owner_id: uuid.UUID | None,
    update_code: str | None,
    *,
    lock: bool = False,
) -> Any:
    query = select(dossiers).where(dossiers.c.code == code)
    dossier = (await session.execute(query.with_for_update() if lock else query)).mappings().first()
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
        raise Problem(404, NOT_FOUND)
    _require_status(dossier, {"supplement_requested"}, "Hồ sơ không ở trạng thái chờ bổ sung.")
    return dossier


async def withdraw(
    ctx: Context, owner_id: uuid.UUID, code: str, reason: str, key: str | None
) -> Answer:
    """Withdraw a dossier before its result exists."""
    secret = ctx.settings.secret("jwt_secret")
    scope = f"withdraw:{code}"
    async with ctx.db.transaction() as session:
        replay = await idempotency.claim(
            session, secret, scope, key, idempotency.request_hash(reason)
        )
        if replay is not None:
            return Answer(replay.status_code, replay.body)
        dossier = await _owned(session, owner_id, code=code, lock=True)
        _require_status(
            dossier, OPEN_STATUSES, "Hồ sơ đã có kết quả hoặc đã kết thúc, không thể rút."
        )
        procedure = await _procedure(session, dossier["procedure_code"])
        agency = await _agency(session, dossier["agency_code"])
        account = await _account(session, owner_id)
        now = datetime.now(UTC)
        sequence = dossier["sequence"] + 1
        await session.execute(
            dossiers.update()
            .where(dossiers.c.id == dossier["id"])
            .values(status="withdrawn", sequence=sequence, updated_at=now)
        )
        await _add_timeline(session, dossier["id"], now, "withdrawn", "Công dân đã rút hồ sơ.")
        await ctx.outbox.add(
            session,
            events.DossierWithdrawn(
                **_facts(procedure, agency, "withdrawn"),
                dossier_id=dossier["id"],
                reason=reason,
                withdrawn_at=now,
                recipient=_recipient(account, dossier["notify_via"]),
            ),
            dossier_code=code,
            sequence=sequence,
            occurred_at=now,
        )
        body = {"code": code, "status": "withdrawn", "withdrawn_at": now.isoformat()}
        await idempotency.remember(session, secret, scope, key, 200, body)
    return Answer(200, body)


async def give_feedback(
    ctx: Context, owner_id: uuid.UUID, code: str, rating: int, comment: str | None, complaint: bool
) -> dict[str, Any]:
    """The citizen's satisfaction rating, once per resolved dossier."""
    async with ctx.db.transaction() as session:
        dossier = await _owned(session, owner_id, code=code, lock=True)
        _require_status(dossier, RESOLVED_STATUSES, "Chỉ đánh giá khi hồ sơ đã có kết quả.")
        now = datetime.now(UTC)
        added = await session.execute(
            insert(feedback)
            .values(dossier_id=dossier["id"], rating=rating, comment=comment, complaint=complaint)
            .on_conflict_do_nothing()
            .returning(feedback.c.dossier_id)
        )
        if added.first() is None:
            raise Problem(409, "Hồ sơ này đã được đánh giá.")
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
        dossier = await _owned(session, owner_id, code=code)
    result_file = (dossier["result"] or {}).get("file")
    if dossier["status"] not in RESOLVED_STATUSES or not result_file:
        raise Problem(404, "Hồ sơ chưa có kết quả điện tử.")
    return ctx.store.presigned_get(result_file["bucket"], result_file["key"], timedelta(minutes=10))


# --- reading ------------------------------------------------------------------------------


async def list_own(
    ctx: Context, owner_id: uuid.UUID, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The caller's dossiers, newest first."""
    query = (
        select(dossiers, procedures.c.name.label("procedure_name"))
        .join(procedures, procedures.c.code == dossiers.c.procedure_code)
        .where(dossiers.c.owner_id == owner_id)
        .order_by(dossiers.c.created_at.desc(), dossiers.c.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        try:
            at, _, last_id = cursor.partition("|")
            position = (datetime.fromisoformat(at), uuid.UUID(last_id))
        except ValueError:
            raise Problem(400, "Con trỏ phân trang không hợp lệ.") from None
        query = query.where(tuple_(dossiers.c.created_at, dossiers.c.id) < tuple_(*position))
    async with ctx.db.transaction() as session:
        rows = (await session.execute(query)).mappings().all()
    items = [
        {
            "id": str(r["id"]),
            "code": r["code"],
            "status": r["status"],
            "procedure_code": r["procedure_code"],
            "procedure_name": r["procedure_name"],
            "agency_code": r["agency_code"],
            "created_at": r["created_at"].isoformat(),
            "submitted_at": _iso(r["submitted_at"]),
            "due_at": _iso(r["due_at"]),
        }
        for r in rows[:limit]
    ]
    last = rows[limit - 1] if len(rows) > limit else None
    return {
        "items": items,
        "next_cursor": f"{last['created_at'].isoformat()}|{last['id']}" if last else None,
    }


async def owner_view(ctx: Context, owner_id: uuid.UUID, ref: str) -> dict[str, Any]:
    """Everything about one of the caller's dossiers (by code, or by id while a draft)."""
    async with ctx.db.transaction() as session:
        dossier = await _owned(session, owner_id, **_ref(ref))
        names = (
            await session.execute(
                select(
                    select(procedures.c.name)
                    .where(procedures.c.code == dossier["procedure_code"])
                    .scalar_subquery(),
                    select(agencies.c.name)
                    .where(agencies.c.code == dossier["agency_code"])
                    .scalar_subquery(),
                )
            )
        ).one()
        files = (
            (
                await session.execute(
                    select(attachments)
                    .where(attachments.c.dossier_id == dossier["id"])
                    .order_by(attachments.c.created_at)
                )
            )
            .mappings()
            .all()
        )
        entries = (
            (
                await session.execute(
                    select(timeline.c.at, timeline.c.status, timeline.c.note)
                    .where(timeline.c.dossier_id == dossier["id"])
                    .order_by(timeline.c.at, timeline.c.id)
                )
            )
            .mappings()
            .all()
        )
    return {
        "id": str(dossier["id"]),
        "code": dossier["code"],
        "status": dossier["status"],
        "procedure_code": dossier["procedure_code"],
        "procedure_name": names[0],
        "agency_code": dossier["agency_code"],
        "agency_name": names[1],
        "case_code": dossier["case_code"],
        "applicant": dossier["applicant"],
        "form": dossier["form"],
        "notify_via": dossier["notify_via"],
        "result_delivery": dossier["result_delivery"],
        "submitted_at": _iso(dossier["submitted_at"]),
        "received_at": _iso(dossier["received_at"]),
        "due_at": _iso(dossier["due_at"]),
        "resolved_at": _iso(dossier["resolved_at"]),
        "supplement_request": dossier["supplement_request"],
        "result_available": bool((dossier["result"] or {}).get("file")),
        "timeline": [
            {"at": e["at"].isoformat(), "status": e["status"], "note": e["note"]} for e in entries
        ],
        "attachments": [
            {
                "id": str(f["id"]),
                "document_code": f["document_code"],
                "filename": f["filename"],
                "size": f["size"],
                "sha256": f["sha256"],
                "content_type": f["content_type"],
                "round": f["round"],
            }
            for f in files
        ],
    }


async def public_tracking(ctx: Context, code: str) -> dict[str, Any]:
    """What anyone with the code may see: status and dates, no personal data."""
    async with ctx.db.transaction() as session:
        row = (
            (
                await session.execute(
                    select(
                        dossiers.c.code,
                        dossiers.c.status,
                        dossiers.c.submitted_at,
                        dossiers.c.received_at,
                        dossiers.c.due_at,
                        dossiers.c.resolved_at,
                        procedures.c.name.label("procedure_name"),
                        agencies.c.name.label("agency_name"),
                    )
                    .join(procedures, procedures.c.code == dossiers.c.procedure_code)
                    .join(agencies, agencies.c.code == dossiers.c.agency_code)
                    .where(dossiers.c.code == code)
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise Problem(404, "Không tìm thấy hồ sơ với mã này.")
    return {
        "code": row["code"],
        "status": row["status"],
        "procedure_name": row["procedure_name"],
        "agency_name": row["agency_name"],
        "submitted_at": _iso(row["submitted_at"]),
        "received_at": _iso(row["received_at"]),
        "due_at": _iso(row["due_at"]),
        "resolved_at": _iso(row["resolved_at"]),
    }


# --- helpers ------------------------------------------------------------------------------


def _err(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _ref(ref: str) -> dict[str, Any]:
    try:
        return {"dossier_id": uuid.UUID(ref)}
    except ValueError:
        return {"code": ref}


async def _owned(
    session: AsyncSession,
    owner_id: uuid.UUID,
    *,
    dossier_id: uuid.UUID | None = None,
    code: str | None = None,
    lock: bool = False,
) -> Any:
    """The dossier if the caller owns it; 404 otherwise (another's dossier does not exist
    for them)."""
    query = select(dossiers).where(dossiers.c.owner_id == owner_id)
    query = (
        query.where(dossiers.c.id == dossier_id)
        if dossier_id
        else query.where(dossiers.c.code == code)
    )
    dossier = (await session.execute(query.with_for_update() if lock else query)).mappings().first()
    if dossier is None:
        raise Problem(404, NOT_FOUND)
    return dossier


def _require_status(dossier: Any, allowed: set[str], detail: str) -> None:
    if dossier["status"] not in allowed:
        raise Problem(409, detail, current_status=dossier["status"])


async def _account(session: AsyncSession, account_id: uuid.UUID) -> Any:
    account = (
        (await session.execute(select(accounts).where(accounts.c.id == account_id)))
        .mappings()
        .first()
    )
    if account is None or account["status"] != "active":
        raise Problem(403, "Tài khoản chưa được kích hoạt.")
    return account


async def _agency(session: AsyncSession, code: str) -> Any:
    return (await session.execute(select(agencies).where(agencies.c.code == code))).mappings().one()


async def _procedure(session: AsyncSession, code: str) -> Any:
    return (
        (await session.execute(select(procedures).where(procedures.c.code == code)))
        .mappings()
        .one()
    )


async def _add_timeline(
    session: AsyncSession,
    dossier_id: uuid.UUID,
    at: datetime,
    status: str,
    note: str | None,
    event_id: uuid.UUID | None = None,
) -> None:
    await session.execute(
        insert(timeline)
        .values(dossier_id=dossier_id, at=at, status=status, note=note, event_id=event_id)
        .on_conflict_do_nothing()
    )


def _facts(procedure: Any, agency: Any, status: str) -> dict[str, Any]:
    return {
        "procedure_code": procedure["code"],
        "procedure_name": procedure["name"],
        "field": procedure["field"],
        "agency_code": agency["code"],
        "agency_name": agency["name"],
        "status": events.DossierStatus(status),
    }


def _file_ref(row: Any) -> events.FileRef:
    return events.FileRef(
        bucket=row["bucket"],
        key=row["object_key"],
        size=row["size"],
        content_type=row["content_type"],
        sha256=row["sha256"],
        document_code=row["document_code"],
        filename=row["filename"],
    )


def _recipient(account: Any, channels: list[str]) -> events.Recipient:
    return events.Recipient(
        full_name=account["full_name"],
        phone=account["phone"],
        email=account["email"],
        channels=[events.Channel(c) for c in channels],
    )
