"""The National Public Service Portal's synchronisation endpoint, over HTTP.

OAuth2 client credentials: a token from `<url>/oauth/token`, kept until shortly before
it expires (or until the portal answers 401), then records posted to `<url>/hoso`, each
with its stable `MaBanGhi` also as the `Idempotency-Key` header. A failure is raised as
`SendFailed` with a reason fit for a metric label and a message fit for operators:
neither ever carries the record's content (the applicant's ID number is in it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

# Renewed this long before the portal says it expires, so no request carries a token
# that expires on the way.
_EXPIRY_MARGIN_SECONDS = 30.0


class SendFailed(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        # One of: timeout, transport, auth, refused (4xx), unavailable (5xx).
        self.reason = reason


@dataclass
class _Token:
    value: str
    expires_at: float


class NationalPortal:
    def __init__(
        self, url: str, client_id: str, client_secret: str, *, timeout: float = 10.0
    ) -> None:
        self._url = url.rstrip("/")
        self._credentials = (client_id, client_secret)
        self._client = httpx.AsyncClient(timeout=timeout)
        self._token: _Token | None = None
        self.tokens_fetched = 0

    async def close(self) -> None:
        await self._client.aclose()

    async def _bearer(self) -> str:
        if self._token is not None and time.monotonic() < self._token.expires_at:
            return self._token.value
        answer = await self._call(
            "POST",
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=self._credentials,
        )
        if answer.status_code != 200:
            raise SendFailed("auth", f"token endpoint answered {answer.status_code}")
        body = answer.json()
        lifetime = float(body.get("expires_in", 300))
        self._token = _Token(
            str(body["access_token"]),
            time.monotonic() + max(0.0, lifetime - min(_EXPIRY_MARGIN_SECONDS, lifetime / 2)),
        )
        self.tokens_fetched += 1
        return self._token.value

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client.request(method, f"{self._url}{path}", **kwargs)
        except httpx.TimeoutException:
            raise SendFailed("timeout", f"no answer from {path} in time") from None
        except httpx.TransportError as error:
            raise SendFailed("transport", f"{path}: {type(error).__name__}") from None

    async def send(self, record: dict[str, Any]) -> bool:
        """Deliver one record; True if the portal already had it (a duplicate)."""
        token = await self._bearer()
        answer = await self._call(
            "POST",
            "/hoso",
            json=record,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": record["MaBanGhi"]},
        )
        if answer.status_code == 401:
            # Revoked or expired early: the next attempt asks for a new one.
            self._token = None
            raise SendFailed("auth", "the portal refused the token (401)")
        if answer.status_code >= 500:
            raise SendFailed("unavailable", f"the portal answered {answer.status_code}")
        if answer.status_code >= 400:
            # Field names only: the portal's refusal may quote the values.
            fields = _fields(answer)
            raise SendFailed(
                "refused",
                f"the portal refused the record ({answer.status_code})"
                + (f": {', '.join(fields)}" if fields else ""),
            )
        return bool(_json(answer).get("duplicate", False))


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _fields(answer: httpx.Response) -> list[str]:
    errors = _json(answer).get("errors")
    if not isinstance(errors, list):
        return []
    return [str(e["field"])[:64] for e in errors if isinstance(e, dict) and "field" in e][:10]
