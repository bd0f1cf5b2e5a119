"""intake API: the citizen's dossiers (drafts, attachments, submission and after)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from intake.api.deps import (
    ClientAddress,
    Ctx,
    CurrentCitizen,
    IdempotencyKey,
    OptionalCitizen,
    replayable,
)
from intake.api.payments import PaymentRead
from intake.api.schemas import PageRead, Strict, SupplementDueAt, Timestamp, WorkingDaysLeft
from intake.services import dossiers, views
from intake.services.limits import HOUR, hit_all
from intake.services.pages import Page
from shared.api.bearer import SIGN_IN_OPTIONAL
from shared.api.openapi import problem_responses
from shared.api.uploads import FILE, Multipart, multipart_body
from shared.contracts.events import Channel, DossierStatus

router = APIRouter(tags=["dossiers"])

DeliveryMethod = Literal["in_person", "post", "online"]

DOCUMENT_CODE = {
    "type": "string",
    "maxLength": 50,
    "description": "The procedure's document the next `file` is for (`documents[].code`).",
}


class ApplicantIn(Strict):
    """Omitted, or `kind: citizen`: the account holder, prefilled from the profile."""

    kind: Literal["citizen", "proxy", "organisation"] = "citizen"
    full_name: str | None = Field(None, max_length=200)
    id_number: str | None = Field(None, pattern=r"^\d{12}$")
    date_of_birth: str | None = None
    phone: str | None = Field(None, max_length=20)
    address: str | None = Field(None, max_length=500)
    relationship: str | None = Field(None, max_length=100)
    organisation_name: str | None = Field(None, max_length=300)
    tax_code: str | None = Field(None, pattern=r"^\d{10}(\d{3})?$")
    legal_representative: str | None = Field(None, max_length=200)


class ResultDeliveryIn(Strict):
    method: DeliveryMethod
    address: str | None = Field(None, max_length=500)


class DossierCreate(Strict):
    procedure_code: str = Field(max_length=50)
    agency_code: str = Field(max_length=50)
    case_code: str | None = Field(None, max_length=50)
    applicant: ApplicantIn | None = None
    form: dict[str, Any]
    notify_via: list[Literal["sms", "email"]] = Field(min_length=1, max_length=2)
    result_delivery: ResultDeliveryIn


class SubmitIn(Strict):
    # Documented as the one value accepted; false is refused by the use case, in words.
    commitment: bool = Field(json_schema_extra={"const": True})


class WithdrawIn(Strict):
    reason: str = Field(min_length=3, max_length=1000)


class FeedbackIn(Strict):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=2000)
    complaint: bool = False


class DraftRead(BaseModel):
    id: str
    status: Literal[DossierStatus.DRAFT]
    procedure_code: str
    agency_code: str


class AttachmentRead(BaseModel):
    id: str
    document_code: str
    filename: str
    size: int
    sha256: str
    content_type: str


class SubmissionRead(BaseModel):
    id: str
    code: str
    update_code: str = Field(
        description="Mã cập nhật: lets anyone holding it supplement the dossier; shown once."
    )
    status: Literal[DossierStatus.SUBMITTED]
    submitted_at: Timestamp


class DossierSummaryRead(BaseModel):
    id: str
    code: str | None
    status: DossierStatus
    procedure_code: str
    procedure_name: str
    agency_code: str
    created_at: Timestamp
    submitted_at: Timestamp | None
    due_at: Timestamp | None


class ResultDeliveryRead(BaseModel):
    method: DeliveryMethod
    address: str | None


# Fields of stored JSON in the order jsonb keeps them, which is the order answered.
class SupplementItemRead(BaseModel):
    description: str
    document_code: str | None


class SupplementRequestRead(BaseModel):
    note: str | None
    items: list[SupplementItemRead]
    round: int
    requested_at: Timestamp
    supplement_due_at: Timestamp | None


class TimelineEntryRead(BaseModel):
    at: Timestamp
    status: DossierStatus
    note: str | None


class DossierAttachmentRead(AttachmentRead):
    round: int = Field(description="0 for the files of the submission, n for the n-th supplement.")


class DossierPaymentRead(PaymentRead):
    receipt_url: str | None = Field(
        description="The receipt's PDF, once paid and submitted (the dossier has its code)."
    )


class DossierRead(BaseModel):
    id: str
    code: str | None
    status: DossierStatus
    procedure_code: str
    procedure_name: str
    agency_code: str
    agency_name: str
    case_code: str | None
    applicant: dict[str, Any] = Field(
        description="`kind`, and the holder's details (citizen) or those declared, with the "
        "holder as `declarant` (proxy, organisation)."
    )
    form: dict[str, Any]
    notify_via: list[Channel]
    result_delivery: ResultDeliveryRead
    submitted_at: Timestamp | None
    received_at: Timestamp | None
    due_at: Timestamp | None
    resolved_at: Timestamp | None
    supplement_due_at: SupplementDueAt = None
    working_days_left: WorkingDaysLeft = None
    supplement_request: SupplementRequestRead | None
    result_available: bool
    payment: DossierPaymentRead | None = Field(
        None, description="The fee paid online (or its latest attempt); null if none started."
    )
    timeline: list[TimelineEntryRead]
    attachments: list[DossierAttachmentRead]


class SupplementRead(BaseModel):
    code: str
    status: Literal[DossierStatus.SUBMITTED]
    attachments: list[AttachmentRead]


class WithdrawalRead(BaseModel):
    code: str
    status: Literal[DossierStatus.WITHDRAWN]
    withdrawn_at: Timestamp


class FeedbackRead(BaseModel):
    code: str
    rating: int
    complaint: bool
    submitted_at: Timestamp


@router.post("/dossiers", status_code=201, response_model=DraftRead)
async def create_draft(
    body: DossierCreate, ctx: Ctx, citizen: CurrentCitizen, key: IdempotencyKey = None
) -> JSONResponse:
    """Start a dossier: procedure, agency, declaration form, notification and delivery."""
    draft = body.model_dump(mode="json")
    return replayable(await dossiers.create_draft(ctx, citizen.account_id, draft, key))


@router.post(
    "/dossiers/{dossier_id}/attachments",
    status_code=201,
    response_model=AttachmentRead,
    responses=problem_responses(409),
    openapi_extra=multipart_body(("document_code", "file"), document_code=DOCUMENT_CODE, file=FILE),
)
async def add_attachment(
    dossier_id: uuid.UUID, body: Multipart, ctx: Ctx, citizen: CurrentCitizen
) -> dict[str, Any]:
    """Attach one file (multipart `document_code` then `file`) to a draft."""
    return await dossiers.add_attachment(ctx, citizen.account_id, dossier_id, body)


@router.delete(
    "/dossiers/{dossier_id}/attachments/{attachment_id}",
    status_code=204,
    responses=problem_responses(409),
)
async def remove_attachment(
    dossier_id: uuid.UUID, attachment_id: uuid.UUID, ctx: Ctx, citizen: CurrentCitizen
) -> Response:
    """Remove a file from a draft."""
    await dossiers.remove_attachment(ctx, citizen.account_id, dossier_id, attachment_id)
    return Response(status_code=204)


@router.post(
    "/dossiers/{dossier_id}/submit",
    response_model=SubmissionRead,
    responses=problem_responses(409, 429),
)
async def submit(
    dossier_id: uuid.UUID,
    body: SubmitIn,
    ctx: Ctx,
    citizen: CurrentCitizen,
    address: ClientAddress,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Submit a complete draft: returns the dossier code and the update code."""
    limits = ctx.settings
    await hit_all(
        ctx,
        (f"submit-ip:{address}", limits.limit_submit_per_ip_hour, HOUR),
        (f"submit-account:{citizen.account_id}", limits.limit_submit_per_account_hour, HOUR),
    )
    return replayable(
        await dossiers.submit(ctx, citizen.account_id, dossier_id, body.commitment, key)
    )


@router.get(
    "/dossiers", response_model=PageRead[DossierSummaryRead], responses=problem_responses(400)
)
async def list_dossiers(
    ctx: Ctx,
    citizen: CurrentCitizen,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> Page:
    """The caller's dossiers, newest first."""
    return await views.list_own(ctx, citizen.account_id, limit, cursor)


@router.get("/dossiers/{ref}", response_model=DossierRead)
async def get_dossier(ref: str, ctx: Ctx, citizen: CurrentCitizen) -> dict[str, Any]:
    """One of the caller's dossiers in full, by code (or by id while a draft)."""
    return await views.owner_view(ctx, citizen.account_id, ref)


@router.post(
    "/dossiers/{code}/supplement",
    response_model=SupplementRead,
    responses=problem_responses(409, 429),
    openapi_extra={
        **multipart_body(
            document_code={"type": "array", "items": DOCUMENT_CODE},
            file={"type": "array", "items": FILE},
            note={"type": "string", "description": "Kept to its first 2000 characters."},
        ),
        **SIGN_IN_OPTIONAL,
    },
)
async def supplement(
    code: str,
    body: Multipart,
    ctx: Ctx,
    citizen: OptionalCitizen,
    address: ClientAddress,
    update_code: Annotated[str | None, Header(alias="X-Update-Code")] = None,
) -> dict[str, Any]:
    """Send what the officer asked for (owner's token or the update code)."""
    owner = citizen.account_id if citizen else None
    return await dossiers.supplement(ctx, code, owner, update_code, address, body)


@router.post(
    "/dossiers/{code}/withdraw", response_model=WithdrawalRead, responses=problem_responses(409)
)
async def withdraw(
    code: str, body: WithdrawIn, ctx: Ctx, citizen: CurrentCitizen, key: IdempotencyKey = None
) -> JSONResponse:
    """Withdraw a dossier before its result exists."""
    return replayable(await dossiers.withdraw(ctx, citizen.account_id, code, body.reason, key))


@router.post(
    "/dossiers/{code}/feedback",
    status_code=201,
    response_model=FeedbackRead,
    responses=problem_responses(409),
)
async def feedback(
    code: str, body: FeedbackIn, ctx: Ctx, citizen: CurrentCitizen
) -> dict[str, Any]:
    """Rate the service once the dossier has its result."""
    return await dossiers.give_feedback(
        ctx, citizen.account_id, code, body.rating, body.comment, body.complaint
    )


@router.get(
    "/dossiers/{code}/result",
    status_code=307,
    response_class=RedirectResponse,
    responses={
        307: {
            "description": "To the electronic result in the file store, valid for 10 minutes.",
            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
        }
    },
)
async def result(code: str, ctx: Ctx, citizen: CurrentCitizen) -> RedirectResponse:
    """The electronic result file, through a link valid for a few minutes."""
    return RedirectResponse(await dossiers.result_link(ctx, citizen.account_id, code), 307)
