"""workflow API: the one-stop desk, where a receiver registers a paper dossier (API.md,
"Second round")."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from shared.api.idempotency import IdempotencyKey
from shared.api.openapi import problem_responses
from shared.api.uploads import FILE, Multipart, multipart_body
from shared.contracts import events as ev
from workflow.api.deps import Ctx, CurrentOfficer
from workflow.services import desk

router = APIRouter(tags=["desk"])


class RegisteredRead(BaseModel):
    code: str
    update_code: str = Field(
        description="Printed on the receipt: supplementing without an account."
    )
    status: ev.DossierStatus
    channel: Literal["in_person", "post"]
    registered_at: AwareDatetime
    received_at: AwareDatetime | None
    due_at: AwareDatetime | None
    receipt_url: str | None = Field(description="The receipt form, once the dossier is received.")


# The `dossier` part's fields; FastAPI cannot see them, the body being read as a stream.
_DOSSIER = (
    "JSON, the first part: procedure_code, agency_code? (the receiver's unit), case_code?, "
    "applicant, form, channel (in_person|post), notify_via, phone?, email?, "
    "result_delivery?, receive_now?, note?."
)


@router.post(
    "/counter/dossiers",
    status_code=201,
    response_model=RegisteredRead,
    responses=problem_responses(403, 409, 413, 415),
    openapi_extra=multipart_body(
        ("dossier",),
        dossier={"type": "string", "contentMediaType": "application/json", "description": _DOSSIER},
        document_code={
            "type": "string",
            "maxLength": 50,
            "description": "Before each file: the procedure's document it is.",
        },
        file=FILE,
    ),
)
async def register(
    body: Multipart, ctx: Ctx, officer: CurrentOfficer, key: IdempotencyKey = None
) -> dict[str, Any]:
    """A paper dossier taken at the desk (in person or by post): its code and update code
    for the receipt; received at once with `receive_now`."""
    return await desk.register(ctx, officer, body, key)
