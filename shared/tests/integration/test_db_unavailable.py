"""A database that refuses connections is "unavailable" (answered 503 by the API), not a
fault of the request: here PostgreSQL's own refusal, too many connections."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text

from shared.db.engine import Database, unavailable
from shared.testing.infra import PG_ADMIN_DSN

pytestmark = pytest.mark.integration


@pytest.fixture
async def refused_url(database_url: str) -> AsyncIterator[str]:
    """The test database, as a role that may hold no connection at all: PostgreSQL refuses
    it as it refuses anyone once `max_connections` are taken (SQLSTATE 53300)."""
    role = f"dvc_full_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
        yield database_url.replace("postgres@", f"{role}@", 1)
    finally:
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


async def test_too_many_connections_is_unavailable(refused_url: str) -> None:
    db = Database(refused_url)
    try:
        with pytest.raises(Exception) as refused:  # noqa: PT011 (whatever the driver's wrapping)
            async with db.transaction() as session:
                await session.execute(text("SELECT 1"))
        assert unavailable(refused.value), repr(refused.value)
    finally:
        await db.dispose()
