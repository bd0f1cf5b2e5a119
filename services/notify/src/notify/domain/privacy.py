"""What operators may read of a message: addresses masked unless the reader is an
administrator, and a one-time code never, whoever reads."""

from __future__ import annotations

from shared.contracts import events as ev
from shared.contracts.envelope import EventData

OTP_MASK = "******"


def mask_phone(phone: str) -> str:
    return phone[:2] + "*" * max(len(phone) - 4, 0) + phone[-2:] if len(phone) > 4 else "****"


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask(address: str) -> str:
    return mask_email(address) if "@" in address else mask_phone(address)


def shown_address(address: str, *, full: bool) -> str:
    """The recipient as an operator sees it: in full for administrators, masked otherwise."""
    return address if full else mask(address)


def shown_body(data: EventData, body: str) -> str:
    """The message as operators may read it: the one-time code is sent, never shown."""
    if isinstance(data, ev.AccountOtpRequested):
        return body.replace(data.otp, OTP_MASK)
    return body
