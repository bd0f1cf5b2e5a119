"""Request dependencies of notify's routers: the context and the signed-in operator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from notify.services.access import Reader
from notify.services.context import Context
from shared.api.bearer import BearerToken
from shared.errors import Forbidden, Unauthenticated
from shared.runtime import context_of
from shared.security import TokenError

OFFICER_ROLES = {"receiver", "processor", "approver", "admin"}


Ctx = Annotated[Context, Depends(context_of)]


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    role: str
    agency_code: str

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def reader(self) -> Reader:
        return Reader(self.agency_code, self.admin)


async def current_operator(ctx: Ctx, token: BearerToken) -> Operator:
    """An officer signed in with workflow (notify trusts workflow's published keys)."""
    if token is None:
        raise Unauthenticated("Vui lòng đăng nhập.")
    try:
        claims = await ctx.officers.verify(token)
    except TokenError:
        raise Unauthenticated("Phiên đăng nhập không hợp lệ hoặc đã hết hạn.") from None
    agency = claims.extra.get("agency")
    # What an officer may read follows from their agency: a token without one reads nothing.
    if claims.role not in OFFICER_ROLES or not isinstance(agency, str) or not agency:
        raise Forbidden("Chỉ cán bộ của đơn vị mới xem được thông báo.")
    return Operator(claims.subject, str(claims.extra.get("name", "")), claims.role, agency)


CurrentOperator = Annotated[Operator, Depends(current_operator)]


def current_admin(operator: CurrentOperator) -> Operator:
    if not operator.admin:
        raise Forbidden("Chỉ quản trị viên được thực hiện thao tác này.")
    return operator


CurrentAdmin = Annotated[Operator, Depends(current_admin)]
