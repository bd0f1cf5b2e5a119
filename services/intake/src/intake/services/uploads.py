"""Attachments received as a stream: each file checked by its real type, counted per
document, stored under a random key with its SHA-256; anything refused is removed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from intake.domain.drafts import check_file_counts
from intake.services.context import ATTACHMENTS_BUCKET, Context
from shared.db.sql import Runner, Sql
from shared.errors import Invalid, field_error, invalid_field
from shared.multipart import MultipartStream, Part, too_large
from shared.storage import StoredObject
from shared.storage.files import filename_problem, kinds, put_file, remove_stored, safe_filename

# Multipart framing around one file: boundaries, part headers, the document_code field.
FRAMING_BYTES = 64 * 1024


@dataclass(frozen=True)
class Upload:
    document_code: str
    filename: str
    stored: StoredObject


@dataclass(frozen=True)
class Received:
    files: list[Upload]
    note: str | None


async def receive_files(
    ctx: Context,
    body: MultipartStream,
    procedure: Any,
    dossier_id: uuid.UUID,
    room: int,
    *,
    single: bool,
) -> Received:
    """Read `document_code` + `file` pairs (and an optional `note`), streaming each file to
    the store. Any refusal removes what this request already stored."""
    documents = {d["code"]: d for d in procedure["documents"]}
    limits = ctx.settings
    received: list[Upload] = []
    document_code: str | None = None
    note: str | None = None
    try:
        async for part in body.parts(max_body=room + FRAMING_BYTES * 4):
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
                raise Invalid(
                    "Mỗi lần chỉ gửi một tệp.", errors=[field_error("file", "Chỉ gửi một tệp.")]
                )
            if (problem := filename_problem(part.filename)) is not None:
                raise invalid_field("file", problem)
            document = documents.get(document_code or "")
            if document is None:
                raise Invalid(
                    "Thành phần hồ sơ không đúng.",
                    errors=[
                        field_error(
                            "document_code", "Vui lòng chọn thành phần hồ sơ của thủ tục trước tệp."
                        )
                    ],
                )
            stored = await store_part(
                ctx, part, document, dossier_id, min(limits.max_file_bytes, room)
            )
            room -= stored.size
            received.append(Upload(document["code"], safe_filename(part.filename), stored))
            document_code = None
    except BaseException:
        await discard(ctx, received)
        raise
    if not received and (single or note is None):
        raise Invalid(
            "Chưa có tệp nào được gửi.", errors=[field_error("file", "Vui lòng chọn tệp.")]
        )
    return Received(received, note)


async def store_part(
    ctx: Context, part: Part, document: dict[str, Any], dossier_id: uuid.UUID, limit: int
) -> StoredObject:
    accepted = document["accepted_types"]
    # The key is random: it never carries the citizen's file name or anything they chose.
    return await put_file(
        ctx.store, ATTACHMENTS_BUCKET, f"{dossier_id}/{uuid.uuid4()}", part.chunks(),
        accepted=accepted, max_size=limit,
        refusal=f"Tệp không đúng định dạng cho phép ({kinds(accepted)}).",
    )  # fmt: skip


async def discard(ctx: Context, uploads: list[Upload]) -> None:
    await remove_stored(ctx.store, (upload.stored for upload in uploads))


_HELD = Sql(
    "SELECT document_code, count(*), sum(size) FROM attachments WHERE dossier_id = $1"
    " GROUP BY document_code"
)
_INSERT = (
    "INSERT INTO attachments (id, dossier_id, document_code, filename, content_type, size,"
    " sha256, bucket, object_key, round) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
_NEW_ATTACHMENT = Sql(_INSERT)
# A file's row written and what its dossier held before it, in one round trip: the select
# sees the statement's snapshot, taken after the dossier's lock was granted (the previous
# statement), so it counts every upload committed before, and not the row written here.
_ADDED_TO_HELD = Sql(
    f"WITH added AS ({_INSERT})"  # noqa: S608 - the statement above, no input
    " SELECT document_code, count(*), sum(size) FROM attachments WHERE dossier_id = $2"
    " GROUP BY document_code"
)


@dataclass(frozen=True)
class Held:
    """What a dossier already holds: files per document code, and bytes in all."""

    counts: dict[str, int]
    size: int

    def check(self, procedure: Any, adding: list[str], sizes: int, max_bytes: int) -> None:
        """The procedure's files-per-document limit and the dossier's size limit, counting
        what it holds and what is being added."""
        check_file_counts(procedure["documents"], self.counts, adding)
        if self.size + sizes > max_bytes:
            raise too_large(max_bytes)


def _held_of(rows: list[Any]) -> Held:
    return Held({r[0]: r[1] for r in rows}, sum(int(r[2]) for r in rows))


async def held(on: Runner, dossier_id: uuid.UUID) -> Held:
    return _held_of(await _HELD.fetch(on, dossier_id))


async def insert_attachment(
    session: Runner, dossier_id: uuid.UUID, upload: Upload, round_: int
) -> dict[str, Any]:
    attachment_id = uuid.uuid4()
    row = _attachment_row(attachment_id, dossier_id, upload, round_)
    await _NEW_ATTACHMENT.execute(session, *row)
    return _attachment_read(attachment_id, upload)


async def insert_checked(
    connection: asyncpg.Connection,
    dossier_id: uuid.UUID,
    upload: Upload,
    check: Callable[[Held], None],
) -> dict[str, Any]:
    """A draft's file (round 0) written, then `check` given what the draft held before it:
    a refusal it raises rolls the row back with the caller's transaction, which must hold
    the dossier's lock."""
    attachment_id = uuid.uuid4()
    rows = await _ADDED_TO_HELD.fetch(
        connection, *_attachment_row(attachment_id, dossier_id, upload, 0)
    )
    check(_held_of(rows))
    return _attachment_read(attachment_id, upload)


def _attachment_row(
    attachment_id: uuid.UUID, dossier_id: uuid.UUID, upload: Upload, round_: int
) -> tuple[Any, ...]:
    stored = upload.stored
    return (
        attachment_id, dossier_id, upload.document_code, upload.filename, stored.content_type,
        stored.size, stored.sha256, stored.bucket, stored.key, round_,
    )  # fmt: skip


def _attachment_read(attachment_id: uuid.UUID, upload: Upload) -> dict[str, Any]:
    stored = upload.stored
    return {
        "id": str(attachment_id),
        "document_code": upload.document_code,
        "filename": upload.filename,
        "size": stored.size,
        "sha256": stored.sha256,
        "content_type": stored.content_type,
    }
