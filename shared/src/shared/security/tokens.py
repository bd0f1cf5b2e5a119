"""Access tokens: Ed25519-signed JWTs.

Intake issues citizens' tokens, workflow officers'. Each issuer publishes its public key
at `/.well-known/jwks.json`, so any service verifies a token offline; a verifier is
given the keys it trusts (its own issuer's, or those fetched from another's JWKS).

The signing key is derived from the service's `jwt_secret` (32 bytes of SHA-256 as the
Ed25519 seed): one secret to provision per issuer, stable across restarts and replicas.

Every token names its issuer (`iss`) and the APIs it is meant for (`aud`), and every
verifier checks both: a token is accepted only where its issuer meant it to be.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import APIRouter

from shared.security.jwks import RemoteKeySet

ALGORITHM = "EdDSA"
UNKNOWN_KEY = "unknown signing key"

# Who tokens are for: citizens' (issued by intake) for intake's API, officers' (issued by
# workflow) for workflow's and notify's.
CITIZEN_AUDIENCE = "dvc-citizens"
OFFICER_AUDIENCE = "dvc-officers"


class TokenError(Exception):
    """The token is missing, malformed, expired, or not signed by a trusted key."""


@dataclass(frozen=True)
class Claims:
    subject: str
    role: str
    issuer: str
    expires_at: datetime
    extra: dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class TokenIssuer:
    def __init__(
        self, secret: str, issuer: str, audience: str, ttl: timedelta = timedelta(hours=1)
    ) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(secret.encode()).digest())
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        public = _public_bytes(self._key.public_key())
        self.kid = hashlib.sha256(public).hexdigest()[:16]
        self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64(public), "kid": self.kid,
                    "alg": ALGORITHM, "use": "sig"}  # fmt: skip

    def issue(self, subject: str, role: str, **extra: Any) -> tuple[str, int]:
        """A token for `subject` and its lifetime in seconds."""
        now = datetime.now(UTC)
        claims = {
            "sub": subject,
            "role": role,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + self.ttl,
            "jti": uuid.uuid4().hex,
            **extra,
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})
        return token, int(self.ttl.total_seconds())

    def verifier(self) -> TokenVerifier:
        return TokenVerifier([self.jwk], issuer=self.issuer, audience=self.audience)


class TokenVerifier:
    """Verifies tokens against the keys it is given.

    A token verified once is remembered until it expires (at most `remember` of them, the
    oldest forgotten first): a citizen's session sends the same token with every request,
    and checking its signature again costs 0.2 ms of CPU for an answer that cannot change,
    the keys being fixed for the verifier's life. Only the exact token string is
    remembered, so a token altered in any byte is verified afresh.
    """

    def __init__(
        self,
        jwks: list[dict[str, Any]],
        *,
        issuer: str,
        audience: str,
        remember: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._remember = remember
        self._clock = clock
        self._verified: dict[str, Claims] = {}
        self._keys = {
            k["kid"]: Ed25519PublicKey.from_public_bytes(
                base64.urlsafe_b64decode(k["x"] + "=" * (-len(k["x"]) % 4))
            )
            for k in jwks
        }

    def verify(self, token: str) -> Claims:
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at.timestamp() > self._clock():
                return known
            del self._verified[token]
        claims = self._verify(token)
        if claims.expires_at.timestamp() <= self._clock():  # the same clock as remembered ones
            raise TokenError("Signature has expired")
        if len(self._verified) >= self._remember:
            del self._verified[next(iter(self._verified))]  # dicts keep insertion order
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> Claims:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._keys.get(kid)
            if key is None:
                raise TokenError(UNKNOWN_KEY)
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from exc
        standard = {"sub", "role", "iss", "aud", "iat", "exp", "jti"}
        return Claims(
            subject=payload["sub"],
            role=payload.get("role", ""),
            issuer=payload["iss"],
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            extra={k: v for k, v in payload.items() if k not in standard},
        )


class RemoteTokenVerifier:
    """Verifies another issuer's tokens by the keys it publishes at its JWKS URL, fetched
    and refreshed on an unknown key id by `RemoteKeySet` (`keys` given up front are
    trusted as well)."""

    def __init__(
        self,
        url: str | None,
        *,
        issuer: str,
        audience: str,
        keys: list[dict[str, Any]] | None = None,
        refresh_interval: timedelta = timedelta(seconds=30),
    ) -> None:
        self.url = url
        self.issuer = issuer
        self.audience = audience
        self._keys = RemoteKeySet(url, keys=keys, refresh_interval=refresh_interval)
        self._verifier = TokenVerifier(list(keys or []), issuer=issuer, audience=audience)

    async def verify(self, token: str) -> Claims:
        try:
            return self._verifier.verify(token)
        except TokenError as exc:
            if str(exc) != UNKNOWN_KEY or not await self._keys.refresh():
                raise
        self._verifier = TokenVerifier(self._keys.all(), issuer=self.issuer, audience=self.audience)
        return self._verifier.verify(token)


def jwks_router(issuer: TokenIssuer) -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, list[dict[str, str]]]:
        """The public keys that verify this service's tokens."""
        return {"keys": [issuer.jwk]}

    return router
