"""A view read in several statements sees one snapshot: a write committed between its
statements is not half-seen (a dossier's old status beside its new timeline entry)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from shared.db.engine import Database

pytestmark = pytest.mark.integration


async def test_a_snapshot_does_not_see_what_commits_between_its_statements(
    database_url: str,
) -> None:
    db = Database(database_url)
    table = f"snapshot_{uuid.uuid4().hex[:8]}"
    try:
        async with db.transaction() as session:
            await session.execute(text(f"CREATE TABLE {table} (n int)"))
            await session.execute(text(f"INSERT INTO {table} VALUES (1)"))
        async with db.snapshot() as view:
            first = (await view.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            async with db.transaction() as writer:
                await writer.execute(text(f"INSERT INTO {table} VALUES (2)"))
            second = (await view.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert (first, second) == (1, 1)
            with pytest.raises(Exception, match="read-only"):
                await view.execute(text(f"INSERT INTO {table} VALUES (3)"))
        async with db.transaction() as session:  # the connection went back as it came
            assert (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 2
            level = (await session.execute(text("SHOW transaction_isolation"))).scalar_one()
            assert level == "read committed"
    finally:
        async with db.transaction() as session:
            await session.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await db.dispose()
