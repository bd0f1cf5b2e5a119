"""A service holding `max_in_flight` requests that never finish: what one more caller,
the orchestrator's probes, and a caller after them hear."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from shared.testing.infra import eventually
from tests.hostile.raw import hanging

EXCESS = 10


@dataclass
class Shedding:
    refusals: list[httpx.Response]
    seconds: list[float]  # how long each refusal took
    health: list[int]  # /healthz and /readyz while saturated
    after: int  # the same request once the held ones are gone


async def saturate(
    client: httpx.AsyncClient, max_in_flight: int, *, hold: str, probe: str = "/openapi.json"
) -> Shedding:
    """Hold `max_in_flight` requests (POSTs to `hold` whose body never comes), send `probe`
    EXCESS more times at once, read health, let the held requests go, send `probe` again."""
    async with hanging(str(client.base_url), max_in_flight, hold):

        async def shed() -> bool:
            return (await client.get(probe)).status_code == 503

        # The held requests reach the server in their own time: the first refusal says
        # they are all in flight.
        await eventually(shed, timeout=10, what=f"{probe} shed while {max_in_flight} are held")

        async def timed() -> tuple[httpx.Response, float]:
            started = asyncio.get_running_loop().time()
            answer = await client.get(probe)
            return answer, asyncio.get_running_loop().time() - started

        refused = await asyncio.gather(*(timed() for _ in range(EXCESS)))
        health = [(await client.get(p)).status_code for p in ("/healthz", "/readyz")]

    async def served() -> int | None:
        status = (await client.get(probe)).status_code
        return status if status != 503 else None

    after = await eventually(served, timeout=10, what=f"{probe} served again")
    return Shedding([r for r, _ in refused], [s for _, s in refused], health, after)


async def assert_shed_at_once(
    client: httpx.AsyncClient, max_in_flight: int, *, hold: str, probe: str = "/openapi.json"
) -> None:
    """What every service must do once saturated (see `saturate`): refuse each request
    beyond `max_in_flight` at once with a 503 that says when to retry, answer its probes
    meanwhile, and serve `probe` again once the held requests are gone."""
    shedding = await saturate(client, max_in_flight, hold=hold, probe=probe)
    statuses = [r.status_code for r in shedding.refusals]
    assert statuses == [503] * len(shedding.refusals), statuses
    assert all(r.headers.get("retry-after") for r in shedding.refusals), shedding.refusals
    assert max(shedding.seconds) < 1.0, shedding.seconds
    assert shedding.health == [200, 200], shedding.health
    assert shedding.after == 200, shedding.after
