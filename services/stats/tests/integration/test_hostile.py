"""stats against hostile clients, over real HTTP: text PostgreSQL cannot store in any
parameter of its public API, and more callers than it serves at once."""

from __future__ import annotations

import pytest

from services.stats.tests.conftest import StartStats
from shared.testing.service import ServiceUnderTest
from tests.hostile import walk
from tests.hostile.shedding import saturate

pytestmark = pytest.mark.integration


async def test_nul_or_a_surrogate_in_any_parameter_is_refused_naming_it(
    stats: ServiceUnderTest,
) -> None:
    async with stats.client() as client:
        spec = (await client.get("/openapi.json")).json()
        sent, wrong = await walk.unrefused(client, spec, {})
        surrogates, faults = await walk.faults(client, spec, {})
    assert sent >= 18
    assert wrong == []
    assert surrogates >= 18
    assert faults == []


async def test_requests_beyond_max_in_flight_are_shed_at_once(start_stats: StartStats) -> None:
    stats = await start_stats(max_in_flight=4)
    async with stats.client() as client:
        shedding = await saturate(client, 4, hold="/api/v1/indicators")
    assert [r.status_code for r in shedding.refusals] == [503] * len(shedding.refusals)
    assert all(r.headers.get("retry-after") for r in shedding.refusals)
    assert max(shedding.seconds) < 1.0, shedding.seconds
    assert shedding.health == [200, 200]
    assert shedding.after == 200
