"""What the journeys do and read, over HTTP only, as the portal, the officers' console, an
operator and a dashboard would: the citizen's account and dossier at intake, the officers'
actions at workflow, the deliveries at notify (the development SMS box and the officers'
list), the report at stats; the e-mails as the SMTP server received them."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage, Message
from typing import Any

import httpx

from shared.contracts.events import VIETNAM
from shared.testing.infra import eventually
from shared.testing.oidc import ProviderAccount, through_provider
from shared.testing.processes import ServiceProcess
from shared.testing.smtp import Mailbox

PASSWORD = "Soc-Trang-2026-an"
OFFICER_PASSWORD = "demo-officer-2026"  # the demo officers' (workflow, development only)
# A real PDF's frame and a real 1x1 PNG: intake checks what a file is, not its name.
PDF = b"%PDF-1.7\n" + b"0" * 2048 + b"\nstartxref\n9\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
WAIT = 45.0  # seconds for an effect to cross the broker (generous: a shared 2-core machine)


async def get(url: str, path: str, **kwargs: Any) -> httpx.Response:
    """One GET of `path` at the service at `url`, on a connection of its own."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        return await client.get(path, **kwargs)


async def post(url: str, path: str, **kwargs: Any) -> httpx.Response:
    """One POST of `path` at the service at `url`, on a connection of its own."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        return await client.post(path, **kwargs)


async def signed_in_with_vneid(
    browser: httpx.AsyncClient, account: ProviderAccount
) -> dict[str, str]:
    """The headers of a citizen signed in at intake (`browser`'s base) through the national
    identity's stand-in, its login and consent forms, as `account`."""
    start = await browser.get("/api/v1/auth/oidc/login")
    back = await through_provider(browser, start, account)
    signed_in = await browser.get(back)
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


async def submit_online(
    browser: httpx.AsyncClient, citizen: dict[str, str], draft: dict[str, Any]
) -> str:
    """The code of `draft` once created and submitted by `citizen` at intake."""
    drafted = await browser.post("/api/v1/dossiers", headers=citizen, json=draft)
    assert drafted.status_code == 201, drafted.text
    submitted = await browser.post(
        f"/api/v1/dossiers/{drafted.json()['id']}/submit", headers=citizen,
        json={"commitment": True},
    )  # fmt: skip
    assert submitted.status_code == 200, submitted.text
    return str(submitted.json()["code"])


def today() -> date:
    return datetime.now(UTC).astimezone(VIETNAM).date()


def local_date(at: datetime) -> str:
    return at.astimezone(VIETNAM).strftime("%d/%m/%Y")


@dataclass
class Citizen:
    id_number: str
    full_name: str
    phone: str
    email: str
    headers: dict[str, str]


@dataclass
class Portal:
    """The four services and the mail relay, and the officers' tokens once signed in."""

    stack: dict[str, ServiceProcess]
    mailbox: Mailbox
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    # The tokens shown to notify, kept apart: taken once from workflow on the true clock,
    # they stay valid for notify whatever clock workflow runs on later.
    readers: dict[str, dict[str, str]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return self.stack[service].url

    async def call(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url(service), timeout=20) as client:
            return await client.request(method, path, **kwargs)

    async def ok(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        answer = await self.call(service, method, path, **kwargs)
        assert answer.status_code in (200, 201), f"{method} {path}: {answer.text}"
        return answer.json()

    # Officers -------------------------------------------------------------------------

    async def sign_in(self, username: str) -> dict[str, str]:
        answer = await self.ok(
            "workflow", "POST", "/api/v1/auth/token",
            data={"username": username, "password": OFFICER_PASSWORD},
        )  # fmt: skip
        return {"Authorization": f"Bearer {answer['access_token']}"}

    async def officer(self, username: str) -> dict[str, str]:
        """The officer's token for workflow."""
        if username not in self.tokens:
            self.tokens[username] = await self.sign_in(username)
        return self.tokens[username]

    async def reader(self, username: str) -> dict[str, str]:
        """The officer's token for notify."""
        if username not in self.readers:
            self.readers[username] = await self.sign_in(username)
        return self.readers[username]

    async def act(
        self, username: str, code: str, action: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One of the officers' actions on a dossier, with its Idempotency-Key."""
        headers = {**await self.officer(username), "Idempotency-Key": uuid.uuid4().hex}
        result: dict[str, Any] = await self.ok(
            "workflow", "POST", f"/api/v1/dossiers/{code}/{action}", headers=headers, json=body
        )
        return result

    async def case(self, username: str, code: str) -> dict[str, Any]:
        """The officer's view of the dossier."""
        headers = await self.officer(username)
        result: dict[str, Any] = await self.ok(
            "workflow", "GET", f"/api/v1/dossiers/{code}", headers=headers
        )
        return result

    async def arrived(self, username: str, code: str) -> dict[str, Any]:
        async def seen() -> dict[str, Any] | None:
            headers = await self.officer(username)
            answer = await self.call("workflow", "GET", f"/api/v1/dossiers/{code}", headers=headers)
            return answer.json() if answer.status_code == 200 else None

        return await eventually(seen, timeout=WAIT, what=f"{code} at the officers'")

    async def case_status(self, username: str, code: str, status: str) -> dict[str, Any]:
        async def there() -> dict[str, Any] | None:
            case = await self.case(username, code)
            return case if case["status"] == status else None

        return await eventually(there, timeout=WAIT, what=f"{code} {status} at the officers'")

    # Citizens -------------------------------------------------------------------------

    async def citizen(self, full_name: str) -> Citizen:
        """Registered with phone and e-mail, verified by the code that came by SMS."""
        number = uuid.uuid4().int
        id_number = f"0941900{number % 10**5:05d}"
        phone = f"09{number // 10**5 % 10**8:08d}"
        email = f"cd{number % 10**9}@thu.example.vn"
        await self.ok("intake", "POST", "/api/v1/accounts", json={
            "id_number": id_number, "full_name": full_name, "date_of_birth": "1990-05-17",
            "phone": phone, "email": email, "password": PASSWORD,
        })  # fmt: skip

        async def otp() -> str | None:
            found = [re.search(r"\b(\d{6})\b", text) for text in await self.sms(phone)]
            return next((m.group(1) for m in found if m), None)

        code = await eventually(otp, timeout=WAIT, what="the one-time code by SMS")
        verified = await self.ok("intake", "POST", "/api/v1/accounts/verify",
                                 json={"id_number": id_number, "otp": code})  # fmt: skip
        assert verified["status"] == "active"
        token = await self.ok("intake", "POST", "/api/v1/auth/token",
                              data={"username": id_number, "password": PASSWORD})  # fmt: skip
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        return Citizen(id_number, full_name, phone, email, headers)

    async def submit(
        self,
        citizen: Citizen,
        *,
        procedure: str,
        agency: str,
        form: dict[str, Any],
        notify_via: list[str],
        files: list[tuple[str, str, bytes, str]] = (),  # type: ignore[assignment]
        case_code: str | None = None,
    ) -> dict[str, Any]:
        """Draft, attachments (document code, name, bytes, type), commitment, submit."""
        draft = await self.ok("intake", "POST", "/api/v1/dossiers", headers=citizen.headers, json={
            "procedure_code": procedure, "agency_code": agency, "case_code": case_code,
            "form": form, "notify_via": notify_via,
            "result_delivery": {"method": "online"},
        })  # fmt: skip
        for document, name, content, media in files:
            attached = await self.ok(
                "intake", "POST", f"/api/v1/dossiers/{draft['id']}/attachments",
                headers=citizen.headers, data={"document_code": document},
                files={"file": (name, content, media)},
            )  # fmt: skip
            assert attached["size"] == len(content)
        submitted: dict[str, Any] = await self.ok(
            "intake", "POST", f"/api/v1/dossiers/{draft['id']}/submit",
            headers={**citizen.headers, "Idempotency-Key": uuid.uuid4().hex},
            json={"commitment": True},
        )  # fmt: skip
        assert submitted["status"] == "submitted"
        return submitted

    async def own(self, citizen: Citizen, code: str) -> dict[str, Any]:
        """The owner's view, timeline included."""
        result: dict[str, Any] = await self.ok(
            "intake", "GET", f"/api/v1/dossiers/{code}", headers=citizen.headers
        )
        return result

    async def tracked(self, code: str, status: str) -> dict[str, Any]:
        """The public tracking page once it shows `status`."""

        async def shows() -> dict[str, Any] | None:
            public: dict[str, Any] = await self.ok("intake", "GET", f"/api/v1/tracking/{code}")
            return public if public["status"] == status else None

        return await eventually(shows, timeout=WAIT, what=f"the tracking of {code}: {status}")

    async def timeline(self, citizen: Citizen, code: str, *statuses: str) -> list[dict[str, Any]]:
        """The owner's timeline once it has an entry of each of `statuses`."""

        async def complete() -> list[dict[str, Any]] | None:
            entries: list[dict[str, Any]] = (await self.own(citizen, code))["timeline"]
            return entries if set(statuses) <= {e["status"] for e in entries} else None

        return await eventually(complete, timeout=WAIT, what=f"{code}'s timeline: {statuses}")

    # What was sent --------------------------------------------------------------------

    async def sms(self, phone: str) -> list[str]:
        """The texts the development SMS provider sent to `phone`, oldest first."""
        headers = await self.reader("st.quantri")  # any officer reads the development box
        answer = await self.ok(
            "notify", "GET", "/api/v1/dev/sms", params={"phone": phone, "limit": 200},
            headers=headers,
        )  # fmt: skip
        return [m["text"] for m in reversed(answer["items"])]

    async def sms_about(self, phone: str, code: str, *fragments: str) -> list[str]:
        """The texts about dossier `code` to `phone` once one contains each fragment."""

        seen: list[str] = []

        async def arrived() -> list[str] | None:
            seen[:] = [t for t in await self.sms(phone) if code in t]
            return seen if all(any(f in t for t in seen) for f in fragments) else None

        try:
            return await eventually(arrived, timeout=WAIT, what=f"SMS to {phone}: {fragments}")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; the texts about {code}: {seen}") from None

    async def mail_about(self, address: str, code: str, *subjects: str) -> list[Message]:
        """The e-mails about `code` to `address` once there is one of each subject part."""

        seen: list[Message] = []

        async def arrived() -> list[Message] | None:
            seen[:] = [m for m in self.mailbox.to(address) if code in str(m["Subject"])]
            found = all(any(s in str(m["Subject"]) for m in seen) for s in subjects)
            return seen if found else None

        try:
            return await eventually(arrived, timeout=WAIT, what=f"mail to {address}: {subjects}")
        except TimeoutError as exc:
            titles = [str(m["Subject"]) for m in seen]
            raise AssertionError(f"{exc}; the subjects about {code}: {titles}") from None

    async def deliveries(self, username: str, code: str) -> list[dict[str, Any]]:
        """notify's deliveries of the dossier, as an admin of its agency (or one above)
        reads them: addresses in full (others read them masked)."""
        answer = await self.ok(
            "notify", "GET", "/api/v1/notifications",
            params={"dossier_code": code, "limit": 200}, headers=await self.reader(username),
        )  # fmt: skip
        items: list[dict[str, Any]] = answer["items"]
        return items

    # The report -----------------------------------------------------------------------

    async def report_row(
        self, agency: str, procedure: str, start: date, end: date | None = None
    ) -> dict[str, Any]:
        """The processing report's row of `procedure` in `agency` for the period."""
        report = await self.ok("stats", "GET", "/api/v1/reports/processing", params={
            "from": start.isoformat(), "to": (end or start).isoformat(),
            "group_by": "procedure", "agency_code": agency,
        })  # fmt: skip
        rows = [r for r in report["rows"] if r["key"] == procedure]
        return rows[0] if rows else {}

    async def counted(
        self, agency: str, procedure: str, expected: dict[str, int], end: date | None = None
    ) -> dict[str, Any]:
        """The row once each of its `expected` columns has the expected value."""

        async def there() -> dict[str, Any] | None:
            row = await self.report_row(agency, procedure, today(), end)
            return row if row and all(row[k] == v for k, v in expected.items()) else None

        return await eventually(there, timeout=WAIT, what=f"{procedure} in the report: {expected}")


def text_of(message: Message) -> str:
    """A mail's plain-text body (parsed with the default policy: an EmailMessage)."""
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    return str(body.get_content()) if body is not None else ""


def columns(row: dict[str, Any]) -> dict[str, int]:
    """The row's counts that are not zero (the report's columns only)."""
    names = (
        "carried_over_in_time", "carried_over_overdue", "carried_over_awaiting_supplement",
        "received", "received_online", "received_direct", "total", "resolved",
        "resolved_early", "resolved_on_time", "resolved_late", "in_progress_in_time",
        "in_progress_overdue", "awaiting_supplement", "awaiting_fee", "stopped",
        "returned_rejected", "withdrawn",
    )  # fmt: skip
    return {name: row[name] for name in names if row[name]}
