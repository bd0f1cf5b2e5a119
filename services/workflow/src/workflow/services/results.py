"""The processor's e-result: streamed to the `dossier-results` bucket, then recorded.

The role, agency and status are checked before a byte is stored, so a refused upload
costs nothing; if recording fails after the file is stored, the file is removed.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.contracts import events as ev
from shared.errors import Unsupported, invalid_field
from shared.multipart import MultipartStream, too_large
from shared.storage import ObjectTooLarge
from shared.storage.files import UnacceptedContent, filename_problem, put_checked, safe_filename
from workflow.domain.lifecycle import Action
from workflow.domain.preconditions import own_work
from workflow.services import actions
from workflow.services.changes import Officer
from workflow.services.context import RESULTS_BUCKET, Context

log = logging.getLogger(__name__)

# E-results are signed PDFs, or scans of the paper result.
RESULT_TYPES = ("application/pdf", "image/jpeg", "image/png")
SUMMARY_MAX = 4000


async def record(
    ctx: Context, officer: Officer, code: str, body: MultipartStream
) -> dict[str, Any]:
    """Read `summary` and an optional `file`, store the file, record the result."""
    limit = ctx.settings.max_result_bytes
    body.refuse_if_declared_over(limit + 64 * 1024)
    async with ctx.db.transaction() as session:
        case = await actions.begin(session, officer, Action.RECORD_RESULT, code)
        own_work(officer.id, case["assignee_id"])
    summary: str | None = None
    stored = None
    filename = None
    try:
        async for part in body.parts(max_body=limit + 64 * 1024):
            if part.filename is None:
                if part.name == "summary":
                    summary = (await part.text()).strip()
                continue
            if part.name != "file" or stored is not None:
                raise invalid_field("file", "Chỉ gửi một tệp kết quả.")
            if (problem := filename_problem(part.filename)) is not None:
                raise invalid_field("file", problem)
            filename = safe_filename(part.filename, fallback="ket-qua")
            stored = await put_checked(
                ctx.store, RESULTS_BUCKET, actions.result_key(code), part.chunks(),
                accepted=RESULT_TYPES, max_size=limit,
            )  # fmt: skip
        if not summary or len(summary) > SUMMARY_MAX:
            raise invalid_field("summary", "Vui lòng nhập tóm tắt kết quả (tối đa 4000 ký tự).")
        file_ref = (
            ev.FileRef(
                bucket=stored.bucket, key=stored.key, size=stored.size,
                content_type=stored.content_type, sha256=stored.sha256, filename=filename,
            )
            if stored
            else None
        )  # fmt: skip
        return await actions.record_result(ctx, officer, code, summary, file_ref)
    except UnacceptedContent:
        raise Unsupported("Tệp kết quả phải là PDF, JPEG hoặc PNG.") from None
    except ObjectTooLarge:
        raise too_large(limit) from None
    except BaseException:
        if stored is not None:
            await _remove(ctx, stored.key)
        raise


async def _remove(ctx: Context, key: str) -> None:
    try:
        await ctx.store.remove(RESULTS_BUCKET, key)
    except Exception:
        # Left behind: an unreferenced object, harmless; the key is logged for clean-up.
        log.warning("could not remove a refused e-result", extra={"key": key})
