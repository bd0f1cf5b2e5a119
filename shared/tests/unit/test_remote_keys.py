"""Tokens of another issuer are verified by the keys it publishes, fetched when needed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from shared.security import (
    CITIZEN_AUDIENCE,
    OFFICER_AUDIENCE,
    RemoteTokenVerifier,
    TokenError,
    TokenIssuer,
)


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, list[int], TokenIssuer]]:
    """A real HTTP server publishing an issuer's keys, counting the requests it gets."""
    issuer = TokenIssuer("workflow-secret-for-tests", issuer="workflow", audience=OFFICER_AUDIENCE)
    hits: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(1)
            body = json.dumps({"keys": [issuer.jwk]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json", hits, issuer
    server.shutdown()


async def test_keys_are_fetched_once_and_verify_the_issuers_tokens(
    jwks_server: tuple[str, list[int], TokenIssuer],
) -> None:
    url, hits, issuer = jwks_server
    verifier = RemoteTokenVerifier(url, issuer="workflow", audience=OFFICER_AUDIENCE)
    token, _ = issuer.issue("officer-1", "admin", agency="H05")
    for _ in range(3):
        claims = await verifier.verify(token)
    assert (claims.subject, claims.role, claims.extra["agency"]) == ("officer-1", "admin", "H05")
    assert len(hits) == 1


async def test_a_forged_token_does_not_make_the_verifier_hammer_the_issuer(
    jwks_server: tuple[str, list[int], TokenIssuer],
) -> None:
    url, hits, _ = jwks_server
    verifier = RemoteTokenVerifier(url, issuer="workflow", audience=OFFICER_AUDIENCE)
    forger = TokenIssuer("someone-else", issuer="workflow", audience=OFFICER_AUDIENCE)
    token, _ = forger.issue("officer-1", "admin")
    for _ in range(5):
        with pytest.raises(TokenError):
            await verifier.verify(token)
    assert len(hits) == 1


async def test_static_keys_need_no_issuer() -> None:
    issuer = TokenIssuer("secret", issuer="workflow", audience=OFFICER_AUDIENCE)
    verifier = RemoteTokenVerifier(
        None, issuer="workflow", audience=OFFICER_AUDIENCE, keys=[issuer.jwk]
    )
    token, _ = issuer.issue("o", "receiver")
    assert (await verifier.verify(token)).role == "receiver"


def test_a_token_is_taken_only_by_its_issuer_and_audience() -> None:
    officers = TokenIssuer("one-secret", issuer="workflow", audience=OFFICER_AUDIENCE)
    token, _ = officers.issue("officer-1", "receiver")
    assert officers.verifier().verify(token).subject == "officer-1"
    # The same key, another claimed issuer or audience: refused.
    other_issuer = TokenIssuer("one-secret", issuer="intake", audience=OFFICER_AUDIENCE)
    for_citizens = TokenIssuer("one-secret", issuer="workflow", audience=CITIZEN_AUDIENCE)
    for forged in (other_issuer.issue("x", "admin")[0], for_citizens.issue("x", "admin")[0]):
        with pytest.raises(TokenError):
            officers.verifier().verify(forged)
