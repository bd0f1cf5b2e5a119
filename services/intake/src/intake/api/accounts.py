"""intake API: citizen accounts (registration, phone verification, sign-in, unlocking,
profile)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Form, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field, field_validator

from intake.api.deps import ClientAddress, Ctx, CurrentCitizen, IdempotencyKey, replayable
from intake.api.schemas import Strict
from intake.domain import identity
from intake.domain.statuses import AccountStatus
from intake.services import accounts
from intake.services.limits import (
    HOUR,
    MINUTE,
    code_guessed,
    code_requested,
    codes_sent,
    hit,
)
from shared.api.openapi import problem_responses
from shared.contracts.events import VIETNAM

router = APIRouter(tags=["accounts"])


# A password the citizen chooses (registering, resetting, changing): the rules of
# `identity.check_password`, the same wherever one is chosen.
NewPassword = Annotated[
    str,
    Field(
        max_length=identity.PASSWORD_MAX_LENGTH,
        description="Ít nhất 8 ký tự, có cả chữ cái và chữ số.",
    ),
    AfterValidator(identity.check_password),
]


class _WithIdNumber(Strict):
    id_number: str = Field(
        max_length=32, description="Số định danh cá nhân (số CCCD), 12 chữ số.",
        examples=["001099012345"],
    )  # fmt: skip

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str) -> str:
        return identity.check_id_number(value)


class AccountCreate(_WithIdNumber):
    full_name: str = Field(max_length=100, examples=["Nguyễn Văn An"])
    date_of_birth: date = Field(examples=["1999-05-17"])
    phone: str = Field(max_length=20, examples=["0912345678"])
    email: str | None = Field(None, max_length=254, examples=["nguyenvanan@example.vn"])
    password: NewPassword

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value: str) -> str:
        # Phones and some keyboards send decomposed Vietnamese: store one spelling.
        name = " ".join(unicodedata.normalize("NFC", value).split())
        if not name:
            raise ValueError("Vui lòng nhập họ và tên.")
        if any(c.isdigit() or not c.isprintable() for c in name):
            raise ValueError("Họ và tên không được chứa chữ số hoặc ký tự điều khiển.")
        return name

    @field_validator("date_of_birth")
    @classmethod
    def _date_of_birth(cls, value: date) -> date:
        return identity.check_date_of_birth(value, datetime.now(VIETNAM).date())

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return identity.normalise_phone(value)

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if not isinstance(value, str):
            return value
        try:
            return validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError("Địa chỉ email không hợp lệ.") from None


class WarningRead(BaseModel):
    field: str
    message: str


class RegistrationRead(BaseModel):
    id: str
    status: Literal[AccountStatus.PENDING]
    warnings: list[WarningRead] = Field(
        description="Điểm cần kiểm tra lại; không ngăn việc đăng ký."
    )


class AccountVerify(_WithIdNumber):
    otp: str = Field(pattern=r"^[0-9]{6}$", examples=["123456"])


class VerificationRead(BaseModel):
    status: Literal[AccountStatus.ACTIVE]


class OtpRequest(_WithIdNumber):
    pass


class OtpRequestRead(BaseModel):
    detail: str


class UnlockConfirm(AccountVerify):
    pass


class UnlockRead(BaseModel):
    detail: str


class PasswordResetConfirm(AccountVerify):
    new_password: NewPassword


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=identity.PASSWORD_MAX_LENGTH)
    new_password: NewPassword


class PasswordResetRead(BaseModel):
    detail: str


class TokenRead(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int


class AccountRead(BaseModel):
    id: str
    id_number: str
    full_name: str
    date_of_birth: date
    phone: str
    email: str | None
    status: AccountStatus
    created_at: datetime


@router.post(
    "/accounts", status_code=201, response_model=RegistrationRead,
    responses=problem_responses(429),
)  # fmt: skip
async def register(
    body: AccountCreate, ctx: Ctx, address: ClientAddress, key: IdempotencyKey = None
) -> JSONResponse:
    """Register with the citizen ID number; a verification code goes to the phone by SMS."""
    limits = ctx.settings
    await hit(ctx, f"register-ip:{address}", limits.limit_register_per_ip_hour, HOUR)
    await codes_sent(ctx, body.id_number)
    answer = await accounts.register(ctx, accounts.Registration(**body.model_dump()), key)
    return replayable(answer)


@router.post(
    "/accounts/verify", response_model=VerificationRead, responses=problem_responses(410, 429)
)
async def verify(body: AccountVerify, ctx: Ctx, address: ClientAddress) -> dict[str, str]:
    """Activate the account with the code received by SMS."""
    await code_guessed(ctx, body.id_number, address)
    await accounts.verify(ctx, body.id_number, body.otp)
    return {"status": AccountStatus.ACTIVE}


@router.post(
    "/accounts/otp", status_code=202, response_model=OtpRequestRead,
    responses=problem_responses(429),
)  # fmt: skip
async def resend_otp(body: OtpRequest, ctx: Ctx, address: ClientAddress) -> dict[str, str]:
    """Send a new verification code; the same answer whether or not the account exists."""
    await code_requested(ctx, body.id_number, address)
    await accounts.resend_otp(ctx, body.id_number)
    return {
        "detail": "Nếu số định danh đã đăng ký và chưa xác thực, mã xác thực mới đã được gửi "
        "tới số điện thoại đã khai."
    }


@router.post(
    "/accounts/unlock", status_code=202, response_model=OtpRequestRead,
    responses=problem_responses(429),
)  # fmt: skip
async def request_unlock(body: OtpRequest, ctx: Ctx, address: ClientAddress) -> dict[str, str]:
    """Send a code that unlocks the account to its verified phone; the same answer whether
    or not the account exists."""
    await code_requested(ctx, body.id_number, address)
    await accounts.request_unlock(ctx, body.id_number)
    return {
        "detail": "Nếu số định danh có tài khoản đã xác thực, mã mở khóa đã được gửi tới số "
        "điện thoại của tài khoản."
    }


@router.post(
    "/accounts/unlock/confirm", response_model=UnlockRead,
    responses=problem_responses(410, 429),
)  # fmt: skip
async def unlock(body: UnlockConfirm, ctx: Ctx, address: ClientAddress) -> dict[str, str]:
    """Lift the lockout caused by wrong passwords with the code received by SMS."""
    await code_guessed(ctx, body.id_number, address)
    await accounts.unlock(ctx, body.id_number, body.otp, address)
    return {"detail": "Tài khoản đã được mở khóa, vui lòng đăng nhập."}


@router.post(
    "/accounts/password-reset", status_code=202, response_model=OtpRequestRead,
    responses=problem_responses(429),
)  # fmt: skip
async def request_password_reset(
    body: OtpRequest, ctx: Ctx, address: ClientAddress
) -> dict[str, str]:
    """Send a code to choose a new password to the account's verified phone; the same
    answer, in the same time, whether or not the account exists."""
    await code_requested(ctx, body.id_number, address)
    await accounts.request_password_reset(ctx, body.id_number)
    return {
        "detail": "Nếu số định danh có tài khoản đã xác thực, mã đặt lại mật khẩu đã được gửi "
        "tới số điện thoại của tài khoản."
    }


@router.post(
    "/accounts/password-reset/confirm", response_model=PasswordResetRead,
    responses=problem_responses(410, 429),
)  # fmt: skip
async def reset_password(
    body: PasswordResetConfirm, ctx: Ctx, address: ClientAddress
) -> dict[str, str]:
    """Choose a new password with the code received by SMS; every session of the account
    ends, and a notice goes to the phone (and e-mail)."""
    await code_guessed(ctx, body.id_number, address)
    await accounts.reset_password(ctx, body.id_number, body.otp, body.new_password, address)
    return {"detail": "Mật khẩu đã được đặt lại, vui lòng đăng nhập bằng mật khẩu mới."}


@router.post("/accounts/password", response_model=TokenRead, responses=problem_responses(423, 429))
async def change_password(
    body: PasswordChange,
    ctx: Ctx,
    citizen: CurrentCitizen,
    address: ClientAddress,
    response: Response,
) -> dict[str, Any]:
    """The signed-in citizen's new password: every other session ends; the token answered
    goes on with this one, and a notice goes to the phone (and e-mail)."""
    access_token, expires_in = await accounts.change_password(
        ctx, citizen.account_id, body.current_password, body.new_password, address
    )
    response.headers["Cache-Control"] = "no-store"
    return {"access_token": access_token, "token_type": "bearer", "expires_in": expires_in}


@router.post(
    "/auth/token", response_model=TokenRead, responses=problem_responses(401, 403, 423, 429)
)
async def token(
    username: Annotated[str, Form(max_length=32, description="Số định danh cá nhân")],
    password: Annotated[str, Form(max_length=identity.PASSWORD_MAX_LENGTH)],
    ctx: Ctx,
    address: ClientAddress,
    response: Response,
    # OAuth2 clients send it; the pattern is all there is to check about it.
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,  # noqa: ARG001
) -> dict[str, Any]:
    """Sign in with the ID number and password (OAuth2 password form) for a citizen token."""
    # Wrong passwords lock per address and, far higher, in all (services/lockout.py): no
    # limit per account here, which anyone could use to keep its owner out.
    await hit(ctx, f"login-ip:{address}", ctx.settings.limit_login_per_ip_minute, MINUTE)
    access_token, expires_in = await accounts.authenticate(ctx, username, password, address)
    # RFC 6749 §5.1: a token answer must not be cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return {"access_token": access_token, "token_type": "bearer", "expires_in": expires_in}


@router.get("/accounts/me", response_model=AccountRead, responses=problem_responses(404))
async def me(ctx: Ctx, citizen: CurrentCitizen) -> dict[str, Any]:
    """The signed-in citizen's own profile, unmasked, to prefill declarations."""
    return await accounts.profile(ctx, citizen.account_id)
