"""Request dependencies shared by workflow's routers: the context and the signed-in officer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from shared.api.bearer import BearerToken
from shared.errors import Forbidden, Unauthenticated
from shared.runtime import context_of
from shared.security import TokenError
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
    try:
        claims = ctx.verifier.verify(token)
    except TokenError:
        raise Unauthenticated(
            "Phiên đăng nhập không hợp lệ hoặc đã hết hạn, vui lòng đăng nhập lại.",
        ) from None
    if claims.role not in set(Role) or "agency" not in claims.extra:
        raise Forbidden("Chỉ cán bộ của đơn vị mới dùng được chức năng này.")
    # A password changed or reset, new roles or a deactivation end older sessions.
    if not await ctx.sessions.valid(claims.subject, claims.extra):
        raise Unauthenticated("Phiên đăng nhập đã kết thúc, vui lòng đăng nhập lại.")
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


def client_address(request: Request) -> str:
    """The caller's address, for sign-in limits (behind the trusted proxies, the client's)."""
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]
