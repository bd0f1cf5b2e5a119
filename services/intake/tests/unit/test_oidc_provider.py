"""The provider's discovery document: kept, fetched once at a time, and a failure not
waited for again by every request behind it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intake.adapters import oidc
from intake.adapters.oidc import Metadata, OidcProvider, ProviderUnavailable

FOUND = Metadata(
    issuer="https://sso.example.vn", authorization_endpoint="https://sso.example.vn/auth",
    token_endpoint="https://sso.example.vn/token", jwks_uri="https://sso.example.vn/jwks",
)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(oidc.time, "monotonic", clock.monotonic)
    return clock


def provider(monkeypatch: pytest.MonkeyPatch, answers: list[Metadata | None]) -> list[int]:
    calls = [0]

    async def discover(_: OidcProvider) -> Metadata:
        answer = answers[min(calls[0], len(answers) - 1)]
        calls[0] += 1
        if answer is None:
            raise ProviderUnavailable("down")
        return answer

    monkeypatch.setattr(OidcProvider, "_discover", discover)
    return calls


def new() -> OidcProvider:
    return OidcProvider(
        "https://sso.example.vn", client_id="c", client_secret="s",
        metadata_ttl=timedelta(seconds=60),
    )  # fmt: skip


async def test_a_failed_discovery_is_not_tried_again_at_once(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    calls = provider(monkeypatch, [None, FOUND])
    rp = new()
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await rp.metadata()
    assert calls == [1]
    clock.now += oidc.FAILURE_BACKOFF_SECONDS + 1
    assert await rp.metadata() == FOUND
    assert calls == [2]


async def test_the_document_is_kept_and_a_stale_one_serves_while_the_provider_is_away(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    calls = provider(monkeypatch, [FOUND, None])
    rp = new()
    assert await rp.metadata() == FOUND
    clock.now += 30
    assert await rp.metadata() == FOUND
    assert calls == [1]  # kept within its lifetime
    clock.now += 60
    assert await rp.metadata() == FOUND  # fetched again, failed: the one held still serves
    assert await rp.metadata() == FOUND
    assert calls == [2]
