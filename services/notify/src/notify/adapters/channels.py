"""The ways a message leaves: email over SMTP, SMS through a provider.

Every sender raises `PermanentSendError` (domain.delivery) when trying again cannot help
(an invalid number, an address the server refuses) and `TransientSendError` when it may
(a timeout, a 4xx from the mail server, a gateway outage); only the latter is retried.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Protocol

import aiosmtplib
import httpx

from notify.domain.delivery import PermanentSendError, SendError, TransientSendError
from shared.db.sql import Runner, Sql


@dataclass(frozen=True)
class Receipt:
    reference: str | None = None
    # The (phone, text) the provider keeps in notify's own database (the development box),
    # written by `keep` in the transaction that records the attempt rather than in one of
    # its own, with the other attempts of the pass.
    kept: tuple[str, str] | None = None


VIETNAMESE_MOBILE = re.compile(r"^(?:0|\+84)(?:3|5|7|8|9)\d{8}$")


def check_phone(phone: str) -> str:
    """A Vietnamese mobile number, or PermanentSendError."""
    compact = phone.replace(" ", "").replace(".", "")
    if not VIETNAMESE_MOBILE.match(compact):
        raise PermanentSendError("not a Vietnamese mobile number")
    return compact


class EmailSender:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = False,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        # The sender's own domain qualifies the Message-IDs (RFC 5322 3.6.4).
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        self.starttls, self.user, self.password, self.timeout = starttls, user, password, timeout

    async def send(self, address: str, subject: str, body: str, *, reference: str) -> Receipt:
        """Send one e-mail. `reference` names the delivery: every attempt of a delivery
        carries the same Message-ID, so a copy that arrived from an attempt that seemed
        to fail (a timeout after the server took it) is the same message to the mail system."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = f"<{reference}@{self.domain}>"
        message.set_content(body)
        try:
            await aiosmtplib.send(
                message, hostname=self.host, port=self.port, start_tls=self.starttls,
                username=self.user, password=self.password, timeout=self.timeout,
            )  # fmt: skip
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [error.code for error in exc.recipients]
            if all(code >= 500 for code in codes):
                raise PermanentSendError(f"recipient refused ({codes})") from exc
            raise TransientSendError(f"recipient deferred ({codes})") from exc
        except aiosmtplib.SMTPResponseException as exc:
            kind = PermanentSendError if exc.code >= 500 else TransientSendError
            raise kind(f"SMTP {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientSendError(type(exc).__name__) from exc
        return Receipt(message.get("Message-ID"))


class SmsProvider(Protocol):
    """What an SMS gateway adapter offers: send one text to one Vietnamese mobile number."""

    name: str

    async def send(self, phone: str, text: str) -> Receipt: ...


class HttpSmsProvider:
    """A brand-name SMS gateway over HTTP.

    `POST <url>` with header `Authorization: Bearer <api key>` and JSON
    `{"to": "0912345678", "text": "...", "sender": "DICHVUCONG"}`. A 2xx answer means
    accepted, with `{"id": "..."}`; 4xx means refused for good (bad number, text refused);
    5xx, 429 and timeouts mean try again later.
    """

    name = "http"

    def __init__(self, url: str, api_key: str, sender: str, *, timeout: float = 15.0) -> None:
        self.url, self.api_key, self.sender, self.timeout = url, api_key, sender, timeout

    async def send(self, phone: str, text: str) -> Receipt:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.post(
                    self.url,
                    json={"to": check_phone(phone), "text": text, "sender": self.sender},
                    headers={"Authorization": f"Bearer {self.api_key}"},
                )
        except httpx.HTTPError as exc:
            raise TransientSendError(type(exc).__name__) from exc
        if answer.status_code == 429 or answer.status_code >= 500:
            raise TransientSendError(f"gateway {answer.status_code}")
        if answer.status_code >= 400:
            raise PermanentSendError(f"gateway {answer.status_code}")
        return Receipt(str(answer.json().get("id")) if answer.content else None)


class DevelopmentSmsProvider:
    """Records messages in the database instead of sending them (development only), with
    the attempt that sent them."""

    name = "development"

    async def send(self, phone: str, text: str) -> Receipt:
        return Receipt(kept=(check_phone(phone), text))


# Written once: the messages a pass's receipts keep, in one round trip.
_KEEP = Sql("INSERT INTO dev_sms (phone, text) VALUES ($1, $2)")


async def keep(on: Runner, receipts: Sequence[Receipt]) -> None:
    """What the receipts keep (the development box's messages), in the caller's
    transaction."""
    rows = [r.kept for r in receipts if r.kept is not None]
    if rows:
        await _KEEP.executemany(on, rows)


@dataclass
class ScriptedSmsProvider:
    """An SMS gateway that does what it is told: succeed, fail (transiently or for good),
    or answer slowly; it keeps what it accepted. For tests and outage rehearsals."""

    name = "scripted"
    fail: Callable[[str], SendError | None] = field(default=lambda _phone: None)
    delay: float = 0.0
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, phone: str, text: str) -> Receipt:
        if self.delay:
            await asyncio.sleep(self.delay)
        error = self.fail(check_phone(phone))
        if error is not None:
            raise error
        self.sent.append((phone, text))
        return Receipt(f"scripted-{len(self.sent)}")
