"""Writing one row by its primary key, the same way in every service."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession


async def upsert(
    session: AsyncSession,
    table: Table,
    row: Mapping[str, Any],
    *,
    where: Callable[[Insert], ColumnElement[bool]] | None = None,
) -> None:
    """`row` inserted, or in place of the row with its primary key: the columns it names
    are replaced, the others kept; names that are not columns of `table` are left out.
    `where(statement)` (`statement.excluded` is the new row) limits the replacement, e.g.
    to a newer revision; a row it refuses stays."""
    # Only the table's own columns: a projection of another service's event keeps what it
    # needs, and a field the event gains later must not fail the write.
    row = {name: value for name, value in row.items() if name in table.c}
    statement = insert(table).values(**row)
    key = [column.name for column in table.primary_key.columns]
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=key,
            set_={name: statement.excluded[name] for name in row if name not in key},
            where=where(statement) if where is not None else None,
        )
    )
