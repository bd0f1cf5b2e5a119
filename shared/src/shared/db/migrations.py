"""The body of every service's Alembic `env.py`: async, online, URL from the service's
settings unless a caller (tests, `migrate`) passes one in `config.attributes`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.messaging.tables import metadata as messaging_metadata


def run_migrations(service_metadata: MetaData, default_url: str) -> None:
    config = context.config
    url = config.attributes.get("database_url") or default_url
    targets: Sequence[MetaData] = [service_metadata, messaging_metadata]

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=targets, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=targets, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())
