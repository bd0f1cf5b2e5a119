"""Each service's migrations build exactly the schema its table definitions describe,
and can be taken down again."""

from __future__ import annotations

import asyncio
import importlib

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from shared.messaging.tables import metadata as messaging_metadata

pytestmark = pytest.mark.integration

SERVICES = ("intake", "workflow", "notify", "stats")


def alembic_config(service: str, url: str) -> tuple[Config, MetaData]:
    bootstrap = importlib.import_module(f"{service}.bootstrap")
    definition = bootstrap.build()
    config = Config()
    config.set_main_option("script_location", str(definition.migrations))
    config.attributes["database_url"] = url
    tables = importlib.import_module(f"{service}.adapters.tables")
    return config, tables.metadata


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_the_table_definitions(service: str, database_url: str) -> None:
    config, metadata = alembic_config(service, database_url)
    await asyncio.to_thread(command.upgrade, config, "head")

    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            # alembic compares a sequence of MetaData too; its annotation names only one.
            lambda sync: compare_metadata(
                MigrationContext.configure(sync),
                [metadata, messaging_metadata],  # type: ignore[arg-type]
            )
        )
    await engine.dispose()
    assert diff == []

    await asyncio.to_thread(command.downgrade, config, "base")
