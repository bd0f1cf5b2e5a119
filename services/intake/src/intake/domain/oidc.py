"""Rules of the sign-in with the national identity (OpenID Connect), on plain data: the
PKCE challenge, where the browser may be sent back, what a verified ID token must say,
and the citizen it describes.

The signature, `iss`, `aud` and `exp` are checked where the token is decoded
(adapters/oidc.py); what is left to check here needs what this attempt stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from intake.domain import identity


class IdentityRefused(ValueError):
    """What the provider sent cannot sign anybody in; the message is the citizen's."""


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of `verifier` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def allowed_redirect(uri: str, allowed: list[str]) -> bool:
    """Only a page listed exactly: a prefix or a pattern would let a look-alike address
    (`https://portal.example.evil/`, `https://portal/..%2f`) receive a citizen's token."""
    return uri in allowed


def check_claims(claims: Mapping[str, Any], *, nonce: str, client_id: str) -> None:
    """The checks of OpenID Connect Core §3.1.3.7 left after the signature, `iss`, `aud`
    and `exp`: the nonce of this attempt (an ID token minted for another attempt, or
    replayed, is refused) and, when several audiences are named, that intake is the
    authorised party."""
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, nonce):
        raise IdentityRefused(
            "Kết quả xác thực không thuộc lần đăng nhập này. Vui lòng đăng nhập lại."
        )
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise IdentityRefused("Kết quả xác thực không dành cho cổng dịch vụ công này.")


@dataclass(frozen=True)
class NationalIdentity:
    subject: str
    id_number: str
    full_name: str
    date_of_birth: date | None
    phone: str | None


def identity_of(
    claims: Mapping[str, Any], *, id_number_claim: str, today: date
) -> NationalIdentity:
    """The citizen a verified ID token describes. The personal ID number is required; the
    name too (a created account carries it); birth date and phone are taken when valid."""
    subject = claims.get("sub")
    raw_number = claims.get(id_number_claim)
    try:
        if not isinstance(subject, str) or not subject or not isinstance(raw_number, str):
            raise ValueError
        id_number = identity.check_id_number(raw_number)
    except ValueError:
        raise IdentityRefused(
            "Tài khoản định danh điện tử không cung cấp số định danh cá nhân hợp lệ."
        ) from None
    raw_name = claims.get("name")
    name = (
        " ".join(unicodedata.normalize("NFC", raw_name).split())
        if isinstance(raw_name, str)
        else ""
    )
    if not name or any(c.isdigit() or not c.isprintable() for c in name):
        raise IdentityRefused("Tài khoản định danh điện tử không cung cấp họ và tên hợp lệ.")
    return NationalIdentity(
        subject=subject,
        id_number=id_number,
        full_name=name[:100],
        date_of_birth=_birth_date(claims.get("birthdate"), today),
        phone=_phone(claims.get("phone_number")),
    )


def _birth_date(value: Any, today: date) -> date | None:
    try:
        return identity.check_date_of_birth(date.fromisoformat(value), today)
    except (TypeError, ValueError):
        return None


def _phone(value: Any) -> str | None:
    try:
        return identity.normalise_phone(value) if isinstance(value, str) else None
    except ValueError:
        return None
