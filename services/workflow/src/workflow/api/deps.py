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

Ctx = Annotated[Context, Depends(context_of)]


def current_officer(ctx: Ctx, token: BearerToken) -> Officer:
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
    return Officer(
        id=uuid.UUID(claims.subject),
        name=str(claims.extra.get("name", "")),
        role=Role(claims.role),
        agency_code=str(claims.extra["agency"]),
    )


CurrentOfficer = Annotated[Officer, Depends(current_officer)]


def current_admin(officer: CurrentOfficer) -> Officer:
    if officer.role != Role.ADMIN:
        raise Forbidden("Chỉ quản trị viên được thực hiện thao tác này.")
    return officer


CurrentAdmin = Annotated[Officer, Depends(current_admin)]


def client_address(request: Request) -> str:
    """The caller's address, for sign-in limits (behind the trusted proxies, the client's)."""
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]
