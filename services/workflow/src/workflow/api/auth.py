"""workflow API: officers sign in."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Response
from pydantic import BaseModel, ConfigDict, Field

from shared.api.openapi import problem_responses
from workflow.api.deps import ClientAddress, Ctx, SignedInOfficer
from workflow.services import officers

router = APIRouter(tags=["auth"])


class TokenRead(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    must_change_password: bool = Field(
        False, description="A temporary password: the token opens only `POST /auth/password`."
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(
        min_length=1, max_length=256,
        description="Ít nhất 10 ký tự, có cả chữ cái và chữ số, không chứa tên đăng nhập.",
    )  # fmt: skip


@router.post("/auth/token", response_model=TokenRead, responses=problem_responses(401, 423, 429))
async def token(
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    ctx: Ctx,
    address: ClientAddress,
    response: Response,
    # OAuth2 clients send it; the pattern is all there is to check about it.
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,  # noqa: ARG001
) -> dict[str, Any]:
    """Sign in with username and password (OAuth2 password form) for an officer token."""
    answer = await officers.sign_in(ctx, username, password, address)
    # RFC 6749 §5.1: a token answer must not be cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return answer


@router.post("/auth/password", response_model=TokenRead, responses=problem_responses(423, 429))
async def change_password(
    body: PasswordChange,
    ctx: Ctx,
    officer: SignedInOfficer,
    address: ClientAddress,
    response: Response,
) -> dict[str, Any]:
    """The signed-in officer's new password (also the temporary one's replacement): every
    other session ends; the token answered goes on with this one."""
    answer = await officers.change_password(
        ctx, officer, body.current_password, body.new_password, address
    )
    response.headers["Cache-Control"] = "no-store"
    return answer
