"""The official forms of a dossier, built from its case and audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

import workflow.adapters.forms as pdf
from shared.contracts.events import DossierStatus as S
from shared.errors import Conflict, NotFound
from workflow.adapters.tables import procedures
from workflow.domain.lifecycle import STATUS_NAMES, Action, Recorded
from workflow.services.changes import Officer, read_case
from workflow.services.context import Context
from workflow.services.views import rounds_of, trail_of

DELIVERY = {
    "in_person": "Nhận trực tiếp tại Bộ phận Một cửa",
    "post": "Qua dịch vụ bưu chính công ích",
    "online": "Trực tuyến, trên Cổng dịch vụ công",
}
ACTIONS: dict[str, str] = {
    Recorded.SUBMIT: "Nộp hồ sơ trực tuyến",
    Recorded.REGISTER: "Nhận hồ sơ giấy tại Bộ phận Một cửa",
    Action.RECEIVE: "Tiếp nhận hồ sơ",
    Action.REQUEST_SUPPLEMENT: "Yêu cầu bổ sung, hoàn thiện",
    Action.SUPPLEMENT: "Công dân bổ sung hồ sơ",
    Action.REJECT: "Từ chối",
    Action.ASSIGN: "Giao xử lý",
    Action.RECORD_RESULT: "Cập nhật kết quả xử lý",
    Action.SUBMIT_FOR_APPROVAL: "Trình ký",
    Action.SEND_BACK: "Trả lại để xử lý tiếp",
    Action.APPROVE: "Phê duyệt",
    Action.RETURN_RESULT: "Trả kết quả",
    Action.EXTEND_DEADLINE: "Xin lỗi và hẹn lại",
    Action.STOP: "Dừng giải quyết (quá hạn bổ sung)",
    Action.WITHDRAW: "Công dân rút hồ sơ",
    Recorded.PAYMENT: "Nộp lệ phí",
    Action.RECORD_FEE: "Thu phí, lệ phí tại Bộ phận Một cửa",
}
# Which forms exist once the dossier has reached the point they record.
NEEDS = {
    "receipt": lambda c, _rounds: c["received_at"] is not None,
    "supplement-request": lambda _c, rounds: bool(rounds),
    "rejection": lambda c, _rounds: c["status"] == S.REJECTED,
    "apology": lambda c, _rounds: c["extended_at"] is not None,
    "control-sheet": lambda _c, _rounds: True,
}


async def render_for(ctx: Context, officer: Officer, code: str, form: str) -> bytes:
    """The form as PDF; 404 for an unknown form, 409 for one the dossier has not reached."""
    if form not in pdf.FORMS:
        raise NotFound("Không có biểu mẫu này.")
    async with ctx.db.transaction() as session:
        case = await read_case(session, code, officer.agency_code)
        trail = await trail_of(session, case["id"])
        rounds = await rounds_of(session, case["id"])
        documents = await session.scalar(
            select(procedures.c.documents).where(procedures.c.code == case["procedure_code"])
        )
    if not NEEDS[form](case, rounds):
        raise Conflict(f"Hồ sơ chưa có “{pdf.form_title(form)}”.")
    tracking_url = ctx.settings.public_tracking_url.format(code=case["code"])
    dossier = form_data(form, case, trail, rounds, documents or [], tracking_url)
    # Rendering is CPU work: keep the event loop free for other requests.
    return await asyncio.to_thread(pdf.render, form, dossier)


# Who signs each form: the officer who took the step it records, the last time it was
# taken. An apology letter is the leader's who extended the deadline, not the desk's that
# received the dossier. The control sheet is signed by hand by the unit's leader.
SIGNED_BY: dict[str, Action | None] = {
    "receipt": Action.RECEIVE,
    "supplement-request": Action.REQUEST_SUPPLEMENT,
    "rejection": Action.REJECT,
    "apology": Action.EXTEND_DEADLINE,
    "control-sheet": None,
}


def signer_of(form: str, case: Any, trail: Sequence[Any]) -> str | None:
    """The name printed under the form's signature."""
    action = SIGNED_BY[form]
    if action is None:
        return None
    entry = next((h for h in reversed(trail) if h["action"] == action), None)
    if entry is not None and entry["actor_name"]:
        return str(entry["actor_name"])
    # A receipt always has its receiver on the case.
    return case["received_by"] if action is Action.RECEIVE else None


def form_data(
    form: str,
    case: Any,
    trail: Sequence[Any],
    rounds: Sequence[Any],
    documents: list[dict[str, Any]],
    tracking_url: str,
) -> pdf.FormDossier:
    """What `form` of the dossier shows, from its case, audit trail and supplement rounds."""
    names = {d["code"]: d["name"] for d in documents}
    counts: dict[str, int] = {}
    for attachment in case["attachments"]:
        key = attachment.get("document_code") or ""
        counts[key] = counts.get(key, 0) + 1
    last_round = rounds[-1] if rounds else None
    extension = next((h for h in reversed(trail) if h["action"] == Action.EXTEND_DEADLINE), None)
    rejection = next((h for h in reversed(trail) if h["action"] == Action.REJECT), None)
    reason = (extension or rejection or {}).get("note") if (extension or rejection) else None
    applicant = case["applicant"]
    return pdf.FormDossier(
        code=case["code"],
        procedure_code=case["procedure_code"],
        procedure_name=case["procedure_name"],
        agency_name=case["agency_name"],
        applicant_name=case["applicant_name"],
        # The applicant's own address (an organisation's registered one) before the
        # address the result is posted to.
        applicant_address=applicant.get("address") or case["result_delivery"].get("address"),
        applicant_phone=case["recipient"].get("phone"),
        submitted_at=case["submitted_at"],
        received_at=case["received_at"],
        due_at=case["due_at"],
        tracking_url=tracking_url,
        signer_name=signer_of(form, case, trail),
        documents=tuple(
            pdf.FormDocument(name=names.get(code, code or "Tài liệu khác"), count=count)
            for code, count in counts.items()
        ),
        supplement_items=tuple(i["description"] for i in last_round["items"]) if last_round else (),
        supplement_due_at=last_round["supplement_due_at"] if last_round else None,
        reason=reason,
        original_due_at=case["original_due_at"],
        new_due_at=case["due_at"] if case["extended_at"] else None,
        history=tuple(
            pdf.FormEntry(
                at=h["at"],
                actor=h["actor_name"]
                or ("Công dân" if h["actor_kind"] == "citizen" else "Hệ thống"),
                action=ACTIONS.get(h["action"], h["action"]),
                from_status=STATUS_NAMES[S(h["from_status"])] if h["from_status"] else None,
                to_status=STATUS_NAMES[S(h["to_status"])],
                note=h["note"],
            )
            for h in trail
        ),
        result_delivery=DELIVERY.get(case["result_delivery"].get("method", "")),
        applicant_kind=applicant["kind"],
        declarant_name=(applicant.get("declarant") or {}).get("full_name"),
        relationship=applicant.get("relationship") if applicant["kind"] == "proxy" else None,
        tax_code=applicant.get("tax_code"),
        legal_representative=applicant.get("legal_representative"),
    )
