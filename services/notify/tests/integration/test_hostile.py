"""notify against hostile clients, over real HTTP: text PostgreSQL cannot store in any
parameter of its API, and more callers than it serves at once."""

from __future__ import annotations

import pytest

from services.notify.tests.conftest import StartNotify, officer
from shared.testing.service import ServiceUnderTest
from tests.hostile import walk
from tests.hostile.shedding import saturate

pytestmark = pytest.mark.integration


async def test_nul_or_a_surrogate_in_any_parameter_is_refused_naming_it(
    notify: ServiceUnderTest,
) -> None:
    async with notify.client() as client:
        spec = (await client.get("/openapi.json")).json()
        sent, wrong = await walk.unrefused(client, spec, officer("admin"))
        surrogates, faults = await walk.faults(client, spec, officer("admin"))
    # Every parameter of the operations an admin reaches (the development SMS box is not
    # served outside the development provider, so its two are not among them).
    assert sent >= 13
    assert wrong == []
    assert surrogates >= 9
    assert faults == []


async def test_requests_beyond_max_in_flight_are_shed_at_once(start_notify: StartNotify) -> None:
    notify = await start_notify(max_in_flight=4)
    async with notify.client() as client:
        shedding = await saturate(client, 4, hold="/api/v1/notifications/x/resend")
    assert [r.status_code for r in shedding.refusals] == [503] * len(shedding.refusals)
    assert all(r.headers.get("retry-after") for r in shedding.refusals)
    assert max(shedding.seconds) < 1.0, shedding.seconds
    assert shedding.health == [200, 200]
    assert shedding.after == 200
