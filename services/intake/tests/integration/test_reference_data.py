"""Procedures and agencies are kept in memory: read from the database once, not on every
request; a catalogue this process publishes is answered at once, a change made by another
process within `catalogue_cache_seconds`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update

from intake.adapters.tables import procedures
from intake.services import catalogue
from services.intake.tests.conftest import StartIntake
from services.intake.tests.integration.support import PROCEDURE, add_test_procedure
from shared.observability.context import current_correlation_id
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration


# The requests' correlation id, so that the pools' listeners tell their checkouts from the
# relay's and the consumer's in the same process.
OURS = "c0ffee00c0ffee00c0ffee00c0ffee00"


async def _name(intake: ServiceUnderTest, code: str = PROCEDURE) -> str | None:
    async with intake.client() as client:
        answer = await client.get(f"/api/v1/procedures/{code}", headers={"X-Correlation-Id": OURS})
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    return str(answer.json()["name"])


async def _rename_elsewhere(intake: ServiceUnderTest, name: str) -> None:
    """As another replica's publication would: in the database, not through this process."""
    async with intake.runtime.db.transaction() as session:
        await session.execute(
            update(procedures).where(procedures.c.code == PROCEDURE).values(name=name)
        )


async def test_a_kept_procedure_is_answered_without_the_database(
    start_intake: StartIntake,
) -> None:
    intake = await start_intake()
    await add_test_procedure(intake)
    await _name(intake)  # read once, and kept
    checkouts: list[str | None] = []
    db = intake.runtime.db
    pools = [db.engine.sync_engine.pool, db.statement_engine.sync_engine.pool]

    def listener(*_: Any) -> None:
        checkouts.append(current_correlation_id())

    for pool in pools:
        event.listen(pool, "checkout", listener)
    try:
        for _ in range(5):
            await _name(intake)
        assert OURS not in checkouts
        await _name(intake, "0.000000")  # a code not kept: read, so the listeners do hear
        assert OURS in checkouts
    finally:
        for pool in pools:
            event.remove(pool, "checkout", listener)


async def test_another_process_change_is_seen_within_the_bound(start_intake: StartIntake) -> None:
    intake = await start_intake(catalogue_cache_seconds=3.0)
    await add_test_procedure(intake)
    before = await _name(intake)
    await _rename_elsewhere(intake, "Tên mới từ nơi khác")
    assert await _name(intake) == before  # still kept: not read again on every request

    async def seen() -> bool:
        return await _name(intake) == "Tên mới từ nơi khác"

    await eventually(seen, timeout=30, interval=0.2, what="the change seen after the bound")


async def test_a_catalogue_published_by_this_process_is_answered_at_once(
    start_intake: StartIntake, tmp_path: Path
) -> None:
    intake = await start_intake(catalogue_cache_seconds=3600.0)
    data = json.loads((catalogue.DATA_DIR / "procedures.json").read_text(encoding="utf-8"))
    first = data["procedures"][0]
    kept = await _name(intake, first["code"])
    assert kept == first["name"]
    first["name"] = f"{first['name']} (sửa đổi)"
    data["version"] = f"{data['version']}-next"
    (tmp_path / "procedures.json").write_text(json.dumps(data), encoding="utf-8")
    shutil.copy(catalogue.DATA_DIR / "agencies.json", tmp_path / "agencies.json")

    await catalogue.load_catalogue(intake.runtime.ctx, tmp_path)

    assert await _name(intake, first["code"]) == first["name"]
