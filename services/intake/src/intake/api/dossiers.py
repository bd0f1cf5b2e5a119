"""intake API: the citizen's dossiers (drafts, attachments, submission and after)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from intake.api.deps import ClientAddress, Ctx, CurrentCitizen, OptionalCitizen
from intake.services import dossiers, views
from intake.services.limits import hit
from shared.api.uploads import Multipart
from shared.db.idempotency import Answer

router = APIRouter(tags=["dossiers"])

_HOUR = timedelta(hours=1)

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicantIn(_Strict):
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


class ResultDeliveryIn(_Strict):
    method: Literal["in_person", "post", "online"]
    address: str | None = Field(None, max_length=500)


class DossierCreate(_Strict):
    procedure_code: str = Field(max_length=50)
    agency_code: str = Field(max_length=50)
    case_code: str | None = Field(None, max_length=50)
    applicant: ApplicantIn | None = None
    form: dict[str, Any]
    notify_via: list[Literal["sms", "email"]] = Field(min_length=1, max_length=2)
    result_delivery: ResultDeliveryIn


class SubmitIn(_Strict):
    commitment: bool


class WithdrawIn(_Strict):
    reason: str = Field(min_length=3, max_length=1000)


class FeedbackIn(_Strict):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=2000)
    complaint: bool = False


def _answer(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status_code)


@router.post("/dossiers", status_code=201)
async def create_draft(
    body: DossierCreate, ctx: Ctx, citizen: CurrentCitizen, key: IdempotencyKey = None
) -> JSONResponse:
    """Start a dossier: procedure, agency, declaration form, notification and delivery."""
    draft = body.model_dump(mode="json")
    return _answer(await dossiers.create_draft(ctx, citizen.account_id, draft, key))


@router.post("/dossiers/{dossier_id}/attachments", status_code=201)
async def add_attachment(
    dossier_id: uuid.UUID, body: Multipart, ctx: Ctx, citizen: CurrentCitizen
) -> dict[str, Any]:
    """Attach one file (multipart `document_code` then `file`) to a draft."""
    return await dossiers.add_attachment(ctx, citizen.account_id, dossier_id, body)


@router.delete("/dossiers/{dossier_id}/attachments/{attachment_id}", status_code=204)
async def remove_attachment(
    dossier_id: uuid.UUID, attachment_id: uuid.UUID, ctx: Ctx, citizen: CurrentCitizen
) -> Response:
    """Remove a file from a draft."""
    await dossiers.remove_attachment(ctx, citizen.account_id, dossier_id, attachment_id)
    return Response(status_code=204)


@router.post("/dossiers/{dossier_id}/submit")
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
    await hit(ctx, f"submit-ip:{address}", limits.limit_submit_per_ip_hour, _HOUR)
    await hit(
        ctx, f"submit-account:{citizen.account_id}", limits.limit_submit_per_account_hour, _HOUR
    )
    return _answer(await dossiers.submit(ctx, citizen.account_id, dossier_id, body.commitment, key))


@router.get("/dossiers")
async def list_dossiers(
    ctx: Ctx,
    citizen: CurrentCitizen,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The caller's dossiers, newest first."""
    return await views.list_own(ctx, citizen.account_id, limit, cursor)


@router.get("/dossiers/{ref}")
async def get_dossier(ref: str, ctx: Ctx, citizen: CurrentCitizen) -> dict[str, Any]:
    """One of the caller's dossiers in full, by code (or by id while a draft)."""
    return await views.owner_view(ctx, citizen.account_id, ref)


@router.post("/dossiers/{code}/supplement")
async def supplement(
    code: str,
    body: Multipart,
    ctx: Ctx,
    citizen: OptionalCitizen,
    address: ClientAddress,
    update_code: Annotated[str | None, Header(alias="X-Update-Code")] = None,
) -> dict[str, Any]:
    """Send what the officer asked for (owner's token or the update code)."""
    if citizen is None:
        # Guessing update codes: a few tries per dossier and per address, then wait.
        await hit(ctx, f"update-code:{code}", 10, _HOUR)
        await hit(ctx, f"update-code-ip:{address}", 30, _HOUR)
    owner = citizen.account_id if citizen else None
    return await dossiers.supplement(ctx, code, owner, update_code, body)


@router.post("/dossiers/{code}/withdraw")
async def withdraw(
    code: str, body: WithdrawIn, ctx: Ctx, citizen: CurrentCitizen, key: IdempotencyKey = None
) -> JSONResponse:
    """Withdraw a dossier before its result exists."""
    return _answer(await dossiers.withdraw(ctx, citizen.account_id, code, body.reason, key))


@router.post("/dossiers/{code}/feedback", status_code=201)
async def feedback(
    code: str, body: FeedbackIn, ctx: Ctx, citizen: CurrentCitizen
) -> dict[str, Any]:
    """Rate the service once the dossier has its result."""
    return await dossiers.give_feedback(
        ctx, citizen.account_id, code, body.rating, body.comment, body.complaint
    )


@router.get("/dossiers/{code}/result")
async def result(code: str, ctx: Ctx, citizen: CurrentCitizen) -> RedirectResponse:
    """The electronic result file, through a link valid for a few minutes."""
    return RedirectResponse(await dossiers.result_link(ctx, citizen.account_id, code), 307)
