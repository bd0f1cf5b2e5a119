"""intake API: fees paid online before submission (docs/PAYMENTS.md)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from intake.api.deps import ClientAddress, Ctx, CurrentCitizen
from intake.api.schemas import Timestamp
from intake.services import payments
from shared.api.openapi import problem_responses

router = APIRouter(tags=["payments"])

# A notification has about fifteen parameters of a few dozen characters each.
_MAX_PARAMS = 40
_MAX_VALUE = 512


class PaymentStarted(BaseModel):
    payment_id: str = Field(description="The order the gateway knows (vnp_TxnRef).")
    amount_vnd: int = Field(description="The fee of the catalogue in force, in đồng.")
    redirect_url: str = Field(
        description="The gateway's page, signed: send the citizen's browser there. The "
        "gateway sends it back to the portal's return page afterwards; the payment is "
        "settled by the gateway's notification, never by that return."
    )


class PaymentRead(BaseModel):
    payment_id: str
    status: Literal["pending", "paid", "failed", "refund_due"] = Field(
        description="pending: awaiting the gateway; paid; failed: declined or cancelled (a "
        "new attempt may be started); refund_due: paid, and the dossier was rejected, "
        "stopped or withdrawn (or the fee was paid twice): the fee is to be refunded."
    )
    amount_vnd: int
    receipt_no: str | None = Field(description="The electronic receipt's number, once paid.")
    paid_at: Timestamp | None


class NotificationAnswer(BaseModel):
    RspCode: str = Field(
        description="00 confirmed (also for the same notification again), 01 order not "
        "found, 02 order already settled by another notification, 04 invalid amount, "
        "97 invalid signature, 99 unreadable parameters."
    )
    Message: str


@router.post(
    "/dossiers/{dossier_id}/payment",
    status_code=201,
    response_model=PaymentStarted,
    responses=problem_responses(409, 429),
)
async def start_payment(
    dossier_id: uuid.UUID, ctx: Ctx, citizen: CurrentCitizen, address: ClientAddress
) -> dict[str, Any]:
    """Start paying a draft's fee (procedures paid before submission): a signed link to
    the gateway. Each call is a new attempt; the first one paid counts."""
    return await payments.start(ctx, citizen.account_id, dossier_id, address)


@router.get("/dossiers/{dossier_id}/payment", response_model=PaymentRead)
async def payment(dossier_id: uuid.UUID, ctx: Ctx, citizen: CurrentCitizen) -> dict[str, Any]:
    """The draft's or dossier's payment: the paid one, else the latest attempt."""
    return await payments.status_of(ctx, citizen.account_id, dossier_id)


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        try:
            form = await request.form(max_fields=_MAX_PARAMS)
        except Exception:  # whatever the parser refuses: a notification not understood (99)
            return {}
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    if len(params) > _MAX_PARAMS or any(len(v) > _MAX_VALUE for v in params.values()):
        return {}
    return params


_NOTIFY_DOC = (
    " Always answered 200 with the gateway's code: an order is settled once, only by a "
    "notification whose signature verifies and whose amount and order match; the same "
    "notification again answers 00 and changes nothing (docs/PAYMENTS.md)."
)


@router.post(
    "/payments/notify",
    response_model=NotificationAnswer,
    description="The gateway's signed server-to-server notification (IPN): `vnp_*` "
    "parameters in a form body (or the query); no token." + _NOTIFY_DOC,
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "additionalProperties": {"type": "string"}}
                }
            },
        },
    },
)
async def notify(request: Request, ctx: Ctx) -> dict[str, str]:
    """The gateway's signed server-to-server notification (IPN)."""
    return await payments.notified(ctx, await _params(request))


@router.get(
    "/payments/notify",
    response_model=NotificationAnswer,
    description="The same notification as the `GET` some gateways send: `vnp_*` parameters "
    "in the query; no token." + _NOTIFY_DOC,
)
async def notify_by_get(request: Request, ctx: Ctx) -> dict[str, str]:
    """The gateway's signed server-to-server notification (IPN), by GET."""
    return await payments.notified(ctx, await _params(request))


@router.get(
    "/dossiers/{code}/receipt.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The receipt."}},
)
async def receipt(code: str, ctx: Ctx, citizen: CurrentCitizen) -> Response:
    """The fee receipt of the caller's dossier paid online (PDF)."""
    pdf = await payments.receipt(ctx, citizen.account_id, code)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="bien-lai-{code}.pdf"'},
    )
