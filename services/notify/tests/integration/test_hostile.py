"""notify against hostile clients, over real HTTP: text PostgreSQL cannot store in any
parameter of its API, and more callers than it serves at once."""

from __future__ import annotations

import pytest

from services.notify.tests.conftest import StartNotify, officer
from shared.testing.service import ServiceUnderTest
from tests.hostile import walk
from tests.hostile.shedding import assert_shed_at_once

pytestmark = pytest.mark.integration


async def test_nul_or_a_surrogate_in_any_parameter_is_refused_naming_it(
    notify: ServiceUnderTest,
) -> None:
    # Every parameter of the operations an admin reaches (the development SMS box is not
    # served outside the development provider, so its two are not among them).
    async with notify.client() as client:
        await walk.assert_refused_everywhere(client, officer("admin"), sent=13, surrogates=9)


async def test_requests_beyond_max_in_flight_are_shed_at_once(start_notify: StartNotify) -> None:
    notify = await start_notify(max_in_flight=4)
    async with notify.client() as client:
        await assert_shed_at_once(client, 4, hold="/api/v1/notifications/x/resend")
