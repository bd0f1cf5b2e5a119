"""Request dependencies shared by workflow's routers: the context and the signed-in officer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from shared.api.bearer import BearerToken, live_session_claims
from shared.api.caller import ClientAddress as ClientAddress  # the routers' import
from shared.errors import Forbidden, Unauthenticated
from shared.runtime import context_of
from workflow.domain.lifecycle import Role
from workflow.services.changes import Officer
from workflow.services.context import Context
from workflow.services.officers import MUST_CHANGE

Ctx = Annotated[Context, Depends(context_of)]


async def signed_in_officer(ctx: Ctx, token: BearerToken) -> Officer:
    """The officer of a valid token of a live session, even one that must first change
    a temporary password."""
    if token is None:
        raise Unauthenticated("Vui lòng đăng nhập.")
    # A password changed or reset, new roles or a deactivation end older sessions.
    claims = await live_session_claims(
        token, ctx.verifier, ctx.sessions,
        allowed=lambda claims: claims.role in set(Role) and "agency" in claims.extra,
        refused="Chỉ cán bộ của đơn vị mới dùng được chức năng này.",
    )  # fmt: skip
    listed = claims.extra.get("roles")
    roles = [r for r in listed if r in set(Role)] if isinstance(listed, list) else []
    return Officer(
        id=uuid.UUID(claims.subject),
        name=str(claims.extra.get("name", "")),
        role=Role(claims.role),
        agency_code=str(claims.extra["agency"]),
        roles=frozenset(Role(r) for r in roles) or frozenset({Role(claims.role)}),
        username=str(claims.extra.get("username", "")),
        must_change_password=claims.extra.get(MUST_CHANGE) is True,
    )


SignedInOfficer = Annotated[Officer, Depends(signed_in_officer)]


def current_officer(officer: SignedInOfficer) -> Officer:
    if officer.must_change_password:
        raise Forbidden(
            "Vui lòng đổi mật khẩu tạm thời trước khi dùng các chức năng khác.",
            type_="urn:dvc:password-change-required",
        )
    return officer


CurrentOfficer = Annotated[Officer, Depends(current_officer)]


def current_admin(officer: CurrentOfficer) -> Officer:
    if not officer.holds(Role.ADMIN):
        raise Forbidden("Chỉ quản trị viên được thực hiện thao tác này.")
    return officer


CurrentAdmin = Annotated[Officer, Depends(current_admin)]
