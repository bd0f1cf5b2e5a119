"""workflow keeps of `catalogue.published` only its own columns, through RabbitMQ: the
catalogue's contract gaining a field (on an agency or a procedure) must not fail the whole
event, which would be retried, then parked, and leave the deadline preview without the
agency."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.workflow.tests.conftest import StartWorkflow
from shared.contracts import Envelope
from shared.testing.grown import grow, grown_catalogue
from shared.testing.infra import eventually
from workflow.adapters.tables import agencies, procedures
from workflow.consumers import HANDLERS

pytestmark = pytest.mark.integration


async def test_a_catalogue_with_fields_workflow_has_no_column_for_is_applied(
    start_workflow: StartWorkflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    grow(monkeypatch, HANDLERS)
    workflow = await start_workflow()
    await workflow.publish(Envelope.wrap(grown_catalogue(), source="intake"))

    async def kept() -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]] | None:
        async with workflow.runtime.db.transaction() as session:
            agency_rows = (
                await session.execute(
                    select(agencies.c.code, agencies.c.name, agencies.c.level,
                           agencies.c.parent_code).order_by(agencies.c.code)
                )
            ).all()  # fmt: skip
            procedure_rows = (
                await session.execute(
                    select(procedures.c.code, procedures.c.name, procedures.c.processing_days)
                )
            ).all()
        if not agency_rows:
            return None
        return [tuple(r) for r in agency_rows], [tuple(r) for r in procedure_rows]

    found = await eventually(kept, timeout=30, what="the catalogue kept")
    assert found == (
        [
            ("G01", "Công an tỉnh", "province", None),
            ("G01.1", "Công an huyện", "district", "G01"),
        ],
        [("1.004194", "Đăng ký tạm trú", 3)],
    )
