"""workflow API: the agency's work list, a dossier's detail, and the officers' actions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.api.dates import Day
from shared.api.idempotency import IdempotencyKey
from shared.api.openapi import problem_responses
from shared.api.uploads import FILE, Multipart, multipart_body
from shared.contracts import events as ev
from shared.db.idempotency import Retry
from workflow.api.deps import Ctx, CurrentOfficer
from workflow.domain.lifecycle import Action, Recorded
from workflow.services import actions, forms, results, views

router = APIRouter(tags=["dossiers"])

# What the work list reads as an assignee, empty for anyone (another value is refused
# with 400 there).
_HEX = "[0-9a-fA-F]"
ASSIGNEE = {"pattern": f"^(|me|{_HEX}{{8}}(-?{_HEX}{{4}}){{3}}-?{_HEX}{{12}})$"}


def _retry(key: str | None, action: Action, code: str, body: BaseModel | None) -> Retry:
    return Retry.of(key, action.value, code, body.model_dump(mode="json") if body else None)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoteIn(_Strict):
    note: str | None = Field(None, max_length=2000)


class RequiredNoteIn(_Strict):
    note: str = Field(min_length=1, max_length=2000)


class SupplementItemIn(_Strict):
    document_code: str | None = Field(None, max_length=50)
    description: str = Field(min_length=1, max_length=1000)


class SupplementRequestIn(_Strict):
    items: list[SupplementItemIn] = Field(min_length=1, max_length=50)
    note: str | None = Field(None, max_length=2000)


class RejectIn(_Strict):
    reason: str = Field(min_length=1, max_length=2000)


class AssignIn(_Strict):
    officer: str = Field(min_length=1, max_length=64, description="Username or id.")


class ReturnIn(_Strict):
    # Documented as the one value accepted; false is refused by the use case, in words.
    originals_verified: bool = Field(json_schema_extra={"const": True})
    note: str | None = Field(None, max_length=2000)


class StopIn(_Strict):
    reason: str | None = Field(
        None, max_length=2000,
        description="Omitted or empty: the prefilled reason naming the supplement deadline "
        "(the dossier detail's `stop_reason`).",
    )  # fmt: skip


class FeeIn(_Strict):
    amount_vnd: int = Field(ge=0, le=10**12, description="Must be the procedure's fee.")
    receipt_no: str = Field(min_length=1, max_length=50, pattern=r"^[\w./-]+$")


class ExtendIn(_Strict):
    new_due_date: Day
    reason: str = Field(min_length=1, max_length=2000)


class AssigneeRead(BaseModel):
    id: uuid.UUID
    name: str | None


class WorkItemRead(BaseModel):
    code: str
    status: ev.DossierStatus
    procedure_code: str
    procedure_name: str
    applicant_name: str
    submitted_at: AwareDatetime
    received_at: AwareDatetime | None
    due_at: AwareDatetime | None
    overdue: bool
    assignee: AssigneeRead | None
    supplement_rounds: int


class WorkListRead(BaseModel):
    items: list[WorkItemRead]
    next_cursor: str | None


class FileRead(ev.FileRef):
    download_url: str = Field(description="Valid for a few minutes.")


class SupplementRoundRead(BaseModel):
    round: int
    items: list[ev.SupplementItem]
    note: str | None
    requested_at: AwareDatetime
    supplement_due_at: AwareDatetime | None
    supplemented_at: AwareDatetime | None
    paused_working_hours: float


class ResultRead(BaseModel):
    summary: str | None
    file: FileRead | None
    resolved_at: AwareDatetime | None
    judgement: ev.Judgement | None


class HistoryEntryRead(BaseModel):
    at: AwareDatetime
    actor: ev.Actor
    action: Action | Recorded
    from_status: ev.DossierStatus | None
    to_status: ev.DossierStatus
    note: str | None


class FeeRead(BaseModel):
    amount_vnd: int
    timing: ev.FeeTiming = Field(
        description="before_submission: paid online before submitting; on_result: paid at "
        "the desk, the approved dossier waiting in `awaiting_fee` until the receiver "
        "records it."
    )
    paid_at: AwareDatetime | None
    receipt_no: str | None = Field(description="The desk's receipt, for a fee paid there.")


class DossierRead(BaseModel):
    code: str
    status: ev.DossierStatus
    procedure_code: str
    procedure_name: str
    agency_code: str
    agency_name: str
    applicant: ev.Applicant
    contact: ev.Recipient
    form: dict[str, Any]
    result_delivery: ev.ResultDelivery
    attachments: list[FileRead]
    submitted_at: AwareDatetime
    received_at: AwareDatetime | None
    counted_from: AwareDatetime | None
    due_at: AwareDatetime | None
    original_due_at: AwareDatetime | None
    rule_set: str | None
    working_days_left: float | None
    overdue: bool
    assignee: AssigneeRead | None
    supplement_rounds: list[SupplementRoundRead]
    supplement_due_at: AwareDatetime | None = Field(
        description="The citizen's deadline to supplement, while the dossier waits for it."
    )
    stop_reason: str | None = Field(
        description="Once that deadline has passed: the reason prefilled for `stop`."
    )
    result: ResultRead
    fee: FeeRead
    history: list[HistoryEntryRead]


class ActionRead(BaseModel):
    """The dossier after an officer's action."""

    code: str
    status: ev.DossierStatus
    received_at: AwareDatetime | None
    due_at: AwareDatetime | None
    assignee: str | None = Field(description="The assigned processor's name.")


class SupplementRequestedRead(ActionRead):
    round: int
    supplement_due_at: AwareDatetime


class ResultRecordedRead(ActionRead):
    result_summary: str
    result_file: ev.FileRef | None


class ApprovedRead(ActionRead):
    resolved_at: AwareDatetime
    judgement: ev.Judgement


class FeeRecordedRead(ActionRead):
    fee_vnd: int
    receipt_no: str
    paid_at: AwareDatetime


class StoppedRead(ActionRead):
    reason: str
    stopped_at: AwareDatetime


class ExtendedRead(ActionRead):
    original_due_at: AwareDatetime | None


@router.get("/dossiers", response_model=WorkListRead, responses=problem_responses(400))
async def work_list(
    ctx: Ctx,
    officer: CurrentOfficer,
    status: Annotated[list[ev.DossierStatus] | None, Query()] = None,
    overdue: bool | None = None,
    assignee: Annotated[
        str | None,
        Query(max_length=64, description="`me` or an id", json_schema_extra=ASSIGNEE),
    ] = None,
    procedure_code: Annotated[str | None, Query(max_length=50)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """The agency's dossiers, most urgent first, with `due_at` and `overdue`."""
    return await views.work_list(
        ctx, officer,
        status=status, overdue=overdue,
        assignee=assignee, procedure_code=procedure_code, q=q, limit=limit, cursor=cursor,
    )  # fmt: skip


@router.get("/dossiers/{code}", response_model=DossierRead)
async def detail(code: str, ctx: Ctx, officer: CurrentOfficer) -> dict[str, Any]:
    """Applicant, form, files with time-limited links, deadline and history."""
    return await views.detail(ctx, officer, code)


@router.post(
    "/dossiers/{code}/receive", response_model=ActionRead, responses=problem_responses(409)
)
async def receive(
    code: str,
    ctx: Ctx,
    officer: CurrentOfficer,
    key: IdempotencyKey = None,
    body: NoteIn | None = None,
) -> dict[str, Any]:
    """Accept the complete dossier: the clock starts, the appointment is set."""
    retry = _retry(key, Action.RECEIVE, code, body)
    return await actions.receive(ctx, officer, code, body.note if body else None, retry)


@router.post(
    "/dossiers/{code}/request-supplement",
    response_model=SupplementRequestedRead,
    responses=problem_responses(409),
)
async def request_supplement(
    code: str,
    body: SupplementRequestIn,
    ctx: Ctx,
    officer: CurrentOfficer,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Ask for everything missing at once; the clock stops."""
    request = actions.SupplementRequest(
        items=[ev.SupplementItem(**i.model_dump()) for i in body.items], note=body.note
    )
    retry = _retry(key, Action.REQUEST_SUPPLEMENT, code, body)
    return await actions.request_supplement(ctx, officer, code, request, retry)


@router.post("/dossiers/{code}/reject", response_model=ActionRead, responses=problem_responses(409))
async def reject(
    code: str, body: RejectIn, ctx: Ctx, officer: CurrentOfficer, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Refuse the dossier with a reason."""
    retry = _retry(key, Action.REJECT, code, body)
    return await actions.reject(ctx, officer, code, body.reason, retry)


@router.post("/dossiers/{code}/assign", response_model=ActionRead, responses=problem_responses(409))
async def assign(
    code: str, body: AssignIn, ctx: Ctx, officer: CurrentOfficer, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Hand the dossier to a processor of the agency."""
    retry = _retry(key, Action.ASSIGN, code, body)
    return await actions.assign(ctx, officer, code, body.officer, retry)


@router.post(
    "/dossiers/{code}/result",
    response_model=ResultRecordedRead,
    responses=problem_responses(409),
    openapi_extra=multipart_body(
        ("summary",),
        summary={"type": "string", "maxLength": 4000, "description": "The result in short."},
        file=FILE,
    ),
)
async def record_result(
    code: str, body: Multipart, ctx: Ctx, officer: CurrentOfficer
) -> dict[str, Any]:
    """The processor's result: multipart `summary` and an optional e-result `file`."""
    return await results.record(ctx, officer, code, body)


@router.post(
    "/dossiers/{code}/submit-for-approval",
    response_model=ActionRead,
    responses=problem_responses(409),
)
async def submit_for_approval(
    code: str,
    ctx: Ctx,
    officer: CurrentOfficer,
    key: IdempotencyKey = None,
    body: NoteIn | None = None,
) -> dict[str, Any]:
    """Send the processed dossier to the leader."""
    retry = _retry(key, Action.SUBMIT_FOR_APPROVAL, code, body)
    note = body.note if body else None
    return await actions.submit_for_approval(ctx, officer, code, note, retry)


@router.post(
    "/dossiers/{code}/send-back", response_model=ActionRead, responses=problem_responses(409)
)
async def send_back(
    code: str,
    body: RequiredNoteIn,
    ctx: Ctx,
    officer: CurrentOfficer,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """The leader returns the dossier to processing, saying why."""
    retry = _retry(key, Action.SEND_BACK, code, body)
    return await actions.send_back(ctx, officer, code, body.note, retry)


@router.post(
    "/dossiers/{code}/approve", response_model=ApprovedRead, responses=problem_responses(409)
)
async def approve(
    code: str,
    ctx: Ctx,
    officer: CurrentOfficer,
    key: IdempotencyKey = None,
    body: NoteIn | None = None,
) -> dict[str, Any]:
    """The leader approves: the result is ready, or, with a fee still to be paid at the
    desk, the dossier waits for it (`awaiting_fee`)."""
    retry = _retry(key, Action.APPROVE, code, body)
    return await actions.approve(ctx, officer, code, body.note if body else None, retry)


@router.post(
    "/dossiers/{code}/fee", response_model=FeeRecordedRead, responses=problem_responses(409)
)
async def record_fee(
    code: str, body: FeeIn, ctx: Ctx, officer: CurrentOfficer, key: IdempotencyKey = None
) -> dict[str, Any]:
    """The receiver records the fee paid at the desk (the amount must be the procedure's
    fee): the dossier waiting for it has its result ready to hand over."""
    retry = _retry(key, Action.RECORD_FEE, code, body)
    fee = actions.DeskFee(amount_vnd=body.amount_vnd, receipt_no=body.receipt_no)
    return await actions.record_fee(ctx, officer, code, fee, retry)


@router.post(
    "/dossiers/{code}/return-result", response_model=ActionRead, responses=problem_responses(409)
)
async def return_result(
    code: str, body: ReturnIn, ctx: Ctx, officer: CurrentOfficer, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Hand the result over after comparing the paper originals."""
    retry = _retry(key, Action.RETURN_RESULT, code, body)
    verified = body.originals_verified
    return await actions.return_result(ctx, officer, code, verified, body.note, retry)


@router.post(
    "/dossiers/{code}/extend-deadline",
    response_model=ExtendedRead,
    responses=problem_responses(409),
)
async def extend_deadline(
    code: str, body: ExtendIn, ctx: Ctx, officer: CurrentOfficer, key: IdempotencyKey = None
) -> dict[str, Any]:
    """The apology letter with a new appointment date (once per dossier)."""
    retry = _retry(key, Action.EXTEND_DEADLINE, code, body)
    return await actions.extend_deadline(ctx, officer, code, body.new_due_date, body.reason, retry)


@router.post("/dossiers/{code}/stop", response_model=StoppedRead, responses=problem_responses(409))
async def stop(
    code: str,
    ctx: Ctx,
    officer: CurrentOfficer,
    key: IdempotencyKey = None,
    body: StopIn | None = None,
) -> dict[str, Any]:
    """Stop processing once the citizen's supplement deadline has passed (the desk)."""
    retry = _retry(key, Action.STOP, code, body)
    return await actions.stop(ctx, officer, code, body.reason if body else None, retry)


@router.get(
    "/dossiers/{code}/forms/{form}.pdf",
    response_class=Response,
    responses={
        200: {
            "description": "The form as PDF.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(409),
    },
)
async def form_pdf(code: str, form: str, ctx: Ctx, officer: CurrentOfficer) -> Response:
    """An official form of the dossier as PDF, with its code and a QR code for tracking."""
    pdf = await forms.render_for(ctx, officer, code, form)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{form}-{code}.pdf"'},
    )
