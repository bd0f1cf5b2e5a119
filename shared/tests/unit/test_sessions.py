"""Session versions: a token of an older version is refused, read once per ttl."""

from __future__ import annotations

from shared.security.sessions import SessionVersions


class Accounts:
    def __init__(self) -> None:
        self.versions: dict[str, int | None] = {"a": 0}
        self.reads = 0

    async def load(self, subject: str) -> int | None:
        self.reads += 1
        return self.versions.get(subject)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_token_of_an_older_version_is_refused_once_the_ttl_has_passed() -> None:
    accounts, clock = Accounts(), Clock()
    sessions = SessionVersions(accounts.load, ttl=5, clock=clock)
    assert await sessions.valid("a", {"sv": 0})
    assert await sessions.valid("a", {})  # tokens from before versions count as 0
    assert accounts.reads == 1  # remembered
    accounts.versions["a"] = 1  # another replica changed the password
    assert await sessions.valid("a", {"sv": 0})
    clock.now = 5.1
    assert not await sessions.valid("a", {"sv": 0})
    assert await sessions.valid("a", {"sv": 1})


async def test_the_process_that_moved_the_version_knows_at_once() -> None:
    accounts = Accounts()
    sessions = SessionVersions(accounts.load, ttl=60)
    assert await sessions.valid("a", {"sv": 0})
    sessions.moved("a", 1)
    assert not await sessions.valid("a", {"sv": 0})
    sessions.moved("a", None)  # deactivated
    assert not await sessions.valid("a", {"sv": 1})


async def test_unknown_accounts_and_odd_claims_are_refused_and_memory_is_bounded() -> None:
    accounts = Accounts()
    sessions = SessionVersions(accounts.load, size=2)
    assert not await sessions.valid("nobody", {"sv": 0})
    assert not await sessions.valid("a", {"sv": "0"})
    for name in ("b", "c", "d"):
        await sessions.current(name)
    assert len(sessions._known) == 2
