"""workflow keeps of `catalogue.published` only its own columns, through RabbitMQ: the
catalogue's contract gaining a field (on an agency or a procedure) must not fail the whole
event, which would be retried, then parked, and leave the deadline preview without the
agency."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.workflow.tests.conftest import StartWorkflow
from shared.testing.grown import grow, published_and_kept
from workflow.adapters.tables import agencies, procedures
from workflow.consumers import HANDLERS

pytestmark = pytest.mark.integration


async def test_a_catalogue_with_fields_workflow_has_no_column_for_is_applied(
    start_workflow: StartWorkflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    grow(monkeypatch, HANDLERS)
    workflow = await start_workflow()
    found = await published_and_kept(
        workflow,
        select(agencies.c.code, agencies.c.name, agencies.c.level,
               agencies.c.parent_code).order_by(agencies.c.code),
        select(procedures.c.code, procedures.c.name, procedures.c.processing_days),
    )  # fmt: skip
    assert found == [
        [
            ("G01", "Công an tỉnh", "province", None),
            ("G01.1", "Công an huyện", "district", "G01"),
        ],
        [("1.004194", "Đăng ký tạm trú", 3)],
    ]
