"""notify keeps of `catalogue.published` only the agency tree it scopes staff by, through
RabbitMQ: the catalogue's contract gaining a field (on an agency or a procedure) must not
fail the whole event, which would be retried, then parked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from notify.adapters.tables import agencies
from notify.consumers import HANDLERS
from services.notify.tests.conftest import StartNotify
from shared.testing.grown import grow, published_and_kept

pytestmark = pytest.mark.integration


async def test_a_catalogue_with_fields_notify_has_no_column_for_is_applied(
    start_notify: StartNotify, monkeypatch: pytest.MonkeyPatch
) -> None:
    grow(monkeypatch, HANDLERS)
    notify = await start_notify()
    found = await published_and_kept(notify, select(agencies).order_by(agencies.c.code))
    assert found == [[("G01", "Công an tỉnh", None), ("G01.1", "Công an huyện", "G01")]]
