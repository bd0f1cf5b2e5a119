"""A verifier remembers the tokens it verified, and nothing else: an expired one is refused
though it passed before, an altered one is verified afresh, and memory is bounded."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from shared.security import CITIZEN_AUDIENCE, TokenError, TokenIssuer, TokenVerifier

ISSUER = TokenIssuer("s" * 32, issuer="intake", audience=CITIZEN_AUDIENCE, ttl=timedelta(hours=1))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _verifier(clock: Clock, remember: int = 10_000) -> TokenVerifier:
    return TokenVerifier(
        [ISSUER.jwk], issuer="intake", audience=CITIZEN_AUDIENCE, remember=remember, clock=clock
    )


def test_a_remembered_token_is_refused_once_it_has_expired() -> None:
    token, _ = ISSUER.issue("citizen-1", "citizen")
    clock = Clock(time.time())
    verifier = _verifier(clock)
    claims = verifier.verify(token)
    assert verifier.verify(token) == claims
    clock.now = claims.expires_at.timestamp() + 1
    with pytest.raises(TokenError):
        verifier.verify(token)


def test_a_token_altered_after_it_was_verified_is_refused() -> None:
    token, _ = ISSUER.issue("citizen-1", "citizen")
    verifier = _verifier(Clock(time.time()))
    verifier.verify(token)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(TokenError):
        verifier.verify(f"{header}.{payload}.{flipped}")
    other, _ = TokenIssuer("o" * 32, issuer="intake", audience=CITIZEN_AUDIENCE).issue(
        "citizen-1", "citizen"
    )
    with pytest.raises(TokenError):
        verifier.verify(other)


def test_memory_is_bounded_and_the_forgotten_are_verified_again() -> None:
    verifier = _verifier(Clock(time.time()), remember=3)
    tokens = [ISSUER.issue(f"citizen-{i}", "citizen")[0] for i in range(5)]
    for token in tokens:
        verifier.verify(token)
    assert len(verifier._verified) == 3
    assert [verifier.verify(t).subject for t in tokens] == [f"citizen-{i}" for i in range(5)]
