"""intake API: sign-in with the national identity (VNeID, OpenID Connect).

`GET /auth/oidc/login` sends the browser to the provider; the provider sends it back to
`GET /auth/oidc/callback`, which answers intake's citizen token, in JSON or, when the
sign-in was started for a portal page, as a redirect to that page carrying the token in
the fragment (never sent to a server, kept out of logs and `Referer`). An existing
account found by the ID number is first linked by `POST /auth/oidc/link` with its
password, or with a code sent to the account's verified phone by `POST
/auth/oidc/link/otp`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from intake.api.accounts import TokenRead
from intake.api.deps import ClientAddress, Ctx
from intake.api.schemas import Strict
from intake.domain import identity
from intake.services import oidc
from intake.services.limits import MINUTE, codes_asked_from, hit
from shared.api.openapi import problem_responses

router = APIRouter(tags=["national identity"])

# Ties an attempt to the browser that started it; sent back only to these routes.
BROWSER_COOKIE = "dvc_oidc_browser"
COOKIE_PATH = "/api/v1/auth/oidc"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_BINDING = re.compile(r"[A-Za-z0-9_-]{32,128}")


async def browser_binding(request: Request) -> str | None:
    """The browser's binding cookie, if it is one intake could have set. Not a parameter
    of the API: a browser with a stale or garbled cookie gets a new one, not a refusal."""
    value = request.cookies.get(BROWSER_COOKIE)
    return value if value is not None and _BINDING.fullmatch(value) else None


Browser = Annotated[str | None, Depends(browser_binding)]


class SignedInRead(TokenRead):
    status: Literal["signed_in"]


class LinkRequiredRead(BaseModel):
    status: Literal["link_required"]
    link_ticket: str = Field(
        description="Gửi kèm mật khẩu, hoặc mã xác thực nhận qua POST "
        "/api/v1/auth/oidc/link/otp, tới POST /api/v1/auth/oidc/link."
    )
    expires_in: int
    detail: str


class LinkIn(Strict):
    # Exactly one proof, said in the schema too (oneOf: a text password, or a text code),
    # so that a client generated from it sends one.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": [name], "properties": {name: {"type": "string"}}}
                for name in ("password", "otp")
            ]
        },
    )

    link_ticket: str = Field(max_length=128)
    password: str | None = Field(None, max_length=identity.PASSWORD_MAX_LENGTH)
    otp: str | None = Field(
        None, pattern=r"^\d{6}$", description="Thay cho mật khẩu: mã gửi tới số điện thoại."
    )

    @model_validator(mode="after")
    def _one_proof(self) -> LinkIn:
        if (self.password is None) == (self.otp is None):
            raise ValueError("Vui lòng nhập mật khẩu hoặc mã xác thực (một trong hai).")
        return self


class LinkCodeIn(Strict):
    link_ticket: str = Field(max_length=128)


class LinkCodeRead(BaseModel):
    detail: str


_LINK_DETAIL = (
    "Số định danh này đã có tài khoản trên cổng dịch vụ công. Vui lòng nhập mật khẩu của "
    "tài khoản đó, hoặc mã xác thực gửi tới số điện thoại của tài khoản, để liên kết với "
    "tài khoản định danh điện tử."
)


@router.get(
    "/auth/oidc/login", status_code=302, response_class=RedirectResponse,
    responses={302: {"description": "Tới trang đăng nhập của hệ thống định danh điện tử."},
               **problem_responses(422, 429, 503)},
)  # fmt: skip
async def login(
    ctx: Ctx,
    address: ClientAddress,
    browser: Browser,
    redirect_uri: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    """Start the sign-in with the national identity: 302 to the provider. `redirect_uri`,
    one of the portal's pages in `INTAKE_OIDC_PORTAL_REDIRECT_URIS`, receives the token at
    the end; without it the callback answers JSON."""
    await hit(ctx, f"oidc-login-ip:{address}", ctx.settings.limit_oidc_login_per_ip_minute, MINUTE)
    # One binding per browser, kept across attempts: two tabs signing in both finish.
    browser = browser or oidc.new_browser_binding()
    to = await oidc.start(ctx, redirect_uri, browser)
    response = RedirectResponse(to, status_code=302, headers=_NO_STORE)
    response.set_cookie(
        BROWSER_COOKIE, browser, max_age=ctx.settings.oidc_attempt_seconds, path=COOKIE_PATH,
        httponly=True, samesite="lax", secure=ctx.settings.environment == "production",
    )  # fmt: skip
    return response


@router.get(
    "/auth/oidc/callback",
    response_model=SignedInRead | LinkRequiredRead,
    responses={303: {"description": "Về trang của cổng, mã truy cập trong phần `#`."},
               **problem_responses(400, 503)},
)  # fmt: skip
async def callback(
    ctx: Ctx,
    browser: Browser,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=256)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    iss: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    """End the sign-in: intake's citizen token, or a link ticket when the ID number
    already has an account whose password must be given first."""
    finished = await oidc.finish(
        ctx, oidc.Callback(state=state, code=code, error=error, issuer=iss, browser=browser)
    )
    outcome = finished.outcome
    if isinstance(outcome, oidc.SignedIn):
        body: dict[str, object] = {
            "status": "signed_in", "access_token": outcome.access_token,
            "token_type": "bearer", "expires_in": outcome.expires_in,
        }  # fmt: skip
    else:
        body = {
            "status": "link_required", "link_ticket": outcome.link_ticket,
            "expires_in": outcome.expires_in, "detail": _LINK_DETAIL,
        }  # fmt: skip
    if finished.portal_redirect is None:
        return JSONResponse(body, headers=_NO_STORE)
    fragment = urlencode({k: v for k, v in body.items() if k != "detail"})
    return RedirectResponse(f"{finished.portal_redirect}#{fragment}", 303, headers=_NO_STORE)


@router.post(
    "/auth/oidc/link", response_model=SignedInRead,
    responses=problem_responses(401, 403, 410, 423, 429),
)  # fmt: skip
async def link(
    body: LinkIn, ctx: Ctx, address: ClientAddress, response: Response
) -> dict[str, object]:
    """Link the existing account to the national identity with its password, or with the
    code sent to its phone; signed in."""
    if body.password is not None:
        # Counted with the password sign-ins of the address: the same guesses, the same limit.
        await hit(ctx, f"login-ip:{address}", ctx.settings.limit_login_per_ip_minute, MINUTE)
    signed_in = await oidc.link(
        ctx, body.link_ticket, address, password=body.password, otp=body.otp
    )
    response.headers.update(_NO_STORE)
    return {
        "status": "signed_in", "access_token": signed_in.access_token,
        "token_type": "bearer", "expires_in": signed_in.expires_in,
    }  # fmt: skip


@router.post(
    "/auth/oidc/link/otp", status_code=202, response_model=LinkCodeRead,
    responses=problem_responses(410, 429),
)  # fmt: skip
async def request_link_code(body: LinkCodeIn, ctx: Ctx, address: ClientAddress) -> dict[str, str]:
    """Send a code to the verified phone of the ticket's account, to link it without its
    password."""
    await codes_asked_from(ctx, address)
    await oidc.request_link_code(ctx, body.link_ticket)
    return {
        "detail": "Mã xác thực đã được gửi tới số điện thoại của tài khoản. Nhập mã để liên "
        "kết tài khoản với định danh điện tử."
    }
