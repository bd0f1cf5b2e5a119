"""stats keeps of `catalogue.published` only the columns it reports by, through RabbitMQ:
the catalogue's contract gaining a field (on an agency or a procedure) must not fail the
whole event, which would be retried, then parked, and leave the reports without names."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.stats.tests.conftest import StartStats
from shared.contracts import Envelope
from shared.testing.grown import grow, grown_catalogue, published_and_kept
from stats.adapters.tables import agencies, procedures
from stats.consumers import HANDLERS

pytestmark = pytest.mark.integration


async def test_a_catalogue_with_fields_stats_has_no_column_for_is_applied(
    start_stats: StartStats, monkeypatch: pytest.MonkeyPatch
) -> None:
    grow(monkeypatch, HANDLERS)
    stats = await start_stats()
    envelope = Envelope.wrap(grown_catalogue(), source="intake")
    assert envelope.data["agencies"][0]["phone"] == "0209"
    assert envelope.data["procedures"][0]["legal_basis"] == "Luật Cư trú"
    found = await published_and_kept(stats, select(agencies).order_by("code"), select(procedures))
    assert found == [
        [
            ("G01", "Công an tỉnh", "province", None),
            ("G01.1", "Công an huyện", "district", "G01"),
        ],
        [("1.004194", "Đăng ký tạm trú", "residence")],
    ]
