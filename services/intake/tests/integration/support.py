"""Building blocks of intake's integration tests: an active citizen with a token, a test
procedure with a known form and documents, multipart bodies, outbox reads, a registration
and sign-in from a chosen address."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import select

from intake.adapters.tables import accounts, agencies, procedures
from intake.domain.text import fold
from shared.contracts import Envelope
from shared.messaging.tables import outbox
from shared.security import CITIZEN_AUDIENCE, TokenIssuer
from shared.testing.service import ServiceUnderTest

PROCEDURE = "9.000001"
# The frame of a real PDF (header, cross-reference trailer) and a real 1x1 PNG: files are
# checked by their structure, not only by their first bytes.
PDF = b"%PDF-1.7\n" + b"0" * 2048 + b"\nstartxref\n9\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)

FORM_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ho_ten", "dia_chi"],
    "properties": {
        "ho_ten": {"type": "string", "title": "Họ và tên", "maxLength": 100},
        "dia_chi": {"type": "string", "title": "Địa chỉ tạm trú", "maxLength": 300},
        "ly_do": {"type": "string", "title": "Lý do", "maxLength": 300},
    },
}
DOCUMENTS = [
    {"code": "TP1", "name": "Tờ khai CT01", "required": True,
     "accepted_types": ["application/pdf"], "max_files": 2},
    {"code": "TP2", "name": "Ảnh giấy tờ chỗ ở", "required": False,
     "accepted_types": ["image/jpeg", "image/png"], "max_files": 1},
]  # fmt: skip
FORM = {"ho_ten": "Nguyễn Thị Bích", "dia_chi": "Tổ 5, phường Đức Xuân, thành phố Bắc Kạn"}


@dataclass(frozen=True)
class Citizen:
    account_id: uuid.UUID
    id_number: str
    phone: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def add_citizen(service: ServiceUnderTest, *, email: str | None = None) -> Citizen:
    """An active account made directly (registration has its own tests) and its token."""
    account_id = uuid.uuid4()
    id_number = f"{uuid.uuid4().int % 10**12:012d}"
    phone = f"09{uuid.uuid4().int % 10**8:08d}"
    async with service.runtime.db.transaction() as session:
        await session.execute(
            accounts.insert().values(
                id=account_id, id_number=id_number, full_name="Nguyễn Thị Bích",
                date_of_birth=date(1990, 5, 17), phone=phone, email=email,
                password_hash="not-used-here", status="active",
            )
        )  # fmt: skip
    issuer = TokenIssuer(
        service.runtime.settings.secret("jwt_secret"), issuer="intake", audience=CITIZEN_AUDIENCE
    )
    token, _ = issuer.issue(str(account_id), "citizen")
    return Citizen(account_id, id_number, phone, token)


async def add_test_procedure(
    service: ServiceUnderTest,
    *,
    online_level: str = "full",
    supplement_days: int | None = None,
    applicant_kinds: tuple[str, ...] = ("citizen", "proxy"),
    fee_vnd: int = 15000,
    fee_timing: str = "on_result",
) -> str:
    """A procedure with a known form and documents; returns a province agency's code."""
    async with service.runtime.db.transaction() as session:
        await session.execute(
            procedures.insert().values(
                code=PROCEDURE, name="Đăng ký tạm trú (thử nghiệm)", field="residence",
                online_level=online_level, authority_levels=["province", "district", "commune"],
                applicant_kinds=list(applicant_kinds), processing_days=3, fee_vnd=fee_vnd,
                fee_timing=fee_timing,
                cutoff_time="15:00", supplement_days=supplement_days,
                form_schema=FORM_SCHEMA, documents=DOCUMENTS, cases=[],
                search_text=fold("dang ky tam tru thu nghiem"), catalogue_version="test",
            )
        )  # fmt: skip
        return str(
            await session.scalar(
                select(agencies.c.code)
                .where(agencies.c.level == "province")
                .order_by(agencies.c.code)
            )
        )


def draft_body(agency_code: str, **changes: Any) -> dict[str, Any]:
    return {
        "procedure_code": PROCEDURE,
        "agency_code": agency_code,
        "form": FORM,
        "notify_via": ["sms"],
        "result_delivery": {"method": "online"},
        **changes,
    }


def file_part(
    content: bytes, filename: str = "to-khai.pdf", content_type: str = "application/pdf"
) -> Any:
    return ("file", (filename, content, content_type))


async def outbox_events(service: ServiceUnderTest, event_type: str) -> list[Envelope]:
    async with service.runtime.db.transaction() as session:
        rows = await session.execute(
            select(outbox.c.envelope).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
        )
        return [Envelope.model_validate(r) for r in rows.scalars()]


# --- accounts -----------------------------------------------------------------------------

ID_NUMBER = "001099012345"
PHONE = "0912345678"
PASSWORD = "matkhau2024"


def registration(**changes: Any) -> dict[str, Any]:
    return {
        "id_number": ID_NUMBER,
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1999-05-17",
        "phone": "+84912345678",
        "email": "an.nguyen@example.vn",
        "password": PASSWORD,
        **changes,
    }


async def otp_sent(service: ServiceUnderTest, account_id: str) -> dict[str, Any]:
    """The latest `account.otp_requested` of the account, as notify receives it."""
    events = [
        e.data
        for e in await outbox_events(service, "account.otp_requested")
        if e.data["account_id"] == account_id
    ]
    assert events, "no verification code was sent"
    return events[-1]


def other_than(otp: str) -> str:
    return f"{(int(otp) + 1) % 10**6:06d}"


def from_address(address: str | None) -> dict[str, str]:
    """Headers of a client at `address`, as the trusted proxy in front reports it."""
    return {"X-Forwarded-For": address} if address else {}


async def login(
    client: httpx.AsyncClient,
    password: str = PASSWORD,
    username: str = ID_NUMBER,
    *,
    address: str | None = None,
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token",
        data={"username": username, "password": password, "grant_type": "password"},
        headers=from_address(address),
    )


async def register_and_verify(service: ServiceUnderTest, client: httpx.AsyncClient) -> str:
    registered = await client.post("/api/v1/accounts", json=registration())
    assert registered.status_code == 201, registered.text
    account_id = str(registered.json()["id"])
    code = (await otp_sent(service, account_id))["otp"]
    verified = await client.post(
        "/api/v1/accounts/verify", json={"id_number": ID_NUMBER, "otp": code}
    )
    assert verified.status_code == 200, verified.text
    return account_id


async def until_refused(
    send: Callable[[], Awaitable[httpx.Response]], limit: int
) -> list[httpx.Response]:
    """Send until a 429; a fixed window may roll over once, so 2 × limit + 1 tries suffice."""
    answers = []
    for _ in range(2 * limit + 1):
        answers.append(await send())
        if answers[-1].status_code == 429:
            break
    return answers
