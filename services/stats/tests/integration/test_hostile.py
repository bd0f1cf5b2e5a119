"""stats against hostile clients, over real HTTP: text PostgreSQL cannot store in any
parameter of its public API, and more callers than it serves at once."""

from __future__ import annotations

import pytest

from services.stats.tests.conftest import StartStats
from shared.testing.service import ServiceUnderTest
from tests.hostile import walk
from tests.hostile.shedding import assert_shed_at_once

pytestmark = pytest.mark.integration


async def test_nul_or_a_surrogate_in_any_parameter_is_refused_naming_it(
    stats: ServiceUnderTest,
) -> None:
    async with stats.client() as client:
        await walk.assert_refused_everywhere(client, {}, sent=18, surrogates=18)


async def test_requests_beyond_max_in_flight_are_shed_at_once(start_stats: StartStats) -> None:
    stats = await start_stats(max_in_flight=4)
    async with stats.client() as client:
        await assert_shed_at_once(client, 4, hold="/api/v1/indicators")
