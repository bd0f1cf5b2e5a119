"""The national identity provider, as an OpenID Connect relying party talks to it: its
discovery document, the authorization URL, the code exchanged at the token endpoint
(client_secret_basic), and the ID token verified against the provider's JWKS.

The discovery document is kept for `metadata_ttl`; the keys by `RemoteKeySet`, fetched
again when an ID token names a key id not held yet (the provider rotated its keys).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from shared.security.jwks import RemoteKeySet

# Asymmetric signatures only: `none` and the HMAC family (keyed by the client secret,
# which a provider's JWKS would never hold) are never accepted.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")


FAILURE_BACKOFF_SECONDS = 5.0


class ProviderUnavailable(Exception):
    """The provider did not answer, or answered something that is not OpenID Connect."""


class ProviderRefused(Exception):
    """The token endpoint refused the code (used, expired, another verifier...)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class IdTokenInvalid(Exception):
    """The ID token is malformed, signed by no key of the provider, or not for us."""


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class OidcProvider:
    def __init__(
        self,
        issuer: str,
        *,
        client_id: str,
        client_secret: str,
        timeout: float = 5.0,
        metadata_ttl: timedelta = timedelta(hours=1),
        jwks_refresh_interval: timedelta = timedelta(seconds=30),
        leeway: timedelta = timedelta(seconds=60),
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self._timeout = timeout
        self._metadata_ttl = metadata_ttl.total_seconds()
        self._jwks_refresh_interval = jwks_refresh_interval
        self._leeway = leeway
        self._metadata: Metadata | None = None
        self._metadata_at = 0.0
        # After a failed discovery, requests are refused at once for a while instead of
        # each waiting its own timeout behind the lock.
        self._failed_at = -1e9
        self._keys: RemoteKeySet | None = None
        self._lock = asyncio.Lock()

    async def metadata(self) -> Metadata:
        """The discovery document, fetched at most once per `metadata_ttl`."""
        async with self._lock:
            now = time.monotonic()
            if self._metadata is None or now - self._metadata_at > self._metadata_ttl:
                if now - self._failed_at < FAILURE_BACKOFF_SECONDS:
                    if self._metadata is not None:
                        return self._metadata  # still the provider's, if older than wished
                    raise ProviderUnavailable("discovery failed a moment ago")
                try:
                    found = await self._discover()
                except ProviderUnavailable:
                    self._failed_at = time.monotonic()
                    if self._metadata is not None:
                        return self._metadata
                    raise
                if self._keys is None or self._keys.url != found.jwks_uri:
                    self._keys = RemoteKeySet(
                        found.jwks_uri,
                        refresh_interval=self._jwks_refresh_interval,
                        timeout=self._timeout,
                    )
                self._metadata, self._metadata_at = found, time.monotonic()
            return self._metadata

    async def _discover(self) -> Metadata:
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(url)
                response.raise_for_status()
                document = response.json()
            found = Metadata(
                issuer=document["issuer"],
                authorization_endpoint=document["authorization_endpoint"],
                token_endpoint=document["token_endpoint"],
                jwks_uri=document["jwks_uri"],
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise ProviderUnavailable(f"discovery failed: {exc}") from exc
        # OpenID Connect Discovery §4.3: the document must be the issuer's own.
        if found.issuer.rstrip("/") != self.issuer:
            raise ProviderUnavailable(f"discovery names another issuer: {found.issuer}")
        return found

    async def authorization_url(
        self, *, redirect_uri: str, scope: str, state: str, nonce: str, code_challenge: str
    ) -> str:
        endpoint = (await self.metadata()).authorization_endpoint
        query = urlencode({
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        })  # fmt: skip
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def exchange(self, *, code: str, redirect_uri: str, code_verifier: str) -> str:
        """The ID token the token endpoint gives for `code`."""
        endpoint = (await self.metadata()).token_endpoint
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(
                    endpoint, data=form, auth=(self.client_id, self._secret),
                    headers={"Accept": "application/json"},
                )  # fmt: skip
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"token endpoint: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"token endpoint answered {response.status_code}")
        if response.status_code == 400 and isinstance(body.get("error"), str):
            # RFC 6749 §5.2: the code or the request is at fault, not the provider.
            raise ProviderRefused(body["error"])
        token = body.get("id_token")
        if response.status_code != 200 or not isinstance(token, str):
            raise ProviderUnavailable(f"token endpoint answered {response.status_code}")
        return token

    async def verify_id_token(self, token: str) -> dict[str, Any]:
        """The claims of an ID token signed by one of the provider's keys, issued by it,
        for intake, and not expired."""
        issuer = (await self.metadata()).issuer
        assert self._keys is not None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise IdTokenInvalid(f"malformed: {exc}") from exc
        algorithm = header.get("alg")
        if algorithm not in SIGNING_ALGORITHMS:
            raise IdTokenInvalid(f"algorithm not accepted: {algorithm!r}")
        jwk = await self._keys.find(header.get("kid"))
        if jwk is None or jwk.get("use", "sig") != "sig":
            raise IdTokenInvalid("signed by no key the provider publishes")
        try:
            key = jwt.PyJWK(jwk, algorithm=algorithm)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.client_id,
                issuer=issuer,
                leeway=self._leeway,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except (jwt.PyJWTError, json.JSONDecodeError, ValueError) as exc:
            raise IdTokenInvalid(str(exc)) from exc
        return claims
