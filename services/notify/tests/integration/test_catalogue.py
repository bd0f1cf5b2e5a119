"""notify keeps of `catalogue.published` only the agency tree it scopes staff by, through
RabbitMQ: the catalogue's contract gaining a field (on an agency or a procedure) must not
fail the whole event, which would be retried, then parked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from notify.adapters.tables import agencies
from notify.consumers import HANDLERS
from services.notify.tests.conftest import StartNotify
from shared.contracts import Envelope
from shared.testing.grown import grow, grown_catalogue
from shared.testing.infra import eventually

pytestmark = pytest.mark.integration


async def test_a_catalogue_with_fields_notify_has_no_column_for_is_applied(
    start_notify: StartNotify, monkeypatch: pytest.MonkeyPatch
) -> None:
    grow(monkeypatch, HANDLERS)
    notify = await start_notify()
    await notify.publish(Envelope.wrap(grown_catalogue(), source="intake"))

    async def kept() -> list[tuple[str, ...]] | None:
        async with notify.runtime.db.transaction() as session:
            rows = (await session.execute(select(agencies).order_by(agencies.c.code))).all()
        return [tuple(r) for r in rows] or None

    found = await eventually(kept, timeout=30, what="the agency tree kept")
    assert found == [("G01", "Công an tỉnh", None), ("G01.1", "Công an huyện", "G01")]
