"""workflow API: units and their officers, for the admins of the unit or of a unit above
it (API.md, "Second round")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.api.openapi import problem_responses
from workflow.api.deps import Ctx, CurrentAdmin
from workflow.domain.contacts import email as _email
from workflow.domain.contacts import phone as _phone
from workflow.services import staff

router = APIRouter(tags=["staff"])

RoleName = Literal["receiver", "processor", "approver", "admin"]
Username = Annotated[str, Path(max_length=64)]
AgencyCode = Annotated[str, Path(max_length=50)]


def _name(value: str | None) -> str | None:
    if value is None:
        return None
    name = " ".join(value.split())
    if not name or not name.isprintable():
        raise ValueError("Vui lòng nhập họ và tên.")
    return name


class _Contacts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(None, max_length=20, examples=["0912000401"])
    email: str | None = Field(None, max_length=254, examples=["tiepnhan.ducxuan@example.vn"])

    _check_phone = field_validator("phone")(_phone)
    _check_email = field_validator("email")(_email)


class OfficerCreate(_Contacts):
    username: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$", examples=["dx.tiepnhan"],
        description="Chữ thường không dấu, chữ số, dấu chấm, gạch dưới hoặc gạch ngang.",
    )  # fmt: skip
    full_name: str = Field(min_length=1, max_length=100, examples=["Hoàng Văn Dũng"])
    roles: list[RoleName] = Field(min_length=1, max_length=4, examples=[["receiver"]])

    _check_name = field_validator("full_name")(_name)


class OfficerUpdate(_Contacts):
    full_name: str | None = Field(None, min_length=1, max_length=100)
    roles: list[RoleName] | None = Field(None, min_length=1, max_length=4)
    active: bool | None = None

    _check_name = field_validator("full_name")(_name)


class OfficerRead(BaseModel):
    username: str
    full_name: str
    roles: list[RoleName]
    phone: str | None
    email: str | None
    active: bool
    agency_code: str
    must_change_password: bool


class OfficerCreated(OfficerRead):
    temporary_password: str = Field(description="Shown once; changed at first sign-in.")


class OfficersRead(BaseModel):
    items: list[OfficerRead]
    next_cursor: str | None


class TemporaryPasswordRead(BaseModel):
    username: str
    temporary_password: str


class RoleCounts(BaseModel):
    receiver: int
    processor: int
    approver: int
    admin: int


class UnitRead(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None
    officers: int = Field(description="Active officers.")
    inactive_officers: int
    officers_by_role: RoleCounts


class UnitsRead(BaseModel):
    items: list[UnitRead]
    next_cursor: str | None


@router.get("/agencies", response_model=UnitsRead)
async def units(ctx: Ctx, admin: CurrentAdmin) -> dict[str, Any]:
    """The admin's unit and every unit under it, with their officers counted."""
    return await staff.list_units(ctx, admin)


@router.get(
    "/agencies/{code}/officers", response_model=OfficersRead, responses=problem_responses(400)
)
async def list_officers(
    code: AgencyCode,
    ctx: Ctx,
    admin: CurrentAdmin,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The officers of a unit the admin runs, by username."""
    return await staff.list_officers(ctx, admin, code, limit=limit, cursor=cursor)


@router.post(
    "/agencies/{code}/officers", status_code=201, response_model=OfficerCreated,
    responses=problem_responses(409),
)  # fmt: skip
async def create_officer(
    code: AgencyCode, body: OfficerCreate, ctx: Ctx, admin: CurrentAdmin
) -> dict[str, Any]:
    """A new officer of the unit, with a temporary password to change at first sign-in.
    A retry with the same username answers 409 (the password is never stored to answer
    again); reset the password instead."""
    return await staff.create_officer(ctx, admin, code, staff.NewOfficer(**body.model_dump()))


class OfficerChangeRead(BaseModel):
    at: datetime
    actor_name: str = Field(
        description="Who made the change (the command line for the first admin)."
    )
    actor_agency: str | None
    username: str = Field(description="The officer changed.")
    agency_code: str
    action: str = Field(
        examples=["create", "update", "deactivate", "reset_password", "change_password"]
    )
    changes: dict[str, Any] = Field(
        description="The fields changed, {field: [before, after]}; of a password, only that "
        "it changed."
    )


class OfficerChangesRead(BaseModel):
    items: list[OfficerChangeRead]
    next_cursor: str | None


@router.get(
    "/officers/audit", response_model=OfficerChangesRead, responses=problem_responses(400, 404)
)
async def officers_audit(
    ctx: Ctx,
    admin: CurrentAdmin,
    agency: Annotated[str | None, Query(max_length=50)] = None,
    username: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    # The last row's id (a bigint): a cursor of another shape was never handed out.
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,17}$")] = None,
) -> dict[str, Any]:
    """The changes to the officers of the units the admin runs (or of `agency` and the
    units under it), newest first."""
    return await staff.audit_trail(
        ctx, admin, agency=agency, username=username, limit=limit, cursor=cursor
    )


@router.patch("/officers/{username}", response_model=OfficerRead, responses=problem_responses(409))
async def update_officer(
    username: Username, body: OfficerUpdate, ctx: Ctx, admin: CurrentAdmin
) -> dict[str, Any]:
    """Change an officer's name, roles, contacts or whether they are active; new roles or
    a deactivation end their sessions."""
    changes = body.model_dump(exclude_unset=True)
    for required in ("full_name", "roles", "active"):
        if required in changes and changes[required] is None:
            del changes[required]
    return await staff.update_officer(ctx, admin, username, changes)


@router.post("/officers/{username}/reset-password", response_model=TemporaryPasswordRead)
async def reset_password(username: Username, ctx: Ctx, admin: CurrentAdmin) -> dict[str, Any]:
    """A temporary password for the officer (changed at first sign-in); their sessions
    end and their sign-in lockout is lifted."""
    return await staff.reset_password(ctx, admin, username)
